//! Just enough HTML for a test to act as the operator's browser: read a form's action
//! and hidden fields, and submit it.

use crate::app::TestApp;
use crate::http::{read, Reply};

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of `name="..."` inside one tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// The first form of the page: its action and its hidden fields, in order.
///
/// # Panics
/// When the page has no form with an action.
pub fn first_form(html: &str) -> (String, Vec<(String, String)>) {
    let form_start = html.find("<form").expect("a form");
    let form_end = html[form_start..]
        .find("</form>")
        .map_or(html.len(), |i| form_start + i);
    let form = &html[form_start..form_end];
    let open_tag = &form[..form.find('>').expect("form tag")];
    let action = attribute(open_tag, "action").expect("form action");
    let fields = form
        .split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            if attribute(tag, "type").as_deref() != Some("hidden") {
                return None;
            }
            Some((attribute(tag, "name")?, attribute(tag, "value")?))
        })
        .collect();
    (action, fields)
}

impl TestApp {
    /// Submits a form as a browser would (urlencoded POST), redirects not followed.
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn submit_form(&self, action: &str, fields: &[(String, String)]) -> Reply {
        read(
            self.http
                .post(action)
                .form(fields)
                .send()
                .await
                .expect("form POST"),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_action_and_hidden_fields() {
        let html = "<p>x</p><form name=\"f\" method=\"post\" action=\"http://h/g?a=1&amp;b=2\">\n\
                    <input type=\"hidden\" name=\"detail_data\" value=\"t^1.00^&quot;x&quot;\"/>\n\
                    <input type=\"submit\" value=\"Go\"/></form>";
        let (action, fields) = super::first_form(html);
        assert_eq!(action, "http://h/g?a=1&b=2");
        assert_eq!(
            fields,
            vec![("detail_data".to_owned(), "t^1.00^\"x\"".to_owned())]
        );
    }
}
