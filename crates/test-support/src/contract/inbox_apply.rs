//! `NotificationInbox::record_and_apply`: a notification's record, its order's change,
//! the events and the handled mark, all in one step or none of it.

use payport_domain::event::EventType;
use payport_domain::ports::{
    InboxApplied, InboxEntry, InboxState, NotificationInbox, NotificationSource, OrderRepository,
};
use payport_domain::{Order, RepoError};

use super::fixtures::{all_events, at, event, no, payment, pending_order};
use super::StoreUnderTest;

fn entry(notify_id: &str, content: &str) -> InboxEntry {
    InboxEntry {
        source: NotificationSource::TradeStatus,
        notify_id: notify_id.into(),
        out_trade_no: Some(no("o1")),
        raw_body: format!("{content}&sign=x"),
        content: content.into(),
        received_at: at(300),
    }
}

pub async fn a_first_delivery_is_recorded_applied_and_handled_at_once<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let inbox: &dyn NotificationInbox = store;
    let orders: &dyn OrderRepository = store;
    let pending = pending_order("o1", 1_000);
    orders.insert(&pending).await.unwrap();
    let mut paid = pending.clone();
    paid.confirm_payment(payment("o1"), at(60)).unwrap();
    let paid_event = event(EventType::OrderPaid, "o1");
    let first = entry("n1", "trade_status=TRADE_SUCCESS");

    let applied = inbox
        .record_and_apply(&first, Some(&paid), std::slice::from_ref(&paid_event))
        .await
        .unwrap();
    assert_eq!(applied, InboxApplied::Applied);
    let stored = orders.get(&no("o1")).await.unwrap().unwrap();
    assert_eq!(
        stored,
        Order {
            version: 1,
            ..paid.clone()
        }
    );
    let events = all_events(store).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::OrderPaid);

    // Redelivered: handled already, nothing saved again (the stale order is not even
    // tried), and the plain record agrees.
    assert_eq!(
        inbox
            .record_and_apply(&first, Some(&paid), &[])
            .await
            .unwrap(),
        InboxApplied::AlreadyHandled
    );
    assert_eq!(
        inbox.record(&first).await.unwrap(),
        InboxState::AlreadyHandled
    );
    // Other content under the same notify_id: refused, nothing changed.
    let reused = entry("n1", "trade_status=TRADE_CLOSED");
    assert_eq!(
        inbox.record_and_apply(&reused, None, &[]).await.unwrap(),
        InboxApplied::Conflicting
    );
    assert_eq!(all_events(store).await.len(), 1);
    assert_eq!(orders.get(&no("o1")).await.unwrap().unwrap().version, 1);

    // Nothing to change on the order: recorded and handled all the same.
    let nothing = entry("n2", "trade_status=WAIT_BUYER_PAY");
    assert_eq!(
        inbox.record_and_apply(&nothing, None, &[]).await.unwrap(),
        InboxApplied::Applied
    );
    assert_eq!(
        inbox.record(&nothing).await.unwrap(),
        InboxState::AlreadyHandled
    );
}

pub async fn a_stale_order_keeps_nothing_of_the_notification<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let inbox: &dyn NotificationInbox = store;
    let orders: &dyn OrderRepository = store;
    let pending = pending_order("o1", 1_000);
    orders.insert(&pending).await.unwrap();
    let mut closed = pending.clone();
    closed.close(at(50)).unwrap();
    orders.update(&closed, &[]).await.unwrap();

    // Saved from the version before the close: refused, and the notification is not
    // marked handled, so its redelivery is handled afresh.
    let mut paid = pending.clone();
    paid.confirm_payment(payment("o1"), at(60)).unwrap();
    let first = entry("n1", "trade_status=TRADE_SUCCESS");
    let stale = inbox
        .record_and_apply(&first, Some(&paid), &[event(EventType::OrderPaid, "o1")])
        .await;
    assert!(matches!(stale, Err(RepoError::Conflict(_))), "{stale:?}");
    assert!(all_events(store).await.is_empty());
    assert_eq!(inbox.record(&first).await.unwrap(), InboxState::ToHandle);

    // A delivery recorded but never handled (a crash mid-way) is applied now.
    let mut paid_late = Order {
        version: 1,
        ..closed
    };
    paid_late.confirm_payment(payment("o1"), at(70)).unwrap();
    assert_eq!(
        inbox
            .record_and_apply(
                &first,
                Some(&paid_late),
                &[event(EventType::OrderPaid, "o1")]
            )
            .await
            .unwrap(),
        InboxApplied::Applied
    );
    assert_eq!(orders.get(&no("o1")).await.unwrap().unwrap().version, 2);
    assert_eq!(
        inbox.record(&first).await.unwrap(),
        InboxState::AlreadyHandled
    );
}
