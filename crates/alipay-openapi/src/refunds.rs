//! The refund ports: [`RefundSubmitter`] over `alipay.trade.refund` and
//! [`RefundQuery`] over `alipay.trade.fastpay.refund.query`. OpenAPI has no batches,
//! and its refund results arrive inside trade notifications (the payment port), so
//! it implements no other refund capability.
//!
//! A refund always carries its `out_request_no`, so a resend after an unknown outcome
//! is deduplicated by Alipay. `fund_change=Y` is the only proof of money moving;
//! `N` or nothing means "confirm by query" (PROTOCOL.md A7).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payport_domain::alipay::AlipayRefundStatus;
use payport_domain::ports::{
    FoundRefund, RefundLookup, RefundQuery, RefundSubmission, RefundSubmitted, RefundSubmitter,
};
use payport_domain::refund::RefundSuccess;
use payport_domain::{Amount, GatewayError, OutRequestNo, OutTradeNo, TradeNo};
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

/// A refund the query found: its amount when the answer has one.
struct Queried {
    amount: Option<Amount>,
    refunded_at: Option<DateTime<Utc>>,
}

impl AlipayOpenApiGateway {
    /// `alipay.trade.fastpay.refund.query` for one refund number: the refund as
    /// Alipay has it, `None` when it has none under that number.
    async fn refund_query(
        &self,
        out_trade_no: &OutTradeNo,
        trade_no: Option<&TradeNo>,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<Queried>, GatewayError> {
        let mut biz = json!({
            "out_trade_no": out_trade_no.as_str(),
            "out_request_no": out_request_no.as_str(),
            "query_options": ["gmt_refund_pay"],
        });
        if let (Some(trade_no), Some(map)) = (trade_no, biz.as_object_mut()) {
            map.insert("trade_no".into(), Value::from(trade_no.as_str()));
        }
        let node = self
            .client
            .execute(Call {
                method: "alipay.trade.fastpay.refund.query",
                biz,
                out_trade_no: Some(out_trade_no.as_str()),
                out_request_no: Some(out_request_no.as_str()),
            })
            .await?;
        let fields = Fields::from_node(&node);
        let status = AlipayRefundStatus::parse(node.text("refund_status"))
            .map_err(|e| GatewayError::Unknown(e.to_string()))?;
        match status {
            AlipayRefundStatus::NotRefunded => Ok(None),
            AlipayRefundStatus::RefundSuccess => Ok(Some(Queried {
                amount: fields.optional("refund_amount", Amount::parse)?,
                refunded_at: fields.time("gmt_refund_pay"),
            })),
        }
    }
}

#[async_trait]
impl RefundQuery for AlipayOpenApiGateway {
    async fn query_refund(&self, refund: &RefundSubmission) -> Result<RefundLookup, GatewayError> {
        let found = self
            .refund_query(
                &refund.out_trade_no,
                refund.trade_no.as_ref(),
                &refund.out_request_no,
            )
            .await?;
        let Some(found) = found else {
            return Ok(RefundLookup::NotRefunded);
        };
        if let Some(amount) = found.amount.filter(|a| *a != refund.amount) {
            return Err(GatewayError::Unknown(format!(
                "refund query says {amount} was refunded under {}, not {}",
                refund.out_request_no, refund.amount
            )));
        }
        Ok(RefundLookup::Succeeded(RefundSuccess {
            refund_fee: None,
            refunded_at: found.refunded_at,
        }))
    }

    async fn find_refund(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<FoundRefund>, GatewayError> {
        let Some(found) = self
            .refund_query(out_trade_no, None, out_request_no)
            .await?
        else {
            return Ok(None);
        };
        // Without its amount the refund cannot be recorded: the caller knows no other.
        let amount = found.amount.ok_or_else(|| {
            GatewayError::Unknown(format!(
                "refund query found {out_request_no} without its refund_amount"
            ))
        })?;
        Ok(Some(FoundRefund {
            amount,
            refunded_at: found.refunded_at,
        }))
    }
}
