//! The events API's reads: oldest first by the order written, filters, a cursor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use payport_domain::event::EventType;
use payport_domain::ports::{EventFilter, EventLog, OrderRepository, StoredEvent};
use payport_domain::{EventId, RepoError};

use super::fixtures::{all_events, close_order, pay_closed_order};
use super::{four_at_once, Ports, StoreUnderTest};

/// Closes, then pays, three orders, each save with its event: the ids, oldest first.
async fn write_events<S: OrderRepository + ?Sized>(store: &S) -> Vec<String> {
    let mut written = Vec::new();
    for no in ["o2", "o1", "o3"] {
        written.push(close_order(store, no).await.to_string());
        // A late payment: a second event about the same order.
        written.push(pay_closed_order(store, no).await.to_string());
    }
    written
}

fn ids(events: &[StoredEvent]) -> Vec<String> {
    events.iter().map(|e| e.id.to_string()).collect()
}

pub async fn events_list_oldest_first_with_filters_and_a_cursor<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let all = write_events(store).await;
    assert_eq!(ids(&all_events(store).await), all);

    // Pages of two: a full page names its last event as the cursor.
    let mut filter = EventFilter {
        limit: 2,
        ..EventFilter::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = store.list_events(&filter).await.unwrap();
        seen.extend(ids(&page.items));
        assert_eq!(page.next_cursor.is_some(), page.items.len() == 2);
        match page.next_cursor {
            Some(cursor) => filter.after = Some(EventId::parse(cursor).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, all, "every event once, in the order written");

    // A page that is not full has no cursor.
    let filter = EventFilter {
        limit: 4,
        after: Some(EventId::parse(all[2].clone()).unwrap()),
        ..EventFilter::default()
    };
    let page = store.list_events(&filter).await.unwrap();
    assert_eq!(ids(&page.items), all[3..]);
    assert_eq!(page.next_cursor, None);

    // Filters, alone and after a cursor.
    let paid = EventFilter {
        event_type: Some(EventType::OrderPaid),
        limit: 10,
        ..EventFilter::default()
    };
    let page = store.list_events(&paid).await.unwrap();
    assert_eq!(
        ids(&page.items),
        [all[1].as_str(), all[3].as_str(), all[5].as_str()]
    );
    let of_o1 = EventFilter {
        object_id: Some("o1".into()),
        limit: 10,
        ..EventFilter::default()
    };
    let page = store.list_events(&of_o1).await.unwrap();
    assert_eq!(ids(&page.items), [all[2].as_str(), all[3].as_str()]);
    assert!(page.items.iter().all(|e| e.object_id == "o1"));
    let later_paid = EventFilter {
        after: Some(EventId::parse(all[3].clone()).unwrap()),
        ..paid.clone()
    };
    let page = store.list_events(&later_paid).await.unwrap();
    assert_eq!(ids(&page.items), [all[5].as_str()]);
    let both = EventFilter {
        object_id: Some("o3".into()),
        event_type: Some(EventType::OrderClosed),
        limit: 1,
        ..EventFilter::default()
    };
    let page = store.list_events(&both).await.unwrap();
    assert_eq!(ids(&page.items), [all[4].as_str()]);
    assert_eq!(page.next_cursor.as_deref(), Some(all[4].as_str()));

    // One event by id.
    let id = EventId::parse(all[0].clone()).unwrap();
    let one = store.get_event(&id).await.unwrap().unwrap();
    assert_eq!(one.event_type, EventType::OrderClosed);
    assert_eq!(one.object_id, "o2");
    assert_eq!(one.body, "order.closed o2 closed v1 refunds=0");
    let none = EventId::parse("evt_nope").unwrap();
    assert_eq!(store.get_event(&none).await.unwrap(), None);
}

pub async fn an_unknown_cursor_is_not_found<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    write_events(store).await;
    let filter = EventFilter {
        after: Some(EventId::parse("evt_nope").unwrap()),
        limit: 10,
        ..EventFilter::default()
    };
    assert!(matches!(
        store.list_events(&filter).await,
        Err(RepoError::NotFound(_))
    ));
    assert!(store
        .deliveries(&EventId::parse("evt_nope").unwrap())
        .await
        .unwrap()
        .is_empty());
}

/// What a receiver catching up by polling sees: it follows the last event it read.
async fn follow<S: EventLog + ?Sized>(store: Arc<S>, writing: Arc<AtomicBool>) -> Vec<EventId> {
    let mut seen: Vec<EventId> = Vec::new();
    loop {
        // Read the flag first: a page read after the writers stopped sees everything.
        let done = !writing.load(Ordering::SeqCst);
        let filter = EventFilter {
            after: seen.last().cloned(),
            limit: 3,
            ..EventFilter::default()
        };
        let page = store.list_events(&filter).await.unwrap();
        if page.items.is_empty() && done {
            return seen;
        }
        seen.extend(page.items.into_iter().map(|e| e.id));
        tokio::task::yield_now().await;
    }
}

async fn close_orders<S: Ports + ?Sized>(writer: usize, store: Arc<S>) -> Vec<EventId> {
    let mut written = Vec::new();
    for i in 0..10 {
        written.push(close_order(&*store, &format!("w{writer}_{i}")).await);
    }
    written
}

/// Events written by concurrent saves (several instances) are listed in an order that
/// never puts a newly committed event before one a reader has already passed.
pub async fn a_reader_following_events_misses_none_written_meanwhile<D: StoreUnderTest>(db: &D) {
    let writing = Arc::new(AtomicBool::new(true));
    let reader = tokio::spawn(follow(db.shared(), writing.clone()));
    let written = four_at_once(db, close_orders).await;
    writing.store(false, Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all: Vec<EventId> = all_events(db.store())
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all.len(), written.len());
    assert_eq!(seen, all, "every event once, in the order listed");
}
