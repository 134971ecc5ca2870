//! Escaping for the auto-submit forms' attribute values (the OpenAPI page-pay form and
//! the mapi operator form).

/// Escapes text for a double-quoted HTML attribute.
pub fn escape(text: &str) -> String {
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
    fn page_pay_form_values_cannot_break_out() {
        assert_eq!(
            super::escape(r#"{"subject":"<b>&'"}"#),
            "{&quot;subject&quot;:&quot;&lt;b&gt;&amp;&#39;&quot;}"
        );
    }

    #[test]
    fn operator_form_values_cannot_break_out() {
        assert_eq!(
            super::escape(r#"a"><script>&'"#),
            "a&quot;&gt;&lt;script&gt;&amp;&#39;"
        );
    }
}
