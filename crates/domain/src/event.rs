//! Events: one per status change of an order or a refund, written in the same
//! transaction as the change (a transactional outbox), then delivered to webhooks.
//!
//! The domain decides which events a change makes ([`order_events`],
//! [`refund_event`]) and hands them to the repository call that saves the change; the
//! store writes them with it, or neither.

use chrono::{DateTime, Utc};

use crate::ids::{EventId, OutTradeNo, RefundId};
use crate::order::{Order, OrderStatus};
use crate::refund::{NewRefund, Refund, RefundStatus};

/// `order.<status>` or `refund.<status>`, with the statuses of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    OrderPaid,
    OrderPartiallyRefunded,
    OrderRefunded,
    OrderClosed,
    OrderFinished,
    RefundPendingApproval,
    RefundApproved,
    RefundRejected,
    RefundProcessing,
    RefundAwaitingOperator,
    RefundSucceeded,
    RefundFailed,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        Self::OrderPaid,
        Self::OrderPartiallyRefunded,
        Self::OrderRefunded,
        Self::OrderClosed,
        Self::OrderFinished,
        Self::RefundPendingApproval,
        Self::RefundApproved,
        Self::RefundRejected,
        Self::RefundProcessing,
        Self::RefundAwaitingOperator,
        Self::RefundSucceeded,
        Self::RefundFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPaid => "order.paid",
            Self::OrderPartiallyRefunded => "order.partially_refunded",
            Self::OrderRefunded => "order.refunded",
            Self::OrderClosed => "order.closed",
            Self::OrderFinished => "order.finished",
            Self::RefundPendingApproval => "refund.pending_approval",
            Self::RefundApproved => "refund.approved",
            Self::RefundRejected => "refund.rejected",
            Self::RefundProcessing => "refund.processing",
            Self::RefundAwaitingOperator => "refund.awaiting_operator",
            Self::RefundSucceeded => "refund.succeeded",
            Self::RefundFailed => "refund.failed",
        }
    }

    /// The inverse of [`EventType::as_str`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The event for an order that became `status`; `None` for `pending`, which is
    /// where every order starts (creating an order is not a status change).
    pub fn for_order(status: OrderStatus) -> Option<Self> {
        match status {
            OrderStatus::Pending => None,
            OrderStatus::Paid => Some(Self::OrderPaid),
            OrderStatus::PartiallyRefunded => Some(Self::OrderPartiallyRefunded),
            OrderStatus::Refunded => Some(Self::OrderRefunded),
            OrderStatus::Closed => Some(Self::OrderClosed),
            OrderStatus::Finished => Some(Self::OrderFinished),
        }
    }

    pub fn for_refund(status: RefundStatus) -> Self {
        match status {
            RefundStatus::PendingApproval => Self::RefundPendingApproval,
            RefundStatus::Approved => Self::RefundApproved,
            RefundStatus::Rejected => Self::RefundRejected,
            RefundStatus::Processing => Self::RefundProcessing,
            RefundStatus::AwaitingOperator => Self::RefundAwaitingOperator,
            RefundStatus::Succeeded => Self::RefundSucceeded,
            RefundStatus::Failed => Self::RefundFailed,
        }
    }

    pub fn is_about_orders(self) -> bool {
        self.as_str().starts_with("order.")
    }
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventSubject {
    Order(OutTradeNo),
    Refund(RefundId),
}

impl EventSubject {
    /// The `object_id` events are filtered on: the out_trade_no or the refund_id.
    pub fn object_id(&self) -> &str {
        match self {
            Self::Order(o) => o.as_str(),
            Self::Refund(r) => r.as_str(),
        }
    }
}

/// An event to write with a change. Its body (the object as the API shows it after
/// the change) is made by the store, inside the transaction, with an
/// [`EventRenderer`](crate::ports::EventRenderer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: EventId,
    pub event_type: EventType,
    pub subject: EventSubject,
    pub created_at: DateTime<Utc>,
}

/// The events for an order that was `before` and is now as `order` says: none when
/// the status stayed, one per status passed through otherwise. A `TRADE_FINISHED`
/// that is the first news of a payment moves `pending` to `finished` in one save; the
/// shop still needs `order.paid` to ship, so it gets both, paid first.
pub fn order_events(
    before: OrderStatus,
    order: &Order,
    mut next_id: impl FnMut() -> EventId,
    now: DateTime<Utc>,
) -> Vec<NewEvent> {
    let after = order.status;
    if after == before {
        return Vec::new();
    }
    let mut statuses = Vec::with_capacity(2);
    let was_unpaid = matches!(before, OrderStatus::Pending | OrderStatus::Closed);
    if was_unpaid && after == OrderStatus::Finished && order.paid_at.is_some() {
        statuses.push(OrderStatus::Paid);
    }
    statuses.push(after);
    statuses
        .into_iter()
        .filter_map(EventType::for_order)
        .map(|event_type| NewEvent {
            id: next_id(),
            event_type,
            subject: EventSubject::Order(order.out_trade_no.clone()),
            created_at: now,
        })
        .collect()
}

/// The event for a refund that was `before` (`None`: it is new) and is now as
/// `refund` says, or `None` when its status stayed.
pub fn refund_event(
    before: Option<RefundStatus>,
    refund: &Refund,
    id: impl FnOnce() -> EventId,
    now: DateTime<Utc>,
) -> Option<NewEvent> {
    (before != Some(refund.status)).then(|| NewEvent {
        id: id(),
        event_type: EventType::for_refund(refund.status),
        subject: EventSubject::Refund(refund.refund_id.clone()),
        created_at: now,
    })
}

/// The events a reservation writes with the refund it stored (`stored`, as it is
/// after the reservation): `refund.<status>` under `event_id`; for a refund marked
/// sent in the same transaction ([`NewRefund::sent_at_once`]), `refund.approved` under
/// `event_id` then `refund.processing` under its [`SendAtOnce::event_id`]: the same
/// two events as when sending was a save of its own.
///
/// [`SendAtOnce::event_id`]: crate::refund::SendAtOnce::event_id
pub fn reservation_events(new: &NewRefund, stored: &Refund, event_id: &EventId) -> Vec<NewEvent> {
    let event = |id: &EventId, status| NewEvent {
        id: id.clone(),
        event_type: EventType::for_refund(status),
        subject: EventSubject::Refund(stored.refund_id.clone()),
        created_at: new.created_at,
    };
    match (&new.send_at_once, stored.status) {
        (Some(send), RefundStatus::Processing) => vec![
            event(event_id, RefundStatus::Approved),
            event(&send.event_id, RefundStatus::Processing),
        ],
        _ => vec![event(event_id, stored.status)],
    }
}

/// What a reservation that admitted `admitted` stores, in order, in its one
/// transaction, each step followed by its event: the refund inserted as admitted,
/// then, when it is sent at once, the refund marked sent ([`NewRefund::sent_at_once`]),
/// saved conditionally on its version. Each event's body shows the refund as its step
/// stored it, so a webhook consumer sees `refund.approved` (approved, version 0) and
/// `refund.processing` (processing, version 1) exactly as when they were two saves.
pub fn reservation_steps(
    new: &NewRefund,
    admitted: Refund,
    event_id: &EventId,
) -> Vec<(Refund, NewEvent)> {
    let sent = new.sent_at_once(&admitted);
    let events = match &sent {
        Some(sent) => reservation_events(new, sent, event_id),
        None => reservation_events(new, &admitted, event_id),
    };
    std::iter::once(admitted).chain(sent).zip(events).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("order.pending"), None);
        assert_eq!(EventType::for_order(OrderStatus::Pending), None);
        for s in RefundStatus::ALL {
            assert_eq!(
                EventType::for_refund(s).as_str(),
                format!("refund.{}", s.as_str())
            );
        }
    }

    #[test]
    fn order_events_are_told_from_refund_events() {
        assert!(EventType::OrderPaid.is_about_orders());
        assert!(!EventType::RefundSucceeded.is_about_orders());
        for s in RefundStatus::ALL {
            assert!(!EventType::for_refund(s).is_about_orders());
        }
    }
}
