//! A serial number in decimal, as Java's `BigInteger.toString()` writes it: the DER
//! INTEGER content is two's complement, so a high first byte means negative (RFC 5280
//! forbids negative serials; Java still prints them with `-`). A leading zero byte,
//! which keeps a high-bit serial positive, adds nothing.

/// Decimal digits of the two's-complement big-endian integer `bytes`.
pub(crate) fn signed_decimal(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude = if negative {
        negate(bytes)
    } else {
        bytes.to_vec()
    };
    let digits = unsigned_decimal(&magnitude);
    if negative {
        format!("-{digits}")
    } else {
        digits
    }
}

/// The two's-complement negation (invert, add one) of a big-endian integer.
fn negate(bytes: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = bytes.iter().map(|b| !b).collect();
    for byte in out.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            break;
        }
    }
    out
}

/// Repeated division by 10^9 of the big-endian magnitude; serials are at most 21 bytes.
fn unsigned_decimal(bytes: &[u8]) -> String {
    let mut number = bytes.to_vec();
    let mut chunks = Vec::new();
    while number.iter().any(|&b| b != 0) {
        let mut remainder: u64 = 0;
        for byte in &mut number {
            let current = (remainder << 8) | u64::from(*byte);
            // current < 10^9 * 256, so the quotient fits a byte.
            *byte = u8::try_from(current / 1_000_000_000).unwrap_or(u8::MAX);
            remainder = current % 1_000_000_000;
        }
        chunks.push(remainder);
    }
    let Some((last, rest)) = chunks.split_last() else {
        return "0".to_owned();
    };
    let mut out = last.to_string();
    for chunk in rest.iter().rev() {
        out.push_str(&format!("{chunk:09}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::signed_decimal;

    #[test]
    fn positive_negative_and_padded_serials_print_like_java_biginteger() {
        assert_eq!(signed_decimal(&[0x00]), "0");
        assert_eq!(signed_decimal(&[0x07]), "7");
        assert_eq!(signed_decimal(&[0x00, 0xc0, 0xff, 0xee]), "12648430");
        assert_eq!(signed_decimal(&[0xfb]), "-5");
        assert_eq!(signed_decimal(&[0xff, 0x00]), "-256");
        assert_eq!(signed_decimal(&[0x80]), "-128");
        // 2^64 + 1: crosses the 10^9 chunks with an inner zero chunk.
        assert_eq!(
            signed_decimal(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0x01]),
            "18446744073709551617"
        );
        assert_eq!(signed_decimal(&[0x3b, 0x9a, 0xca, 0x00]), "1000000000");
    }
}
