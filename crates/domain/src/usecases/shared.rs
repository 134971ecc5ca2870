//! Helpers every use case shares: loading and saving orders, applying Alipay's trade
//! status, and checking what callers send before it reaches Alipay or the store.

use chrono::{DateTime, Utc};

use super::{Ports, ServiceError};
use crate::alipay::AlipayTradeStatus;
use crate::error::RepoError;
use crate::event::order_events;
use crate::ids::OutTradeNo;
use crate::order::{Order, OrderStatus, PaymentConfirmation};

/// Applies an Alipay trade status to the order. Returns whether the order changed.
pub(super) fn apply_trade_status(
    order: &mut Order,
    status: AlipayTradeStatus,
    payment: PaymentConfirmation,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let before = order.status;
    match status {
        AlipayTradeStatus::WaitBuyerPay => return Ok(false),
        AlipayTradeStatus::TradeSuccess => {
            order.confirm_payment(payment, now)?;
        }
        AlipayTradeStatus::TradeFinished => {
            order.confirm_payment(payment, now)?;
            order.finish(now)?;
        }
        // After a payment, TRADE_CLOSED means fully refunded: that is learned from the
        // refunds themselves, never inferred here.
        AlipayTradeStatus::TradeClosed => {
            if order.status == OrderStatus::Pending {
                order.close(now)?;
            }
        }
    }
    Ok(order.status != before)
}

pub(super) async fn load_order(
    ports: &Ports,
    out_trade_no: &OutTradeNo,
) -> Result<Order, ServiceError> {
    ports
        .orders
        .get(out_trade_no)
        .await?
        .ok_or_else(|| ServiceError::OrderNotFound(out_trade_no.clone()))
}

/// Saves conditionally on the version read, with the events of a change from
/// `before`, then tracks the stored version.
///
/// The only unique key an order update can break is `trade_no`, which comes from
/// Alipay: another order holding it is a contradiction in Alipay's data, not a reason
/// to try again.
pub(super) async fn save_order(
    ports: &Ports,
    order: &mut Order,
    before: OrderStatus,
) -> Result<(), ServiceError> {
    let events = order_events(before, order, || ports.ids.event_id(), ports.clock.now());
    ports
        .orders
        .update(order, &events)
        .await
        .map_err(|e| order_save_error(order, e))?;
    order.version += 1;
    Ok(())
}

/// What a failed order save means to the caller; see [`save_order`].
pub(super) fn order_save_error(order: &Order, e: RepoError) -> ServiceError {
    match e {
        RepoError::Duplicate(_) => {
            let trade_no = order.trade_no.as_ref().map_or("", |t| t.as_str());
            ServiceError::GatewayDataMismatch(format!(
                "Alipay's trade_no {trade_no} already belongs to another order"
            ))
        }
        other => other.into(),
    }
}

/// The buyer's browser is sent to these URLs: only absolute http(s) URLs, so that a
/// `javascript:` or `data:` URL can never be redirected to.
pub(super) fn check_url(field: &str, url: &str) -> Result<(), ServiceError> {
    const MAX_URL: usize = 1024;
    let scheme_ok = ["https://", "http://"].iter().any(|p| {
        url.get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
            && url.len() > p.len()
    });
    if !scheme_ok || url.len() > MAX_URL || url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ServiceError::Validation(format!(
            "{field} must be an absolute http(s) URL of at most {MAX_URL} characters"
        )));
    }
    Ok(())
}

/// A store answers NotFound for a page cursor it did not issue: the caller's mistake.
pub(super) fn bad_cursor(e: RepoError) -> ServiceError {
    match e {
        RepoError::NotFound(what) => {
            ServiceError::Validation(format!("cursor is not one payport issued ({what})"))
        }
        other => other.into(),
    }
}

/// Free text that goes to Alipay: not blank (when required), not too long, no control
/// characters (they break signatures and forms).
pub(super) fn check_text(
    field: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), ServiceError> {
    if required && value.trim().is_empty() {
        return Err(ServiceError::Validation(format!(
            "{field} must not be empty"
        )));
    }
    if value.chars().count() > max_chars {
        return Err(ServiceError::Validation(format!(
            "{field} must be at most {max_chars} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ServiceError::Validation(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}
