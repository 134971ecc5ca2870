//! PostgreSQL: event writers do not wait for each other, and the event list never gets
//! ahead of a transaction still writing an event (see the store's `events.rs`). The
//! transaction held open is a raw connection writing an event as the store does: the
//! outbox lock shared, then the row (its `tx` by the column's default).

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use payport_domain::ports::{EventFilter, EventLog, WebhookEndpoints};
use payport_domain::EventId;
use payport_test_support::contract::webhooks::endpoint;

use crate::support::{all_events, at, close_order, TestDb};

/// The store's outbox lock (`PG_OUTBOX_LOCK` in `dialect.rs`); the deletion below
/// waiting for the raw writer shows it is the same lock.
const OUTBOX_LOCK: i64 = 0x0070_6179_6f75_7462;

/// Long enough for a write that does not wait; a write that waits never ends in it.
const PROMPTLY: Duration = Duration::from_secs(10);

/// A transaction that has written the event `id` and not committed.
async fn open_writer(url: &str, id: &str) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(url).await.expect("raw pg");
    conn.batch_execute(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock_shared({OUTBOX_LOCK}); \
         INSERT INTO events (id, event_type, object_id, created_at, body) \
         VALUES ('{id}', 'order.closed', 'raw', now(), '{{}}');"
    ))
    .await
    .expect("write an event");
    conn
}

fn listed(events: &[payport_domain::ports::StoredEvent]) -> Vec<String> {
    events.iter().map(|e| e.id.to_string()).collect()
}

async fn after(db: &TestDb, id: &str) -> Vec<String> {
    let filter = EventFilter {
        after: Some(EventId::parse(id).unwrap()),
        limit: 10,
        ..EventFilter::default()
    };
    listed(&db.store.list_events(&filter).await.unwrap().items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_later_event_is_listed_only_after_the_transactions_before_it_end() {
    let Some(db) = TestDb::postgres(true).await else {
        return;
    };
    let mut early = open_writer(&db.url(), "evt_early").await;
    // Written and committed while the earlier transaction is open, without waiting.
    let later = tokio::time::timeout(PROMPTLY, close_order(&db.store, "o1"))
        .await
        .expect("an event writer waited for another");
    let later = later.to_string();

    // Committed and readable by id, but not listed: a reader paging after it would
    // never see the earlier event, which commits with a lower `tx`.
    assert!(db
        .store
        .get_event(&EventId::parse(later.as_str()).unwrap())
        .await
        .unwrap()
        .is_some());
    assert_eq!(listed(&all_events(&db.store).await), Vec::<String>::new());
    // Paging after it (known from a webhook, say): nothing yet, the same cursor.
    let filter = EventFilter {
        after: Some(EventId::parse(later.as_str()).unwrap()),
        ..EventFilter::default()
    };
    let page = db.store.list_events(&filter).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor.as_deref(), Some(later.as_str()));

    early.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        listed(&all_events(&db.store).await),
        ["evt_early", later.as_str()]
    );
    assert_eq!(after(&db, "evt_early").await, [later.as_str()]);
    assert!(after(&db, &later).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_writers_share_the_outbox_and_endpoint_deletion_waits_for_them() {
    let Some(db) = TestDb::postgres(true).await else {
        return;
    };
    let hook = endpoint("we_1", None, 1);
    db.store.create_endpoint(&hook).await.unwrap();
    let mut first = open_writer(&db.url(), "evt_first").await;

    // A second raw writer and the store's own write while the first is open.
    let second = tokio::time::timeout(PROMPTLY, open_writer(&db.url(), "evt_second"))
        .await
        .expect("an event writer waited for another");
    drop(second); // Rolled back.
    tokio::time::timeout(PROMPTLY, close_order(&db.store, "o1"))
        .await
        .expect("an event writer waited for another");

    // The deletion waits for the writer in flight (it could give the endpoint a
    // delivery the deletion would not see).
    let store = db.store.clone();
    let deletion = tokio::spawn(async move { store.delete_endpoint(&hook.id, at(2)).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !deletion.is_finished(),
        "the deletion did not wait for the writer"
    );
    first.batch_execute("COMMIT").await.unwrap();
    let deleted = tokio::time::timeout(PROMPTLY, deletion)
        .await
        .expect("deletion");
    assert!(deleted.unwrap().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_in_another_database_does_not_hold_the_list_back() {
    let Some(db) = TestDb::postgres(true).await else {
        return;
    };
    let admin = payport_test_support::db::admin_url();
    let mut elsewhere = AsyncPgConnection::establish(&admin).await.expect("raw pg");
    // A transaction with an id, older than the event below, open in another database.
    elsewhere
        .batch_execute("BEGIN; SELECT pg_current_xact_id();")
        .await
        .unwrap();
    let event = close_order(&db.store, "o1").await.to_string();
    assert_eq!(listed(&all_events(&db.store).await), [event.as_str()]);
    elsewhere.batch_execute("ROLLBACK").await.unwrap();
}
