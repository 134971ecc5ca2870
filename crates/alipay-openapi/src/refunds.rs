//! The refund ports: [`RefundSubmitter`] over `alipay.trade.refund` and
//! [`RefundQuery`] over `alipay.trade.fastpay.refund.query`. OpenAPI has no batches,
//! and its refund results arrive inside trade notifications (the payment port), so
//! it implements no other refund capability.
//!
//! A refund always carries its `out_request_no`, so a resend after an unknown outcome
//! is deduplicated by Alipay. `fund_change=Y` is the only proof of money moving;
//! `N` or nothing means "confirm by query" (PROTOCOL.md A7).

use async_trait::async_trait;
use payport_domain::alipay::AlipayRefundStatus;
use payport_domain::ports::{
    RefundLookup, RefundQuery, RefundSubmission, RefundSubmitted, RefundSubmitter,
};
use payport_domain::refund::RefundSuccess;
use payport_domain::{Amount, GatewayError};
use serde_json::{json, Value};

use crate::client::Call;
use crate::fields::Fields;
use crate::gateway::AlipayOpenApiGateway;

fn refund_biz(refund: &RefundSubmission) -> Value {
    let mut biz = json!({
        "out_trade_no": refund.out_trade_no.as_str(),
        "out_request_no": refund.out_request_no.as_str(),
        "refund_amount": refund.amount.to_string(),
    });
    if let Some(map) = biz.as_object_mut() {
        // trade_no wins over out_trade_no at Alipay; send it when known.
        if let Some(trade_no) = &refund.trade_no {
            map.insert("trade_no".into(), Value::from(trade_no.as_str()));
        }
        if let Some(reason) = refund.reason.as_deref().filter(|r| !r.is_empty()) {
            map.insert("refund_reason".into(), Value::from(reason));
        }
    }
    biz
}

#[async_trait]
impl RefundSubmitter for AlipayOpenApiGateway {
    async fn submit_refund(
        &self,
        refund: &RefundSubmission,
    ) -> Result<RefundSubmitted, GatewayError> {
        let node = self
            .client
            .execute(Call {
                method: "alipay.trade.refund",
                biz: refund_biz(refund),
                out_trade_no: Some(refund.out_trade_no.as_str()),
                out_request_no: Some(refund.out_request_no.as_str()),
            })
            .await?;
        let fields = Fields::from_node(&node);
        match node.text("fund_change") {
            Some("Y") => Ok(RefundSubmitted::Succeeded(RefundSuccess {
                refund_fee: fields.optional("refund_fee", Amount::parse_reported)?,
                refunded_at: fields.time("gmt_refund_pay"),
            })),
            other => Err(GatewayError::Unknown(format!(
                "fund_change={}: confirm with the refund query",
                other.unwrap_or("absent")
            ))),
        }
    }
}

#[async_trait]
impl RefundQuery for AlipayOpenApiGateway {
    async fn query_refund(&self, refund: &RefundSubmission) -> Result<RefundLookup, GatewayError> {
        let mut biz = json!({
            "out_trade_no": refund.out_trade_no.as_str(),
            "out_request_no": refund.out_request_no.as_str(),
            "query_options": ["gmt_refund_pay"],
        });
        if let (Some(trade_no), Some(map)) = (&refund.trade_no, biz.as_object_mut()) {
            map.insert("trade_no".into(), Value::from(trade_no.as_str()));
        }
        let node = self
            .client
            .execute(Call {
                method: "alipay.trade.fastpay.refund.query",
                biz,
                out_trade_no: Some(refund.out_trade_no.as_str()),
                out_request_no: Some(refund.out_request_no.as_str()),
            })
            .await?;
        let fields = Fields::from_node(&node);
        let status = AlipayRefundStatus::parse(node.text("refund_status"))
            .map_err(|e| GatewayError::Unknown(e.to_string()))?;
        match status {
            AlipayRefundStatus::NotRefunded => Ok(RefundLookup::NotRefunded),
            AlipayRefundStatus::RefundSuccess => {
                let amount = fields.optional("refund_amount", Amount::parse)?;
                if amount.is_some_and(|a| a != refund.amount) {
                    return Err(GatewayError::Unknown(format!(
                        "refund query says {} was refunded under {}, not {}",
                        amount.map(|a| a.to_string()).unwrap_or_default(),
                        refund.out_request_no,
                        refund.amount
                    )));
                }
                Ok(RefundLookup::Succeeded(RefundSuccess {
                    refund_fee: None,
                    refunded_at: fields.time("gmt_refund_pay"),
                }))
            }
        }
    }
}
