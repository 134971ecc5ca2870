//! The signed parameters of a refund batch, and the two ways they travel: a
//! server-to-server POST (nopwd) or the operator's auto-submitting form (pwd).
//!
//! PROTOCOL.md B1: a POST body is decoded in the charset named in the URL, so the URL
//! always carries `?_input_charset=utf-8`, and the same lowercase `utf-8` is signed and
//! sent in the body. One string everywhere, and the bytes hashed are UTF-8.

use crate::batch::Batch;
use crate::config::{MapiConfig, MapiMode};
use crate::html::escape;
use crate::md5::{sign_params, Signed};

/// The one charset payport names, in the URL and in the signed parameters.
pub const INPUT_CHARSET: &str = "utf-8";

/// B3/B4 parameters for `batch`, signed. The nopwd extras (`dback_notify_url`,
/// `use_freeze_amount`, `return_type`, ⚠ in B4) are optional and not sent.
pub fn refund_request(config: &MapiConfig, mode: MapiMode, batch: &Batch) -> Signed {
    let batch_num = batch.batch_num().to_string();
    let mut params: Vec<(String, String)> = Vec::with_capacity(11);
    let mut add = |k: &str, v: &str| params.push((k.to_owned(), v.to_owned()));
    add("service", mode.service());
    add("partner", &config.partner);
    add("_input_charset", INPUT_CHARSET);
    add("notify_url", &config.notify_url);
    if let Some((name, value)) = config.seller() {
        add(name, value);
    }
    add("refund_date", batch.refund_date());
    add("batch_no", batch.batch_no().as_str());
    add("batch_num", &batch_num);
    add("detail_data", batch.detail_data());
    sign_params(&params, &config.md5_key)
}

/// `url?query`, whether or not the URL already has a query.
pub(crate) fn url_with(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

/// Where refund requests are POSTed: the gateway with `_input_charset` in its query.
pub fn post_url(gateway_url: &str) -> String {
    url_with(gateway_url, &format!("_input_charset={INPUT_CHARSET}"))
}

/// `k=v&…` with form URL-encoding, each parameter once, in the given order.
pub(crate) fn encode<'a>(pairs: impl IntoIterator<Item = &'a (String, String)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

/// An HTML form that POSTs `params` to `action` as soon as it is shown, as the
/// official demo's `buildRequestForm` does. `accept-charset` makes the browser encode
/// the fields in UTF-8 whatever the page around the form uses, matching
/// `_input_charset=utf-8`.
pub fn auto_submit_form(action: &str, params: &[(String, String)]) -> String {
    let mut html = format!(
        "<form name=\"alipaysubmit\" method=\"post\" action=\"{}\" accept-charset=\"utf-8\">\n",
        escape(action)
    );
    for (name, value) in params {
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>\n",
            escape(name),
            escape(value)
        ));
    }
    html.push_str(
        "<input type=\"submit\" value=\"Confirm the refund on Alipay\" style=\"display:none\"/>\n",
    );
    html.push_str("</form>\n<script>document.forms['alipaysubmit'].submit();</script>");
    html
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use payport_domain::{Amount, BatchNo, TradeNo};

    use super::*;
    use crate::batch::{build_batch, BatchLine};
    use crate::key::Md5Key;

    fn config() -> MapiConfig {
        let mut c = MapiConfig::new(
            "https://mapi.alipay.com/gateway.do",
            "2088101568338364",
            Md5Key::new("k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4").unwrap(),
            "https://api.example.com/alipay/batch-refund-notify",
        );
        c.seller_email = Some("refund-test@example.com".into());
        c
    }

    fn vector_batch() -> Batch {
        let line = |t: &str, a: &str, r: &str| BatchLine {
            trade_no: TradeNo::parse(t).unwrap(),
            amount: Amount::parse(a).unwrap(),
            reason: Some(r.into()),
        };
        build_batch(
            BatchNo::parse("20240514001").unwrap(),
            Utc.with_ymd_and_hms(2024, 5, 14, 2, 0, 0).unwrap(),
            &[
                line("2024051322001400001234567890", "5.00", "协商退款"),
                line("2024051322001400001234567891", "10.00", "质量问题"),
            ],
        )
        .unwrap()
    }

    /// The builder reproduces the vector `mapi_refund_pwd_two_trades` exactly.
    #[test]
    fn pwd_request_matches_the_two_trade_vector() {
        let signed = refund_request(&config(), MapiMode::Password, &vector_batch());
        assert_eq!(
            signed.string_to_sign,
            "_input_charset=utf-8&batch_no=20240514001&batch_num=2&detail_data=2024051322001400001234567890^5.00^协商退款#2024051322001400001234567891^10.00^质量问题&notify_url=https://api.example.com/alipay/batch-refund-notify&partner=2088101568338364&refund_date=2024-05-14 10:00:00&seller_email=refund-test@example.com&service=refund_fastpay_by_platform_pwd"
        );
        let sign = signed.params.iter().find(|(k, _)| k == "sign").unwrap();
        assert_eq!(sign.1, "8c7a0f123f8d7b4ae06ecbaada396fce");
    }

    #[test]
    fn post_url_carries_the_charset_once() {
        assert_eq!(
            post_url("https://mapi.alipay.com/gateway.do"),
            "https://mapi.alipay.com/gateway.do?_input_charset=utf-8"
        );
        assert_eq!(
            post_url("http://h/g?x=1"),
            "http://h/g?x=1&_input_charset=utf-8"
        );
    }

    #[test]
    fn the_form_escapes_values_and_submits_itself() {
        let params = vec![
            ("detail_data".to_owned(), "t^1.00^\"<b>&'".to_owned()),
            ("sign".to_owned(), "abc".to_owned()),
        ];
        let html = auto_submit_form("https://g/gateway.do?_input_charset=utf-8&a=1", &params);
        assert!(html.starts_with(
            "<form name=\"alipaysubmit\" method=\"post\" action=\"https://g/gateway.do?_input_charset=utf-8&amp;a=1\""
        ));
        assert!(html.contains(
            "<input type=\"hidden\" name=\"detail_data\" value=\"t^1.00^&quot;&lt;b&gt;&amp;&#39;\"/>"
        ));
        assert!(html.ends_with("<script>document.forms['alipaysubmit'].submit();</script>"));
    }
}
