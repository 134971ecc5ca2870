//! Database URLs as they may be shown: in messages, errors and logs, with every
//! password masked. The one implementation; the server shows URLs through it too.

/// The URL with every password masked as `***`: the userinfo's password (which may
/// hold `/`, `@`, `?` or `#` unencoded, so it runs to the last `@`), and the value
/// of every parameter whose name ends in `password` (`password`, `sslpassword`, in
/// a query string or a `key=value` connection string). Masks too much rather than
/// too little when the URL is malformed.
pub fn redact_url(url: &str) -> String {
    let masked = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((user_info, host)) => match user_info.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    mask_password_parameters(&masked)
}

fn mask_password_parameters(text: &str) -> String {
    const NAME_END: &str = "password=";
    // ASCII lowercasing keeps every byte offset.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find(NAME_END) {
        let start = pos + found + NAME_END.len();
        let value = &text[start..];
        let len = match value.strip_prefix('\'') {
            // A quoted keyword value runs to its closing quote, spaces and all.
            Some(quoted) => quoted.find('\'').map_or(value.len(), |i| i + 2),
            None => value.find(['&', '#', ' ', ';']).unwrap_or(value.len()),
        };
        out.push_str(&text[pos..start]);
        out.push_str("***");
        pos = start + len;
    }
    out.push_str(&text[pos..]);
    out
}
