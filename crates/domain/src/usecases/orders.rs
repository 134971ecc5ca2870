//! Order use cases: create, start payment, sync with Alipay (also on the payment-check
//! schedule), close.

use std::sync::Arc;

use chrono::Duration;

use super::shared::{
    apply_trade_status, bad_cursor, check_text, check_url, load_order, save_order,
};
use super::{retry_on_conflict, Ports, ServiceError, Settings};
use crate::error::{RepoError, TransitionError};
use crate::ids::OutTradeNo;
use crate::money::Amount;
use crate::order::{Order, OrderStatus, PaymentConfirmation};
use crate::payment_check;
use crate::ports::{
    CloseOutcome, OrderFilter, Page, PaymentInstruction, PaymentMethod, PaymentRequest, TradeLookup,
};

/// A merchant's request for a new order, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Chosen by payport when absent.
    pub out_trade_no: Option<OutTradeNo>,
    pub subject: String,
    pub body: Option<String>,
    pub total_amount: Amount,
    /// Defaults to [`Settings::default_time_to_pay`].
    pub time_to_pay: Option<Duration>,
}

/// The longest an order may stay payable (Alipay's `timeout_express` allows 15 days).
const MAX_TIME_TO_PAY_DAYS: i64 = 15;

#[derive(Clone)]
pub struct Orders {
    ports: Ports,
    settings: Arc<Settings>,
}

impl Orders {
    pub fn new(ports: Ports, settings: Arc<Settings>) -> Orders {
        Orders { ports, settings }
    }

    /// # Errors
    /// `Validation` for a bad subject, body or time to pay; `OrderExists`.
    pub async fn create(&self, new: NewOrder) -> Result<Order, ServiceError> {
        check_text("subject", &new.subject, Order::MAX_SUBJECT_CHARS, true)?;
        if let Some(body) = &new.body {
            check_text("body", body, Order::MAX_BODY_CHARS, false)?;
        }
        let time_to_pay = new.time_to_pay.unwrap_or(self.settings.default_time_to_pay);
        if time_to_pay < Duration::minutes(1) || time_to_pay > Duration::days(MAX_TIME_TO_PAY_DAYS)
        {
            return Err(ServiceError::Validation(format!(
                "time to pay must be between 1 minute and {MAX_TIME_TO_PAY_DAYS} days"
            )));
        }
        let out_trade_no = new
            .out_trade_no
            .unwrap_or_else(|| self.ports.ids.out_trade_no());
        let order = Order::new(
            out_trade_no,
            new.subject,
            new.body,
            new.total_amount,
            self.ports.clock.now(),
            time_to_pay,
        );
        match self.ports.orders.insert(&order).await {
            Ok(()) => Ok(order),
            Err(RepoError::Duplicate(_)) => Err(ServiceError::OrderExists(order.out_trade_no)),
            Err(e) => Err(e.into()),
        }
    }

    /// # Errors
    /// `OrderNotFound`.
    pub async fn get(&self, out_trade_no: &OutTradeNo) -> Result<Order, ServiceError> {
        load_order(&self.ports, out_trade_no).await
    }

    /// # Errors
    /// `Validation` for a cursor payport did not issue; `Storage`.
    pub async fn list(&self, filter: &OrderFilter) -> Result<Page<Order>, ServiceError> {
        self.ports.orders.list(filter).await.map_err(bad_cursor)
    }

    /// Asks Alipay for a way to pay: a URL/form, an app order string or a QR code.
    ///
    /// # Errors
    /// The order is not pending (`OrderClosed`, `InvalidState`) or has expired; gateway
    /// errors. Retrying is safe: Alipay keeps one trade per out_trade_no.
    pub async fn start_payment(
        &self,
        out_trade_no: &OutTradeNo,
        method: PaymentMethod,
        return_url: Option<String>,
        quit_url: Option<String>,
    ) -> Result<PaymentInstruction, ServiceError> {
        for (field, url) in [("return_url", &return_url), ("quit_url", &quit_url)] {
            if let Some(url) = url {
                check_url(field, url)?;
            }
        }
        let order = retry_on_conflict(|| async {
            let mut order = load_order(&self.ports, out_trade_no).await?;
            match order.status {
                OrderStatus::Pending => {}
                OrderStatus::Closed => return Err(ServiceError::OrderClosed),
                _ => {
                    return Err(TransitionError::new(
                        "order",
                        order.status.as_str(),
                        "start a payment for",
                    )
                    .into())
                }
            }
            if order.is_expired(self.ports.clock.now()) {
                return Err(ServiceError::OrderExpired);
            }
            let now = self.ports.clock.now();
            let mut changed = false;
            if return_url.is_some() && order.return_url != return_url {
                order.return_url.clone_from(&return_url);
                changed = true;
            }
            // Saved before Alipay is asked, so that a payment made from what Alipay
            // answers is always checked, even if its notification is lost.
            // Checks that stopped start again with a new attempt.
            let first =
                payment_check::first_check(&self.settings.payment_checks, now, order.expires_at);
            let restart = order.payment_check_at.is_none() && first.is_some();
            if order.payment_started_at.is_none() || restart {
                order.payment_started_at.get_or_insert(now);
                order.payment_check_at = first;
                changed = true;
            }
            if changed {
                // The status stays: no event.
                let before = order.status;
                order.updated_at = now;
                save_order(&self.ports, &mut order, before).await?;
            }
            Ok(order)
        })
        .await?;
        let request = PaymentRequest {
            method,
            out_trade_no: order.out_trade_no,
            subject: order.subject,
            body: order.body,
            total_amount: order.total_amount,
            expires_at: order.expires_at,
            return_url,
            quit_url,
        };
        Ok(self.ports.payments.create_payment(&request).await?)
    }

    /// Asks Alipay about the trade and applies what it says.
    ///
    /// # Errors
    /// `OrderNotFound`; gateway errors (the order is then unchanged);
    /// `GatewayDataMismatch` when Alipay's amount differs from the order's.
    pub async fn sync(&self, out_trade_no: &OutTradeNo) -> Result<Order, ServiceError> {
        load_order(&self.ports, out_trade_no).await?;
        let snapshot = match self.ports.payments.query_trade(out_trade_no).await? {
            // No trade at Alipay yet: nothing to learn. Expiry closes it in time.
            TradeLookup::NotFound => return load_order(&self.ports, out_trade_no).await,
            TradeLookup::Found(snapshot) => snapshot,
        };
        retry_on_conflict(|| async {
            let mut order = load_order(&self.ports, out_trade_no).await?;
            if snapshot.total_amount != order.total_amount {
                return Err(ServiceError::GatewayDataMismatch(format!(
                    "Alipay's total_amount {} differs from the order's {}",
                    snapshot.total_amount, order.total_amount
                )));
            }
            let now = self.ports.clock.now();
            let payment = PaymentConfirmation {
                trade_no: snapshot.trade_no.clone(),
                paid_at: snapshot.paid_at.unwrap_or(now),
                buyer_id: snapshot.buyer_id.clone(),
                buyer_logon_id: snapshot.buyer_logon_id.clone(),
            };
            let before = order.status;
            if apply_trade_status(&mut order, snapshot.status, payment, now)? {
                save_order(&self.ports, &mut order, before).await?;
            }
            Ok(order)
        })
        .await
    }

    /// What the worker runs for a pending order whose payment check is due (it claimed
    /// it): [`Orders::sync`], then, while the order stays pending, schedules the next
    /// check. "No trade yet" and a gateway that did not answer are normal: the next
    /// check comes. A contradiction in Alipay's data stops the checks (a person must
    /// look) and is returned, as are the other errors, for the log.
    ///
    /// # Errors
    /// As [`Orders::sync`]; `Storage` when the next check cannot be scheduled (the
    /// claim's lease then brings the order back).
    pub async fn check_payment(&self, out_trade_no: &OutTradeNo) -> Result<Order, ServiceError> {
        let before = load_order(&self.ports, out_trade_no).await?;
        let checked = self.sync(out_trade_no).await;
        let next = match &checked {
            Ok(order) if order.status == OrderStatus::Pending => self.next_check(order),
            // Paid or closed: the save cleared the check.
            Ok(_) => return checked,
            Err(ServiceError::GatewayDataMismatch(_)) => None,
            Err(ServiceError::GatewayUnavailable(_) | ServiceError::GatewayRejected(_)) => {
                self.next_check(&before)
            }
            // Storage trouble: the claim's lease brings the order back.
            Err(_) => return checked,
        };
        let scheduled = self
            .ports
            .work
            .schedule_payment_check(out_trade_no, next)
            .await;
        let order = checked?;
        scheduled?;
        Ok(order)
    }

    fn next_check(&self, order: &Order) -> Option<chrono::DateTime<chrono::Utc>> {
        payment_check::next_check(
            &self.settings.payment_checks,
            order.payment_started_at.unwrap_or(order.created_at),
            self.ports.clock.now(),
            order.expires_at,
        )
    }

    /// Closes an unpaid order at Alipay, then locally. If Alipay refuses because the
    /// buyer paid meanwhile, the payment is synced instead and the close refused.
    ///
    /// # Errors
    /// `InvalidState` for a paid order; gateway errors (the order is then unchanged).
    pub async fn close(&self, out_trade_no: &OutTradeNo) -> Result<Order, ServiceError> {
        let order = load_order(&self.ports, out_trade_no).await?;
        match order.status {
            OrderStatus::Closed => return Ok(order),
            OrderStatus::Pending => {}
            _ => return Err(TransitionError::new("order", order.status.as_str(), "close").into()),
        }
        match self.ports.payments.close_trade(out_trade_no).await {
            Ok(CloseOutcome::Closed | CloseOutcome::NeverOpened) => {}
            Err(crate::error::GatewayError::Rejected(failure)) => {
                // Most likely paid meanwhile: learn the truth before answering.
                let synced = self.sync(out_trade_no).await?;
                return if synced.status == OrderStatus::Pending {
                    Err(ServiceError::GatewayRejected(failure))
                } else {
                    Err(TransitionError::new("order", synced.status.as_str(), "close").into())
                };
            }
            Err(other) => return Err(other.into()),
        }
        retry_on_conflict(|| async {
            let mut order = load_order(&self.ports, out_trade_no).await?;
            let before = order.status;
            if order.close(self.ports.clock.now())? {
                save_order(&self.ports, &mut order, before).await?;
            }
            Ok(order)
        })
        .await
    }
}
