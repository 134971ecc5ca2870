//! Scanning JSON text for raw spans, without parsing it into values.
//!
//! Contract: signatures cover the exact bytes Alipay sent, so these functions only
//! find where things start and end, and never re-serialise. Every scan is
//! JSON-string aware: inside a string, `{ } [ ] , :` do not count, and a `"` ends the
//! string only if it is not escaped (a backslash skips the next byte, which is the
//! "odd number of backslashes" rule of Alipay's Java extractors). Working on bytes is
//! safe for UTF-8 text: every structural character is ASCII and no byte of a multi-byte
//! character is ASCII, so every span boundary is a char boundary.

use std::ops::Range;

/// One member of the top-level object: raw key text (without its quotes) and raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub key: Range<usize>,
    pub value: Range<usize>,
}

/// The members of the top-level JSON object in `text`, in order (duplicates kept).
///
/// # Errors
/// Why `text` is not one JSON object, as a phrase ("it does not start with {").
pub(crate) fn top_level_members(text: &str) -> Result<Vec<Member>, &'static str> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return Err("it does not start with {");
    }
    i = skip_ws(b, i + 1);
    let mut members = Vec::new();
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let key_end = string_end(b, i).ok_or("a member name is not a complete string")?;
            let key = i + 1..key_end - 1;
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return Err("a member name is not followed by :");
            }
            i = skip_ws(b, i + 1);
            let value_end = value_end(b, i).ok_or("a member value is malformed or cut off")?;
            members.push(Member {
                key,
                value: i..value_end,
            });
            i = skip_ws(b, value_end);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err("its members are not separated by , or closed by }"),
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return Err("there is text after the top-level object");
    }
    Ok(members)
}

/// End (exclusive) of the JSON value starting at `start`.
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match b.get(start)? {
        b'{' | b'[' => container_end(b, start),
        b'"' => string_end(b, start),
        _ => {
            // A number, true, false or null: runs to the next delimiter.
            let len = b[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
                .count();
            (len > 0).then_some(start + len)
        }
    }
}

/// End (exclusive) of the string whose opening `"` is at `open`.
pub(crate) fn string_end(b: &[u8], open: usize) -> Option<usize> {
    if b.get(open) != Some(&b'"') {
        return None;
    }
    let mut i = open + 1;
    while let Some(&c) = b.get(i) {
        match c {
            // Skips the escaped byte, so `\"` does not close and `\\"` does.
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// End (exclusive) of the object or array opening at `open`: just past its matching
/// `}` or `]`. Brackets inside strings do not count; mismatched brackets give `None`.
pub(crate) fn container_end(b: &[u8], open: usize) -> Option<usize> {
    if !matches!(b.get(open), Some(b'{' | b'[')) {
        return None;
    }
    let mut closers = Vec::new();
    let mut i = open;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                i = string_end(b, i)?;
                continue;
            }
            b'{' => closers.push(b'}'),
            b'[' => closers.push(b']'),
            b'}' | b']' => {
                if closers.pop() != Some(c) {
                    return None;
                }
                if closers.is_empty() {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of a JSON string literal given its inner text (without quotes).
/// `None` on a bad escape.
pub(crate) fn unescape(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = hex4(&mut chars)?;
                if (0xD800..0xDC00).contains(&hi) {
                    if (chars.next()?, chars.next()?) != ('\\', 'u') {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            _ => return None,
        });
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str, open: usize) -> Option<&str> {
        container_end(text.as_bytes(), open).map(|end| &text[open..end])
    }

    #[test]
    fn braces_and_brackets_inside_strings_do_not_count() {
        let text = r#"{"a":"x } y { ] [","b":{"c":"}"}} tail"#;
        assert_eq!(span(text, 0), Some(r#"{"a":"x } y { ] [","b":{"c":"}"}}"#));
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        // "q\"}" : the } is still inside the string.
        let text = r#"{"a":"q\"}","b":1} rest"#;
        assert_eq!(span(text, 0), Some(r#"{"a":"q\"}","b":1}"#));
    }

    #[test]
    fn escaped_backslash_before_quote_ends_the_string() {
        // "q\\" ends after the two backslashes; the } after it closes the object.
        let text = r#"{"a":"q\\"} rest"#;
        assert_eq!(span(text, 0), Some(r#"{"a":"q\\"}"#));
        let text = r#"{"a":"q\\\"}"} rest"#;
        assert_eq!(span(text, 0), Some(r#"{"a":"q\\\"}"}"#));
    }

    #[test]
    fn unbalanced_or_mismatched_is_none() {
        assert_eq!(span(r#"{"a":{"b":1}"#, 0), None);
        assert_eq!(span(r#"{"a":[1}"#, 0), None);
        assert_eq!(span(r#"{"a":"}"#, 0), None);
        assert_eq!(span("x{}", 0), None);
    }

    #[test]
    fn multibyte_text_keeps_char_boundaries() {
        let text = r#"{"s":"中文 } 右括号","t":"北京\/朝阳"}"#;
        assert_eq!(span(text, 0), Some(text));
    }

    #[test]
    fn top_level_members_with_whitespace_and_nesting() {
        let text =
            " {\n \"a\" : {\"x\":[1,{\"y\":\"}\"}]} ,\"n\":-1.5e3,\"t\":true, \"s\":\"v\"}\n";
        let members = top_level_members(text).unwrap();
        let got: Vec<(&str, &str)> = members
            .iter()
            .map(|m| (&text[m.key.clone()], &text[m.value.clone()]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "{\"x\":[1,{\"y\":\"}\"}]}"),
                ("n", "-1.5e3"),
                ("t", "true"),
                ("s", "\"v\""),
            ]
        );
        assert_eq!(top_level_members("{}").unwrap(), vec![]);
    }

    #[test]
    fn top_level_errors() {
        for bad in [
            "",
            "[]",
            "{\"a\":1",
            "{\"a\" 1}",
            "{\"a\":}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":1} x",
            "{a:1}",
        ] {
            assert!(top_level_members(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unescape_handles_json_escapes() {
        assert_eq!(unescape(r"a\/b\\c\u0041\n").as_deref(), Some("a/b\\cA\n"));
        assert_eq!(unescape(r"\ud83d\ude00").as_deref(), Some("😀"));
        assert_eq!(unescape(r"\x"), None);
        assert_eq!(unescape(r"\ud83d"), None);
        assert_eq!(unescape("\\"), None);
    }
}
