// How JDK 17 reads invalid UTF-8 (`new String(bytes, UTF_8)`, what its
// X500Principal.getName() applies to every issuer value), over byte strings made to
// hit every branch of its decoder. Writes testdata/cert-sn/java-utf8.json, which
// crates/alipay-crypto's cert tests compare payport's decoder with. Re-run from the
// repository root (any JDK 17; the seed keeps the cases the same):
//   java scripts/cert-vectors/JavaUtf8.java > testdata/cert-sn/java-utf8.json
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;

public class JavaUtf8 {
    public static void main(String[] args) {
        int[] edges = {0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
            0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xf7, 0xf8, 0xff};
        Random random = new Random(20261126L);
        HexFormat hex = HexFormat.of();
        StringBuilder out = new StringBuilder("{\n  \"jdk\": \"")
            .append(System.getProperty("java.version")).append("\",\n  \"cases\": [\n");
        int cases = 3000;
        for (int i = 0; i < cases; i++) {
            byte[] bytes = new byte[random.nextInt(7)];
            for (int j = 0; j < bytes.length; j++) {
                bytes[j] = (byte) (random.nextInt(4) == 0 ? random.nextInt(256)
                    : edges[random.nextInt(edges.length)]);
            }
            String read = new String(bytes, StandardCharsets.UTF_8);
            out.append("    [\"").append(hex.formatHex(bytes)).append("\", \"")
                .append(hex.formatHex(read.getBytes(StandardCharsets.UTF_8)))
                .append(i + 1 < cases ? "\"],\n" : "\"]\n");
        }
        System.out.print(out.append("  ]\n}\n"));
    }
}
