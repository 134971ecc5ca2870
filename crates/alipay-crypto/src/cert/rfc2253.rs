//! The issuer string the SN hashes: what Java's `X500Principal.getName()` (RFC 2253
//! format, OpenJDK `sun.security.x509.AVA.toRFC2253String`) prints, which the official
//! Java SDK hashes and payport follows (PROTOCOL.md A9):
//! - RDNs last to first, joined by `,`; the values of a multi-valued RDN joined by `+`,
//!   in DER order (the `der` crate sorts a SET OF as it reads it, so a certificate
//!   whose set is not in DER order gets another SN here than from Java, which keeps
//!   the file's order);
//! - keywords only for CN, C, L, ST, O, OU, STREET, DC and UID; any other attribute
//!   (emailAddress, serialNumber, title, ...) is its dotted OID, and its value the
//!   lowercase hex of its whole DER encoding after `#`;
//! - so is a value that is not a PrintableString, T61String, IA5String, BMPString or
//!   UTF8String (a GeneralString, UniversalString or GraphicString value makes the
//!   certificate unreadable: the `der` crate has no type for them);
//! - other values are their content bytes read as UTF-8 the way JDK 17 reads them
//!   (`java_utf8.rs`; it reads a BMPString so too, replacing invalid sequences with
//!   U+FFFD; newer JDKs read BMPString as UTF-16, see PROTOCOL.md), with
//!   `,=+<>#;"\` escaped by `\`
//!   anywhere, NUL written `\00`, then leading and trailing spaces and CRs escaped by
//!   `\` (checked against a JDK).

use x509_cert::der::{Encode, Tag, Tagged};
use x509_cert::name::Name;

/// The RFC 2253 string of `name`, as Java writes it.
pub(crate) fn issuer_string(name: &Name) -> Result<String, x509_cert::der::Error> {
    let mut rdns = Vec::with_capacity(name.0.len());
    for rdn in name.0.iter().rev() {
        let mut values = Vec::new();
        for atv in rdn.0.iter() {
            let oid = atv.oid.to_string();
            let keyword = keyword(&oid);
            let value = match (keyword, string_value(atv.value.tag())) {
                (Some(_), true) => escape(&super::java_utf8::decode(atv.value.value())),
                _ => format!("#{}", super::hex(&atv.value.to_der()?)),
            };
            values.push(format!("{}={value}", keyword.unwrap_or(&oid)));
        }
        rdns.push(values.join("+"));
    }
    Ok(rdns.join(","))
}

/// Java's RFC 2253 keywords; every other attribute type prints as its OID.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// The string types Java prints as text (PrintableString, T61String, IA5String,
/// BMPString, UTF8String, by identifier octet); any other is hex. (Java prints a
/// GeneralString as text too, but `der` cannot read one: see the module doc.)
fn string_value(tag: Tag) -> bool {
    matches!(u8::from(tag), 0x13 | 0x14 | 0x16 | 0x1e | 0x0c)
}

fn escape(value: &str) -> String {
    const SPECIAL: &str = ",=+<>#;\"\\";
    let mut escaped: Vec<char> = Vec::with_capacity(value.len());
    for c in value.chars() {
        if c == '\0' {
            escaped.extend(['\\', '0', '0']);
            continue;
        }
        if SPECIAL.contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    // Java escapes the leading and trailing whitespace of the escaped text.
    let blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = escaped.iter().take_while(|c| blank(c)).count();
    let trail = escaped.len() - escaped.iter().rev().take_while(|c| blank(c)).count();
    let mut out = String::with_capacity(escaped.len() + 4);
    for (i, c) in escaped.into_iter().enumerate() {
        if i < lead || i >= trail.max(lead) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_specials_anywhere_and_blanks_at_the_ends() {
        assert_eq!(
            escape("a,b=c+d<e>f#g;h\"i\\j"),
            r#"a\,b\=c\+d\<e\>f\#g\;h\"i\\j"#
        );
        assert_eq!(escape(" x y "), r"\ x y\ ");
        assert_eq!(escape("  "), r"\ \ ");
        assert_eq!(escape("\rx"), "\\\rx");
        assert_eq!(escape(""), "");
        assert_eq!(escape("a\0b\t"), "a\\00b\t");
    }
}
