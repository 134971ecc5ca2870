// The official Java SDK's SN rule (AntCertificationUtil getCertSN / getRootCertSN),
// re-typed: MD5 of X500Principal.getName() (RFC 2253) + BigInteger serial in decimal,
// hex left-padded to 32. The SDK jar is not on an allowed registry, so this repeats its
// one expression. For each certificate of each file prints one line:
// file <TAB> index <TAB> signature OID <TAB> base64(UTF-8 issuer string) <TAB> serial <TAB> sn
// Run: java -Dfile.encoding=UTF-8 JavaSn.java <pem>... (getBytes() uses the default charset)
import java.io.FileInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;

public class JavaSn {
    public static void main(String[] args) throws Exception {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        for (String path : args) {
            int index = 0;
            try (FileInputStream in = new FileInputStream(path)) {
                for (Certificate c : factory.generateCertificates(in)) {
                    X509Certificate cert = (X509Certificate) c;
                    String issuer = cert.getIssuerX500Principal().getName();
                    MessageDigest md = MessageDigest.getInstance("MD5");
                    md.update((issuer + cert.getSerialNumber()).getBytes());
                    String sn = String.format("%32s", new BigInteger(1, md.digest()).toString(16)).replace(' ', '0');
                    System.out.println(path + "\t" + index++ + "\t" + cert.getSigAlgOID() + "\t"
                        + Base64.getEncoder().encodeToString(issuer.getBytes(StandardCharsets.UTF_8)) + "\t"
                        + cert.getSerialNumber() + "\t" + sn);
                }
            }
        }
    }
}
