//! Received text, shortened before it goes into an error message or a log line.
//!
//! Anything that came from outside (a form field, a JSON value, a notification) may be
//! megabytes long. Errors name the value so that people can see what was wrong; a
//! short prefix does that as well as the whole, and keeps one bad request from
//! writing megabytes into every log line that mentions it.

/// How many bytes of a received value an error or a log line keeps.
pub const KEPT_BYTES: usize = 64;

/// `text` itself when it is at most [`KEPT_BYTES`] long; otherwise its first
/// [`KEPT_BYTES`] bytes (cut at a character boundary) and a marker with the full length.
pub fn clip(text: &str) -> String {
    clip_to(text, KEPT_BYTES)
}

/// As [`clip`], keeping at most `max` bytes of `text`.
pub fn clip_to(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(truncated, {} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(clip("RSA2"), "RSA2");
        assert_eq!(clip(&"a".repeat(KEPT_BYTES)), "a".repeat(KEPT_BYTES));
    }

    #[test]
    fn long_text_keeps_a_prefix_and_says_how_long_it_was() {
        let clipped = clip(&"x".repeat(2_000_000));
        assert!(clipped.starts_with(&"x".repeat(KEPT_BYTES)));
        assert!(clipped.ends_with("…(truncated, 2000000 bytes)"));
        assert!(clipped.len() < 100, "{}", clipped.len());
    }

    #[test]
    fn never_cuts_a_character_in_half() {
        let clipped = clip_to("测试测试", 4);
        assert_eq!(clipped, "测…(truncated, 12 bytes)");
    }
}
