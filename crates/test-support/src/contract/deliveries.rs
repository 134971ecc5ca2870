//! Delivering: claims of due deliveries (never one delivery to two senders at once),
//! recording attempts and what follows them, redelivering an event, and the backlog.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use payport_domain::ports::{DeliveryBacklog, DeliveryQueue, EventLog, WebhookEndpoints};
use payport_domain::webhook::{
    DeliveryAttempt, DeliveryNext, DeliveryStatus, DueDelivery, WebhookSecret,
};
use payport_domain::{EndpointId, EventId, RepoError};

use super::fixtures::{at, close_order};
use super::webhooks::endpoint;
use super::{four_at_once, StoreUnderTest};

const LEASE: Duration = Duration::from_secs(60);

/// Claims every delivery due at `secs`, for [`LEASE`].
async fn due_at<S: DeliveryQueue + ?Sized>(store: &S, secs: i64) -> Vec<DueDelivery> {
    store
        .claim_due_deliveries(at(secs), 10, LEASE)
        .await
        .unwrap()
}

fn attempt(secs: i64, status_code: Option<u16>, error: Option<&str>) -> DeliveryAttempt {
    DeliveryAttempt {
        at: at(secs),
        status_code,
        error: error.map(str::to_owned),
        duration_ms: secs,
    }
}

pub async fn due_deliveries_are_claimed_once_per_lease<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let hook = endpoint("we_1", None, 1);
    store.create_endpoint(&hook).await.unwrap();
    let first = close_order(store, "o1").await;
    let second = close_order(store, "o2").await;

    // Not due before the events were written.
    assert!(due_at(store, 499).await.is_empty());
    let claimed = store.claim_due_deliveries(at(500), 1, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let due = &claimed[0];
    assert_eq!(due.event_id, first, "oldest due first");
    assert_eq!(due.url, hook.url);
    assert_eq!(due.secret, WebhookSecret::new("whsec_we_1"));
    assert_eq!(due.body, "order.closed o1 closed v1 refunds=0");
    assert_eq!((due.attempts, due.since), (0, at(500)));
    let rest = due_at(store, 500).await;
    let rest: Vec<_> = rest.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(rest, std::slice::from_ref(&second));
    assert!(due_at(store, 559).await.is_empty());
    assert!(store
        .claim_due_deliveries(at(600), 0, LEASE)
        .await
        .unwrap()
        .is_empty());

    // The sender died: once the lease runs out, both are due again.
    let again = due_at(store, 560).await;
    let again: Vec<_> = again.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(again, [first, second]);
}

/// Claims until nothing is left, returning the deliveries this claimer got.
async fn drain<S: DeliveryQueue + ?Sized>(store: Arc<S>) -> Vec<i64> {
    let mut mine = Vec::new();
    loop {
        let batch = store
            .claim_due_deliveries(at(1_000), 3, LEASE)
            .await
            .unwrap();
        if batch.is_empty() {
            return mine;
        }
        mine.extend(batch.into_iter().map(|d| d.delivery_id));
    }
}

pub async fn concurrent_delivery_claimers_never_share_a_delivery<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    store
        .create_endpoint(&endpoint("we_1", None, 1))
        .await
        .unwrap();
    store
        .create_endpoint(&endpoint("we_2", None, 2))
        .await
        .unwrap();
    for i in 0..15 {
        close_order(store, &format!("o{i}")).await;
    }
    let all = four_at_once(db, |_, store| drain(store)).await;
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(
        all.len(),
        30,
        "every delivery claimed exactly once: {all:?}"
    );
    assert_eq!(unique.len(), 30);
}

pub async fn attempts_are_recorded_with_what_follows<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    store
        .create_endpoint(&endpoint("we_1", None, 1))
        .await
        .unwrap();
    let retried = close_order(store, "o1").await;
    let given_up = close_order(store, "o2").await;
    let claimed = due_at(store, 500).await;
    let (a, b) = (&claimed[0], &claimed[1]);

    // A 500: retried at the time given, not before, and claimable again then.
    let refused = attempt(501, Some(500), Some("HTTP 500"));
    store
        .record_attempt(a, &refused, DeliveryNext::RetryAt(at(511)))
        .await
        .unwrap();
    assert!(due_at(store, 510).await.is_empty());
    let again = due_at(store, 511).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].delivery_id, again[0].attempts),
        (a.delivery_id, 1)
    );
    assert_eq!(
        again[0].since,
        at(500),
        "the schedule still counts from the start"
    );
    let ok = attempt(512, Some(204), None);
    store
        .record_attempt(&again[0], &ok, DeliveryNext::Delivered)
        .await
        .unwrap();

    // Refused connections until the schedule gives up: failed, and stays visible.
    let refused_conn = attempt(502, None, Some("connection refused"));
    store
        .record_attempt(b, &refused_conn, DeliveryNext::GiveUp)
        .await
        .unwrap();
    assert!(due_at(store, 99_999).await.is_empty());

    let record = &store.deliveries(&retried).await.unwrap()[0];
    assert_eq!(record.status, DeliveryStatus::Delivered);
    assert_eq!(record.next_attempt_at, None);
    assert_eq!(record.attempts, [refused, ok], "oldest first, as sent");
    let record = &store.deliveries(&given_up).await.unwrap()[0];
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.next_attempt_at, None);
    assert_eq!(record.attempts, [refused_conn]);

    let nowhere = DueDelivery {
        delivery_id: 999_999,
        ..a.clone()
    };
    assert!(matches!(
        store
            .record_attempt(
                &nowhere,
                &attempt(600, Some(200), None),
                DeliveryNext::Delivered
            )
            .await,
        Err(RepoError::NotFound(_))
    ));
}

pub async fn redeliver_sends_an_event_again_from_now<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    store
        .create_endpoint(&endpoint("we_ok", None, 1))
        .await
        .unwrap();
    store
        .create_endpoint(&endpoint("we_down", None, 2))
        .await
        .unwrap();
    store
        .create_endpoint(&endpoint("we_gone", None, 3))
        .await
        .unwrap();
    let closed = close_order(store, "o1").await;
    let claimed = due_at(store, 500).await;
    let by_url = |part: &str| claimed.iter().find(|d| d.url.contains(part)).unwrap();
    store
        .record_attempt(
            by_url("we_ok"),
            &attempt(501, Some(200), None),
            DeliveryNext::Delivered,
        )
        .await
        .unwrap();
    store
        .record_attempt(
            by_url("we_down"),
            &attempt(502, Some(503), Some("HTTP 503")),
            DeliveryNext::GiveUp,
        )
        .await
        .unwrap();
    let gone = endpoint("we_gone", None, 3).id;
    assert!(store.delete_endpoint(&gone, at(503)).await.unwrap());
    store
        .create_endpoint(&endpoint("we_new", None, 600))
        .await
        .unwrap();

    assert!(store.redeliver(&closed, at(700)).await.unwrap());
    let records = store.deliveries(&closed).await.unwrap();
    let seen: Vec<_> = records
        .iter()
        .map(|d| {
            (
                d.endpoint_id.to_string(),
                d.status,
                d.next_attempt_at,
                d.attempts.len(),
            )
        })
        .collect();
    use DeliveryStatus::{Failed, Pending};
    assert_eq!(
        seen,
        [
            ("we_ok".into(), Pending, Some(at(700)), 1),
            ("we_down".into(), Pending, Some(at(700)), 1),
            ("we_gone".into(), Failed, None, 1),
            ("we_new".into(), Pending, Some(at(700)), 0),
        ],
        "attempts are kept; a deleted endpoint's delivery stays failed"
    );
    let due = due_at(store, 700).await;
    assert_eq!(due.len(), 3);
    assert!(due
        .iter()
        .all(|d| d.event_id == closed && d.attempts == 0 && d.since == at(700)));

    let nothing = EventId::parse("evt_nope").unwrap();
    assert!(!store.redeliver(&nothing, at(700)).await.unwrap());
}

/// One endpoint, one event for it, and its delivery claimed at 500.
async fn one_claimed<S: StoreUnderTest>(db: &S) -> (EventId, DueDelivery) {
    let store = db.store();
    store
        .create_endpoint(&endpoint("we_1", None, 1))
        .await
        .unwrap();
    let closed = close_order(store, "o1").await;
    (closed, due_at(store, 500).await.remove(0))
}

pub async fn a_late_record_under_a_lapsed_claim_changes_nothing_but_the_history<
    D: StoreUnderTest,
>(
    db: &D,
) {
    let store = db.store();
    let (closed, slow) = one_claimed(db).await;
    // The slow sender's lease runs out; another one takes the delivery over.
    let taker = due_at(store, 560).await.remove(0);
    assert_eq!(taker.delivery_id, slow.delivery_id);

    // The slow sender's outcome arrives: kept, but the delivery stays the taker's,
    // neither failed nor released to a third sender.
    let late = attempt(565, None, Some("timed out"));
    store
        .record_attempt(&slow, &late, DeliveryNext::GiveUp)
        .await
        .unwrap();
    assert!(due_at(store, 566).await.is_empty());
    let record = &store.deliveries(&closed).await.unwrap()[0];
    assert_eq!(
        (record.status, record.next_attempt_at),
        (DeliveryStatus::Pending, Some(at(500)))
    );
    assert_eq!(record.attempts, std::slice::from_ref(&late));

    // The taker's outcome is the one that moves it.
    let refused = attempt(570, Some(500), Some("HTTP 500"));
    store
        .record_attempt(&taker, &refused, DeliveryNext::RetryAt(at(580)))
        .await
        .unwrap();
    let record = &store.deliveries(&closed).await.unwrap()[0];
    assert_eq!(record.next_attempt_at, Some(at(580)));
    assert_eq!(record.attempts, [late, refused]);
    let next = due_at(store, 580).await;
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].attempts, 1, "the late attempt did not count");
}

pub async fn an_attempt_in_flight_during_a_redelivery_cannot_undo_it<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let (closed, first) = one_claimed(db).await;
    let refused = attempt(501, Some(500), Some("HTTP 500"));
    store
        .record_attempt(&first, &refused, DeliveryNext::RetryAt(at(510)))
        .await
        .unwrap();
    let in_flight = due_at(store, 510).await.remove(0);
    assert_eq!(in_flight.attempts, 1);

    // Redelivered while the second attempt is in flight, which then fails and, by
    // the old schedule, gives up.
    assert!(store.redeliver(&closed, at(520)).await.unwrap());
    let timed_out = attempt(530, None, Some("timed out"));
    store
        .record_attempt(&in_flight, &timed_out, DeliveryNext::GiveUp)
        .await
        .unwrap();
    let record = &store.deliveries(&closed).await.unwrap()[0];
    assert_eq!(
        (record.status, record.next_attempt_at),
        (DeliveryStatus::Pending, Some(at(520))),
        "still redelivered"
    );
    assert_eq!(record.attempts, [refused, timed_out]);

    // No second send joins the one in flight; once its lease ends, the redelivery
    // goes out, its schedule counting from the redelivery.
    assert!(due_at(store, 569).await.is_empty());
    let again = due_at(store, 570).await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].attempts, again[0].since), (0, at(520)));
}

/// The backlog is what a claim would take: due, pending, unclaimed deliveries to
/// active endpoints, and the earliest time one of them fell due.
pub async fn the_delivery_backlog_is_what_a_claim_would_take<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let backlog = |secs| async move { store.delivery_backlog(at(secs)).await.unwrap() };
    let none = DeliveryBacklog::default();
    assert_eq!(backlog(500).await, none);
    store
        .create_endpoint(&endpoint("we_1", None, 1))
        .await
        .unwrap();
    close_order(store, "o1").await;
    close_order(store, "o2").await;
    assert_eq!(backlog(499).await, none, "not due before it was written");
    let both = DeliveryBacklog {
        due: 2,
        oldest_due_at: Some(at(500)),
    };
    assert_eq!(backlog(500).await, both);

    // One claimed and retried later: only the other is due until then.
    let claimed = store.claim_due_deliveries(at(500), 1, LEASE).await.unwrap();
    let one = DeliveryBacklog { due: 1, ..both };
    assert_eq!(backlog(500).await, one, "a claimed delivery is not due");
    let refused = attempt(501, Some(500), Some("HTTP 500"));
    store
        .record_attempt(&claimed[0], &refused, DeliveryNext::RetryAt(at(700)))
        .await
        .unwrap();
    assert_eq!(backlog(699).await, one);
    assert_eq!(backlog(700).await, both);

    // Claimed by a sender that died: due again once its lease runs out.
    assert_eq!(due_at(store, 700).await.len(), 2);
    assert_eq!(backlog(759).await, none);
    assert_eq!(backlog(760).await, both);
    assert_eq!(
        backlog(760).await.due,
        due_at(store, 760).await.len() as u64
    );

    // Nothing is due to a deleted endpoint (its deliveries failed).
    store
        .delete_endpoint(&EndpointId::parse("we_1").unwrap(), at(900))
        .await
        .unwrap();
    assert_eq!(backlog(99_999).await, none);
}
