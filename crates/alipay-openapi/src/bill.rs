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
