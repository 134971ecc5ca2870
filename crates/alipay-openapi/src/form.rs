//! `application/x-www-form-urlencoded` bodies, decoded exactly once.
//!
//! Contract of [`parse_form_urlencoded`]: split on `&`, skip empty pieces, split each
//! piece at its first `=` (no `=` means an empty value), then decode name and value
//! once: `+` is a space and `%XX` is the byte `0xXX`. Pairs keep the order and the
//! duplicates of the body. Unlike browsers (which keep a bad `%` literally), a `%` not
//! followed by two hex digits is an error, and so is a decoded name or value that is
//! not UTF-8: a notification that cannot be read exactly cannot be verified.
//!
//! Why once: Alipay signs the decoded values, and a second decoding turns a literal
//! `%3d` in e.g. `passback_params` into `=` and breaks the signature. Alipay's Node
//! SDK once did exactly that: it decoded notification values a second time, so
//! notifications whose values held an encoded `%` failed to verify (PROTOCOL.md A5).

/// Why a form body could not be decoded. Positions, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("malformed percent-escape at byte {offset} of the form body")]
    BadPercentEscape { offset: usize },
    #[error(
        "form field {index} is not UTF-8 once decoded (payport reads only UTF-8 notifications)"
    )]
    NotUtf8 { index: usize },
    #[error("the form has more than {max} fields")]
    TooManyFields { max: usize },
}

/// The most fields payport reads from a callback. A trade notification has about 30
/// (PROTOCOL.md A5), a legacy one 8; a body with more is not from Alipay, and is
/// refused before anything is decoded past the limit.
pub const MAX_CALLBACK_FIELDS: usize = 64;

/// Decodes a raw form body into `(name, value)` pairs, in body order.
///
/// # Errors
/// [`FormError`] on a malformed `%` escape or a field that is not UTF-8.
pub fn parse_form_urlencoded(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    parse_form_at_most(body, usize::MAX)
}

/// As [`parse_form_urlencoded`], refusing a body of more than `max` fields as soon as
/// it is seen.
///
/// # Errors
/// As [`parse_form_urlencoded`], and [`FormError::TooManyFields`].
pub fn parse_form_at_most(body: &[u8], max: usize) -> Result<Vec<(String, String)>, FormError> {
    let mut pairs = Vec::new();
    let mut offset = 0;
    for piece in body.split(|b| *b == b'&') {
        let piece_offset = offset;
        offset += piece.len() + 1;
        if piece.is_empty() {
            continue;
        }
        let (name, value, value_offset) = match piece.iter().position(|b| *b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..], piece_offset + eq + 1),
            None => (piece, &[][..], piece_offset + piece.len()),
        };
        let index = pairs.len();
        if index == max {
            return Err(FormError::TooManyFields { max });
        }
        let name = decode_component(name, piece_offset)?;
        let value = decode_component(value, value_offset)?;
        let name = String::from_utf8(name).map_err(|_| FormError::NotUtf8 { index })?;
        let value = String::from_utf8(value).map_err(|_| FormError::NotUtf8 { index })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// One decoding of a name or value; `base` is its offset in the body, for errors.
fn decode_component(raw: &[u8], base: usize) -> Result<Vec<u8>, FormError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|c| hex_value(*c));
                let lo = raw.get(i + 2).and_then(|c| hex_value(*c));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                    _ => return Err(FormError::BadPercentEscape { offset: base + i }),
                }
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    Ok(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn decodes_once_and_keeps_order_and_duplicates() {
        let body = b"b=2&a=x+y%20z&passback_params=merchantBizType%253d3C&a=&flag&&subject=%E6%B5%8B%E8%AF%95";
        assert_eq!(
            parse_form_urlencoded(body).unwrap(),
            pairs(&[
                ("b", "2"),
                ("a", "x y z"),
                // %25 -> '%': the literal "%3d" Alipay signed survives.
                ("passback_params", "merchantBizType%3d3C"),
                ("a", ""),
                ("flag", ""),
                ("subject", "测试"),
            ])
        );
    }

    #[test]
    fn plus_encoded_as_2b_stays_plus_and_equals_in_value_kept() {
        assert_eq!(
            parse_form_urlencoded(b"sign=ab%2Bc%2F%3D%3D&k=v=w").unwrap(),
            pairs(&[("sign", "ab+c/=="), ("k", "v=w")])
        );
    }

    #[test]
    fn a_flood_of_fields_is_refused_at_the_cap() {
        let flood = "a=&".repeat(60_000);
        assert_eq!(
            parse_form_at_most(flood.as_bytes(), MAX_CALLBACK_FIELDS),
            Err(FormError::TooManyFields {
                max: MAX_CALLBACK_FIELDS
            })
        );
        let fits = "a=&".repeat(MAX_CALLBACK_FIELDS);
        assert_eq!(
            parse_form_at_most(fits.as_bytes(), MAX_CALLBACK_FIELDS).map(|f| f.len()),
            Ok(MAX_CALLBACK_FIELDS)
        );
    }

    #[test]
    fn empty_body() {
        assert!(parse_form_urlencoded(b"").unwrap().is_empty());
    }

    #[test]
    fn malformed_escapes_are_errors() {
        assert_eq!(
            parse_form_urlencoded(b"a=1&b=%zz"),
            Err(FormError::BadPercentEscape { offset: 6 })
        );
        assert_eq!(
            parse_form_urlencoded(b"a=%4"),
            Err(FormError::BadPercentEscape { offset: 2 })
        );
        assert_eq!(
            parse_form_urlencoded(b"a%=1"),
            Err(FormError::BadPercentEscape { offset: 1 })
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        // GBK "测试" percent-encoded: not UTF-8.
        assert_eq!(
            parse_form_urlencoded(b"a=1&subject=%B2%E2%CA%D4"),
            Err(FormError::NotUtf8 { index: 1 })
        );
        assert_eq!(
            parse_form_urlencoded(b"%FF=1"),
            Err(FormError::NotUtf8 { index: 0 })
        );
    }
}
