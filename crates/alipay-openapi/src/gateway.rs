//! `AlipayOpenApiGateway`: the domain's payment and refund ports over gateway.do
//! (payments in `payments`, refund sending and querying in `refunds`).

use std::sync::Arc;

use payport_domain::GatewayError;
use serde_json::json;

use crate::client::{Call, Client};

/// Implements [`payport_domain::ports::PaymentGateway`],
/// [`payport_domain::ports::RefundSubmitter`], [`payport_domain::ports::RefundQuery`]
/// and [`payport_domain::ports::TradeBills`].
/// Cheap to clone.
#[derive(Clone)]
pub struct AlipayOpenApiGateway {
    pub(crate) client: Arc<Client>,
}

/// `bill_type` of `alipay.data.dataservice.bill.downloadurl.query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillType {
    /// Trades of the merchant's own account.
    Trade,
    /// Trades of the signed customer (ISV).
    SignCustomer,
}

impl AlipayOpenApiGateway {
    pub fn new(client: Client) -> AlipayOpenApiGateway {
        AlipayOpenApiGateway {
            client: Arc::new(client),
        }
    }

    /// Asks for the URL of a statement (`bill_date` `yyyy-MM-dd` or `yyyy-MM`); the URL
    /// is valid for 30 seconds.
    ///
    /// # Errors
    /// `Rejected` with `isp.bill_not_exist` when there is no bill; other gateway errors.
    pub async fn bill_download_url(
        &self,
        bill_type: BillType,
        bill_date: &str,
    ) -> Result<String, GatewayError> {
        let bill_type = match bill_type {
            BillType::Trade => "trade",
            BillType::SignCustomer => "signcustomer",
        };
        let node = self
            .client
            .execute(Call {
                method: "alipay.data.dataservice.bill.downloadurl.query",
                biz: json!({ "bill_type": bill_type, "bill_date": bill_date }),
                out_trade_no: None,
                out_request_no: None,
            })
            .await?;
        node.text("bill_download_url")
            .map(str::to_owned)
            .ok_or_else(|| GatewayError::Unknown("no bill_download_url in the answer".into()))
    }
}

/// `Rejected` with this sub_code means "Alipay has no such trade".
pub(crate) fn is_trade_not_exist(error: &GatewayError) -> bool {
    matches!(error, GatewayError::Rejected(f) if f.sub_code.as_deref() == Some("ACQ.TRADE_NOT_EXIST"))
}
