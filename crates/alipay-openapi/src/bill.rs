//! [`TradeBills`] over gateway.do: ask for the bill's URL, fetch it at once (it lives
//! 30 seconds), read it (`bill_file`). PROTOCOL.md A7, A10.

use async_trait::async_trait;
use chrono::NaiveDate;
use payport_alipay_common::transport::transport_error;
use payport_domain::ports::{TradeBill, TradeBills};
use payport_domain::GatewayError;

use crate::bill_file::parse_trade_bill_zip;
use crate::gateway::{AlipayOpenApiGateway, BillType};

#[async_trait]
impl TradeBills for AlipayOpenApiGateway {
    async fn trade_bill(&self, date: NaiveDate) -> Result<TradeBill, GatewayError> {
        let day = date.format("%Y-%m-%d").to_string();
        let url = match self.bill_download_url(BillType::Trade, &day).await {
            Ok(url) => url,
            Err(GatewayError::Rejected(f))
                if f.sub_code.as_deref() == Some("isp.bill_not_exist") =>
            {
                return Ok(TradeBill::NotReady)
            }
            Err(e) => return Err(e),
        };
        let zip = self.client.download(&url).await?;
        // A file that does not read is not a refusal: ask again, or look at it.
        parse_trade_bill_zip(&zip)
            .map(TradeBill::Ready)
            .map_err(|e| GatewayError::Unknown(format!("the trade bill of {day}: {e}")))
    }
}

/// The raw answer with `bill_download_url`'s query string (its signature and expiry:
/// whoever has them can fetch the bill) replaced by `***`, for the exchange log.
/// Everything else, host and path included, stays for diagnosis.
pub(crate) fn mask_download_url(raw: &str) -> String {
    const FIELD: &str = "\"bill_download_url\"";
    let Some(field) = raw.find(FIELD) else {
        return raw.to_owned();
    };
    let after = field + FIELD.len();
    // The value is a string right after the colon (a `null` has nothing to hide), up
    // to the next unescaped quote.
    let rest = raw[after..]
        .trim_start()
        .strip_prefix(':')
        .map(str::trim_start);
    let Some(value_at) = rest.filter(|r| r.starts_with('"')) else {
        return raw.to_owned();
    };
    let open = raw.len() - value_at.len() + 1;
    let mut close = None;
    let mut escaped = false;
    for (i, c) in raw[open..].char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                close = Some(open + i);
                break;
            }
            _ => escaped = false,
        }
    }
    let Some(close) = close else {
        return raw.to_owned();
    };
    let value = &raw[open..close];
    let kept = value.find('?').map_or("", |q| &value[..=q]);
    format!("{}{kept}***{}", &raw[..open], &raw[close..])
}

impl crate::client::Client {
    /// GETs a download URL Alipay gave (a bill), with the client's timeouts. The URL
    /// itself is not repeated in errors: it is a short-lived credential.
    pub(crate) async fn download(&self, url: &str) -> Result<Vec<u8>, GatewayError> {
        let fail = |what: String| GatewayError::Unknown(format!("bill download: {what}"));
        let response = self
            .http()
            .get(url)
            .send()
            .await
            .map_err(|e| fail(transport_error(&e.without_url())))?;
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| fail(transport_error(&e.without_url())))?;
        Ok(body.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::mask_download_url;

    #[test]
    fn the_download_urls_query_is_masked_and_the_rest_kept() {
        let raw = r#"{"r":{"code":"10000","bill_download_url":"http:\/\/h\/f?sig=abc\u0026exp=1"},"sign":"s"}"#;
        assert_eq!(
            mask_download_url(raw),
            r#"{"r":{"code":"10000","bill_download_url":"http:\/\/h\/f?***"},"sign":"s"}"#
        );
        let no_query = r#"{"bill_download_url":"http://h/f"}"#;
        assert_eq!(
            mask_download_url(no_query),
            r#"{"bill_download_url":"***"}"#
        );
        let other = r#"{"code":"40004","sub_code":"isp.bill_not_exist"}"#;
        assert_eq!(mask_download_url(other), other);
        // A null is left as it is, and the next field's value is not touched.
        let null = r#"{"bill_download_url" : null,"sub_msg":"x?y"}"#;
        assert_eq!(mask_download_url(null), null);
        let spaced = r#"{"bill_download_url" : "http://h/f?sig=1"}"#;
        assert_eq!(
            mask_download_url(spaced),
            r#"{"bill_download_url" : "http://h/f?***"}"#
        );
    }
}
