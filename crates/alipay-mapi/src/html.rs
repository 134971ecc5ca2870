//! Escaping for the operator form's attribute values.

/// Escapes text for a double-quoted HTML attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn attribute_values_cannot_break_out() {
        assert_eq!(
            super::escape(r#"a"><script>&'"#),
            "a&quot;&gt;&lt;script&gt;&amp;&#39;"
        );
    }
}
