//! Alipay callbacks: trade notifications, browser returns, legacy refund notifications.
//!
//! The order is fixed: verify the signature, run the merchant checks, store the raw
//! notification, deduplicate (a notify_id seen before with other content is refused),
//! and only then change state. A callback refused at any step changes nothing.
//!
//! A trade notification about the payment alone (the common case), or one reporting
//! a refund payport already recorded as succeeded (the notification each of its own
//! refunds brings), is recorded, applied and marked handled in ONE transaction
//! ([`NotificationInbox::record_and_apply`](crate::ports::NotificationInbox::record_and_apply)).
//! One that settles a refund, and a legacy refund notification, take three
//! steps (record, settle the refunds, mark handled): settling reads and saves refunds
//! and may ask Alipay, which no transaction may span. A crash between the steps leaves
//! the notification recorded but not handled, so Alipay's redelivery applies it again,
//! and applying is idempotent.

use std::sync::Arc;

use super::external::Learned;
use super::orders::Orders;
use chrono::{DateTime, Utc};

use super::shared::{apply_trade_status, load_order, order_save_error, save_order};
use super::{retry_on_conflict, Ports, Refunds, ServiceError, Settings};
use crate::crash_points::{self, crash_point};
use crate::event::order_events;
use crate::ids::{AppId, OutRequestNo, OutTradeNo, SellerId};
use crate::money::Amount;
use crate::order::{Order, OrderStatus, PaymentConfirmation};
use crate::ports::{
    InboxApplied, InboxEntry, InboxState, IncomingNotification, NotificationSource,
    RefundReference, RefundResult, RefundResultOutcome, TradeNotification,
};
use crate::refund::{Refund, RefundStatus, RefundSuccess};

/// What handling a notification came to; every variant is answered `success`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationHandled {
    Applied,
    /// Handled before (a redelivery): nothing changed.
    Duplicate,
    /// Recorded, but some results contradict payport's records (e.g. a legacy batch
    /// line with another amount): those refunds were not settled, and each of these
    /// sentences (also on the refund as `last_error`) is for a person to act on.
    /// Sending it again would change nothing, so it is acknowledged all the same.
    NeedsAPerson(Vec<String>),
    /// Applied, except a refund made outside payport whose amount could not be
    /// learned now (no refund query, or it failed): the daily reconciliation records
    /// it from the bill. The sentence (no secrets) is for the log.
    Deferred(String),
}

#[derive(Clone)]
pub struct Notifications {
    ports: Ports,
    settings: Arc<Settings>,
    orders: Orders,
    refunds: Refunds,
}

impl Notifications {
    pub fn new(ports: Ports, settings: Arc<Settings>) -> Notifications {
        Notifications {
            orders: Orders::new(ports.clone(), settings.clone()),
            refunds: Refunds::new(ports.clone(), settings.clone()),
            ports,
            settings,
        }
    }

    /// Handles a `trade_status_sync` notification: payments, closes, finishes, and the
    /// refunds it reports (`out_biz_no` with the cumulative `refund_fee`).
    ///
    /// # Errors
    /// `NotificationRefused` when the signature or a merchant check fails; storage
    /// errors. Answer `failure` then, so that Alipay sends it again.
    pub async fn handle_trade_notification(
        &self,
        incoming: &IncomingNotification,
    ) -> Result<NotificationHandled, ServiceError> {
        let notice = self
            .ports
            .payments
            .verify_notification(incoming)
            .await
            .map_err(|e| ServiceError::NotificationRefused(e.to_string()))?;
        let order = self
            .merchant_checks(Claim {
                app_id: &notice.app_id,
                seller_id: notice.seller_id.as_ref(),
                out_trade_no: &notice.out_trade_no,
                total_amount: notice.total_amount,
            })
            .await?;
        let entry = InboxEntry {
            source: NotificationSource::TradeStatus,
            notify_id: notice.notify_id.clone(),
            out_trade_no: Some(order.out_trade_no.clone()),
            raw_body: incoming.raw_body.clone(),
            content: notice.content(),
            received_at: self.ports.clock.now(),
        };
        let refund = match refund_result(&notice) {
            None => return self.record_and_apply(&notice, &entry, order).await,
            // The notification every refund of payport's own brings, after its
            // answer already settled it: only the payment part can change anything.
            Some(Ok(result)) if self.already_succeeded(&result).await? => {
                return self.record_and_apply(&notice, &entry, order).await
            }
            Some(refund) => refund,
        };
        if self.record(&entry).await? == InboxState::AlreadyHandled {
            return Ok(NotificationHandled::Duplicate);
        }
        crash_point(crash_points::NOTIFICATION_RECORDED);
        self.apply_trade_notification(&notice).await?;
        let mut handled = NotificationHandled::Applied;
        match refund {
            Ok(result) => {
                let applied = self.refunds.apply_result(&result).await?;
                if let (true, RefundReference::OutRequestNo { out_request_no, .. }) =
                    (applied.is_empty(), &result.reference)
                {
                    handled = self.learn_refund(&notice, out_request_no).await?;
                }
            }
            Err(unrecordable) => {
                handled = NotificationHandled::NeedsAPerson(vec![unrecordable]);
            }
        }
        self.ports
            .inbox
            .mark_handled(entry.source, &entry.notify_id, self.ports.clock.now())
            .await?;
        Ok(handled)
    }

    /// A notification about the payment alone (paid, closed, finished), the common
    /// case: its record, the order's change, the events and the mark that it was
    /// handled are one transaction, with the order as read for the merchant checks.
    /// Another writer saving the order meanwhile rolls all of it back; it is then
    /// read again and tried anew.
    async fn record_and_apply(
        &self,
        notice: &TradeNotification,
        entry: &InboxEntry,
        order: Order,
    ) -> Result<NotificationHandled, ServiceError> {
        let mut as_read = Some(order);
        let handled = retry_on_conflict(|| {
            let read = as_read.take();
            async move {
                let mut order = match read {
                    Some(order) => order,
                    None => load_order(&self.ports, &notice.out_trade_no).await?,
                };
                let now = self.ports.clock.now();
                let before = order.status;
                let changed =
                    apply_trade_status(&mut order, notice.trade_status, payment(notice, now), now)?;
                let events = if changed {
                    order_events(before, &order, || self.ports.ids.event_id(), now)
                } else {
                    Vec::new()
                };
                let applied = self
                    .ports
                    .inbox
                    .record_and_apply(entry, changed.then_some(&order), &events)
                    .await
                    .map_err(|e| order_save_error(&order, e))?;
                match applied {
                    InboxApplied::Applied => Ok(NotificationHandled::Applied),
                    InboxApplied::AlreadyHandled => Ok(NotificationHandled::Duplicate),
                    InboxApplied::Conflicting => Err(conflicting(entry)),
                }
            }
        })
        .await;
        if let Ok(NotificationHandled::Applied) = handled {
            // Committed, and Alipay not answered yet: it will deliver again.
            crash_point(crash_points::NOTIFICATION_AFTER_COMMIT);
        }
        handled
    }

    /// Whether the result reports the success of a refund payport already recorded
    /// as succeeded, which settling would leave as it is.
    async fn already_succeeded(&self, result: &RefundResult) -> Result<bool, ServiceError> {
        let (
            RefundReference::OutRequestNo {
                out_trade_no,
                out_request_no,
            },
            RefundResultOutcome::Succeeded(_),
        ) = (&result.reference, &result.outcome)
        else {
            return Ok(false);
        };
        let known = self
            .ports
            .refunds
            .get_by_out_request_no(out_trade_no, out_request_no)
            .await?;
        Ok(known.is_some_and(|r| r.status == RefundStatus::Succeeded))
    }

    /// A refund payport does not know, made outside it: recorded, with its amount
    /// from Alipay's refund query (never the cumulative `refund_fee`).
    async fn learn_refund(
        &self,
        notice: &TradeNotification,
        out_request_no: &OutRequestNo,
    ) -> Result<NotificationHandled, ServiceError> {
        let learned = self
            .refunds
            .learn_external(&notice.out_trade_no, out_request_no, notice.gmt_refund)
            .await?;
        Ok(match learned {
            Learned::Done => NotificationHandled::Applied,
            Learned::Deferred(why) => NotificationHandled::Deferred(why),
            Learned::Contradiction(what) => NotificationHandled::NeedsAPerson(vec![what]),
        })
    }

    /// Handles the buyer's browser coming back from the cashier. The return passes the
    /// same merchant checks as a notification, but is not proof of payment (PROTOCOL.md
    /// A6): a pending or closed order is synced with Alipay (and returned as it is if
    /// that query fails); one already paid is answered from the books, so replaying a
    /// captured return URL for it costs no call to Alipay.
    ///
    /// # Errors
    /// `NotificationRefused` when the parameters do not verify or are not ours.
    pub async fn handle_return(&self, params: &[(String, String)]) -> Result<Order, ServiceError> {
        let back = self
            .ports
            .payments
            .verify_return(params)
            .await
            .map_err(|e| ServiceError::NotificationRefused(e.to_string()))?;
        let order = self
            .merchant_checks(Claim {
                app_id: &back.app_id,
                seller_id: back.seller_id.as_ref(),
                out_trade_no: &back.out_trade_no,
                total_amount: back.total_amount,
            })
            .await?;
        // A closed order is still asked about: a buyer may have paid just as it closed,
        // and that money must be found (paid after close), not ignored.
        if !matches!(order.status, OrderStatus::Pending | OrderStatus::Closed) {
            return Ok(order);
        }
        match self.orders.sync(&order.out_trade_no).await {
            Ok(synced) => Ok(synced),
            Err(ServiceError::GatewayUnavailable(_)) => Ok(order),
            Err(e) => Err(e),
        }
    }

    /// Handles a legacy mapi `batch_refund_notify`.
    ///
    /// # Errors
    /// `NotificationRefused` when it does not verify (MD5 and `notify_verify`);
    /// `GatewayNotConfigured` without a refund notification verifier (no mapi gateway).
    pub async fn handle_refund_notification(
        &self,
        incoming: &IncomingNotification,
    ) -> Result<NotificationHandled, ServiceError> {
        let verifier = self.ports.refund_gateways.notifications.as_ref().ok_or(
            ServiceError::GatewayNotConfigured(crate::refund::RefundGatewayKind::MapiNoPwd),
        )?;
        let notice = verifier
            .verify_refund_notification(incoming)
            .await
            .map_err(|e| ServiceError::NotificationRefused(e.to_string()))?;
        let entry = InboxEntry {
            source: NotificationSource::MapiBatchRefund,
            notify_id: notice.notify_id.clone(),
            out_trade_no: None,
            raw_body: incoming.raw_body.clone(),
            content: notice.content(),
            received_at: self.ports.clock.now(),
        };
        if self.record(&entry).await? == InboxState::AlreadyHandled {
            return Ok(NotificationHandled::Duplicate);
        }
        crash_point(crash_points::NOTIFICATION_RECORDED);
        // Apply every line before failing, so one bad line does not hold up the rest.
        let mut first_error = None;
        let mut anomalies = Vec::new();
        for result in &notice.results {
            match self.refunds.apply_result(result).await {
                Ok(refunds) => {
                    anomalies.extend(refunds.into_iter().filter(Refund::has_anomaly).filter_map(
                        |r| r.last_error.map(|e| format!("refund {}: {e}", r.refund_id)),
                    ))
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        self.ports
            .inbox
            .mark_handled(entry.source, &entry.notify_id, self.ports.clock.now())
            .await?;
        if anomalies.is_empty() {
            Ok(NotificationHandled::Applied)
        } else {
            Ok(NotificationHandled::NeedsAPerson(anomalies))
        }
    }

    /// Stores the notification; a notify_id seen before with other content is refused.
    async fn record(&self, entry: &InboxEntry) -> Result<InboxState, ServiceError> {
        match self.ports.inbox.record(entry).await? {
            InboxState::Conflicting => Err(conflicting(entry)),
            state => Ok(state),
        }
    }

    /// The official demo's four checks, for notifications and returns alike: our app,
    /// our seller, our order, its amount (PROTOCOL.md A5).
    async fn merchant_checks(&self, claim: Claim<'_>) -> Result<Order, ServiceError> {
        let merchant = &self.settings.merchant;
        if *claim.app_id != merchant.app_id {
            return Err(ServiceError::NotificationRefused(
                "app_id is not ours".into(),
            ));
        }
        if let Some(seller) = &merchant.seller_id {
            if claim.seller_id != Some(seller) {
                return Err(ServiceError::NotificationRefused(
                    "seller_id is not ours".into(),
                ));
            }
        }
        let order = self.known_order(claim.out_trade_no).await?;
        if claim.total_amount != order.total_amount {
            return Err(ServiceError::NotificationRefused(
                "total_amount differs from the order's".into(),
            ));
        }
        Ok(order)
    }

    async fn known_order(&self, out_trade_no: &OutTradeNo) -> Result<Order, ServiceError> {
        match load_order(&self.ports, out_trade_no).await {
            Err(ServiceError::OrderNotFound(_)) => Err(ServiceError::NotificationRefused(
                "out_trade_no is not one of ours".into(),
            )),
            other => other,
        }
    }

    async fn apply_trade_notification(
        &self,
        notice: &TradeNotification,
    ) -> Result<(), ServiceError> {
        retry_on_conflict(|| async {
            let mut order = load_order(&self.ports, &notice.out_trade_no).await?;
            let now = self.ports.clock.now();
            let before = order.status;
            if apply_trade_status(&mut order, notice.trade_status, payment(notice, now), now)? {
                save_order(&self.ports, &mut order, before).await?;
            }
            Ok(())
        })
        .await
    }
}

/// The payment a trade notification reports (used only when its status is a payment).
fn payment(notice: &TradeNotification, now: DateTime<Utc>) -> PaymentConfirmation {
    PaymentConfirmation {
        trade_no: notice.trade_no.clone(),
        paid_at: notice.gmt_payment.unwrap_or(now),
        buyer_id: notice.buyer_id.clone(),
        buyer_logon_id: notice.buyer_logon_id.clone(),
    }
}

/// A notify_id received before with other content: a reused or forged id.
fn conflicting(entry: &InboxEntry) -> ServiceError {
    ServiceError::NotificationRefused(format!(
        "notify_id {} of {} was received before with other content",
        entry.notify_id,
        entry.source.as_str()
    ))
}

/// What a notification or a return says about whose order it is.
struct Claim<'a> {
    app_id: &'a AppId,
    seller_id: Option<&'a SellerId>,
    out_trade_no: &'a OutTradeNo,
    total_amount: Amount,
}

/// A trade notification that carries `out_biz_no` and `refund_fee` reports a refund
/// that succeeded (partial: TRADE_SUCCESS; full: TRADE_CLOSED). An out_biz_no that is
/// no valid out_request_no is no refund payport sent, and cannot be recorded as one
/// made outside it either: that is for a person (the sentence says so).
fn refund_result(notice: &TradeNotification) -> Option<Result<RefundResult, String>> {
    let (Some(out_biz_no), Some(refund_fee)) = (&notice.out_biz_no, notice.refund_fee) else {
        return None;
    };
    let out_request_no = match OutRequestNo::parse(out_biz_no.clone()) {
        Ok(number) => number,
        Err(e) => {
            return Some(Err(format!(
                "order {}: a refund made outside payport cannot be recorded ({e})",
                notice.out_trade_no
            )))
        }
    };
    Some(Ok(RefundResult {
        reference: RefundReference::OutRequestNo {
            out_trade_no: notice.out_trade_no.clone(),
            out_request_no,
        },
        outcome: RefundResultOutcome::Succeeded(RefundSuccess {
            refund_fee: Some(refund_fee),
            refunded_at: notice.gmt_refund,
        }),
    }))
}
