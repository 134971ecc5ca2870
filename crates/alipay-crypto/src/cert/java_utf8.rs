//! Bytes read as UTF-8 the way JDK 17's `new String(bytes, UTF_8)` reads them, which is
//! how its `X500Principal.getName()` reads every issuer string value. Valid UTF-8 reads
//! the same as in Rust; invalid bytes become U+FFFD, but the JDK groups them otherwise
//! than `String::from_utf8_lossy` (an encoded surrogate is one U+FFFD, not three), and
//! the SN hashes the result. A port of OpenJDK's `String.decodeUTF8_UTF16` with
//! replacement on, checked against a JDK by `testdata/cert-sn/java-utf8.json`.

const REPL: char = '\u{FFFD}';

fn continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

/// An overlong three-byte form: `E0` followed by `80..9F`.
fn overlong3(b1: u8, b2: u8) -> bool {
    b1 == 0xe0 && b2 & 0xe0 == 0x80
}

/// A four-byte lead and its second byte that cannot start a code point in range.
fn bad4_2(b1: u8, b2: u8) -> bool {
    (b1 == 0xf0 && !(0x90..=0xbf).contains(&b2))
        || (b1 == 0xf4 && b2 & 0xf0 != 0x80)
        || !continuation(b2)
}

/// How many bytes a bad three-byte sequence at `src[0..]` stands for (JDK `malformed3`).
fn malformed3(b1: u8, b2: u8) -> usize {
    if overlong3(b1, b2) || !continuation(b2) {
        1
    } else {
        2
    }
}

/// How many bytes a bad four-byte sequence stands for (JDK `malformed4`).
fn malformed4(b1: u8, b2: u8, b3: u8) -> usize {
    if b1 > 0xf4 || bad4_2(b1, b2) {
        1
    } else if !continuation(b3) {
        2
    } else {
        3
    }
}

pub(crate) fn decode(src: &[u8]) -> String {
    let mut out = String::with_capacity(src.len());
    let mut sp = 0;
    let len = src.len();
    while sp < len {
        let b1 = src[sp];
        sp += 1;
        match b1 {
            0x00..=0x7f => out.push(char::from(b1)),
            0xc2..=0xdf => {
                let Some(&b2) = src.get(sp) else {
                    out.push(REPL);
                    break;
                };
                if continuation(b2) {
                    sp += 1;
                    let c = (u32::from(b1 & 0x1f) << 6) | u32::from(b2 & 0x3f);
                    out.push(char::from_u32(c).unwrap_or(REPL));
                } else {
                    out.push(REPL);
                }
            }
            0xe0..=0xef => {
                if sp + 1 < len {
                    let (b2, b3) = (src[sp], src[sp + 1]);
                    if overlong3(b1, b2) || !continuation(b2) || !continuation(b3) {
                        out.push(REPL);
                        sp = sp - 1 + malformed3(b1, b2);
                    } else {
                        sp += 2;
                        let c = (u32::from(b1 & 0x0f) << 12)
                            | (u32::from(b2 & 0x3f) << 6)
                            | u32::from(b3 & 0x3f);
                        // A surrogate (ED A0..BF xx) has no char: one U+FFFD for all three.
                        out.push(char::from_u32(c).unwrap_or(REPL));
                    }
                    continue;
                }
                if sp < len && (overlong3(b1, src[sp]) || !continuation(src[sp])) {
                    out.push(REPL);
                    continue;
                }
                // A sequence cut short by the end: one U+FFFD, and the decoding stops.
                out.push(REPL);
                break;
            }
            0xf0..=0xf7 => {
                if sp + 2 < len {
                    let (b2, b3, b4) = (src[sp], src[sp + 1], src[sp + 2]);
                    let c = (u32::from(b1 & 0x07) << 18)
                        | (u32::from(b2 & 0x3f) << 12)
                        | (u32::from(b3 & 0x3f) << 6)
                        | u32::from(b4 & 0x3f);
                    let well_formed = continuation(b2) && continuation(b3) && continuation(b4);
                    if well_formed && (0x10000..=0x10ffff).contains(&c) {
                        sp += 3;
                        out.push(char::from_u32(c).unwrap_or(REPL));
                    } else {
                        out.push(REPL);
                        sp = sp - 1 + malformed4(b1, b2, b3);
                    }
                    continue;
                }
                if b1 > 0xf4 || (sp < len && bad4_2(b1, src[sp])) {
                    out.push(REPL);
                    continue;
                }
                sp += 1;
                out.push(REPL);
                if sp < len && !continuation(src[sp]) {
                    continue;
                }
                break;
            }
            _ => out.push(REPL),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_every_case_as_jdk_17_does() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/cert-sn/java-utf8.json"
        );
        let vectors: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 3000);
        for case in cases {
            let (input, java) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
            let ours = decode(&unhex(input));
            assert_eq!(ours.as_bytes(), unhex(java), "bytes {input}");
        }
    }

    #[test]
    fn an_encoded_surrogate_is_one_replacement_where_rust_makes_three() {
        let bytes = [0x41, 0xed, 0xa0, 0x80, 0x41];
        assert_eq!(decode(&bytes), "A\u{FFFD}A");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "A\u{FFFD}\u{FFFD}\u{FFFD}A"
        );
        assert_eq!(decode("支付宝".as_bytes()), "支付宝");
    }
}
