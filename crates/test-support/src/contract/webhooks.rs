//! Webhook endpoints: the fan-out of each event to the active endpoints that want it,
//! deleting one, and the endpoint configuration sets.

use std::time::Duration;

use payport_domain::event::EventType;
use payport_domain::ports::{DeliveryQueue, EventLog, OrderRepository, WebhookEndpoints};
use payport_domain::webhook::{
    DeliveryAttempt, DeliveryNext, DeliveryStatus, WebhookEndpoint, WebhookSecret,
};
use payport_domain::{EndpointId, EventId, RepoError};

use super::fixtures::{all_events, at, close_order, event, pay_closed_order, pending_order};
use super::StoreUnderTest;

const LEASE: Duration = Duration::from_secs(60);

/// An endpoint created at `at(created)`.
pub fn endpoint(id: &str, types: Option<Vec<EventType>>, created: i64) -> WebhookEndpoint {
    WebhookEndpoint {
        id: EndpointId::parse(id).unwrap(),
        url: format!("https://shop.example/hooks/{id}"),
        secret: WebhookSecret::new(format!("whsec_{id}")),
        event_types: types,
        configured: false,
        created_at: at(created),
    }
}

/// `(endpoint id, status)` of each delivery of the event.
async fn deliveries_of<S: EventLog + ?Sized>(
    store: &S,
    id: &EventId,
) -> Vec<(String, DeliveryStatus)> {
    store
        .deliveries(id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.endpoint_id.to_string(), d.status))
        .collect()
}

pub async fn events_fan_out_to_the_active_endpoints_that_want_them<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let everything = endpoint("we_all", None, 1);
    let payments = endpoint("we_paid", Some(vec![EventType::OrderPaid]), 2);
    let several = endpoint(
        "we_some",
        Some(vec![
            EventType::OrderPartiallyRefunded,
            EventType::OrderClosed,
        ]),
        3,
    );
    let gone = endpoint("we_gone", None, 0);
    for e in [&several, &everything, &payments, &gone] {
        store.create_endpoint(e).await.unwrap();
    }
    assert!(store.delete_endpoint(&gone.id, at(5)).await.unwrap());
    assert!(matches!(
        store.create_endpoint(&everything).await,
        Err(RepoError::Duplicate(_))
    ));
    assert!(matches!(
        store.create_endpoint(&gone).await,
        Err(RepoError::Duplicate(_))
    ));
    assert_eq!(
        store.list_endpoints().await.unwrap(),
        [everything.clone(), payments.clone(), several.clone()],
        "active endpoints, oldest first, every field kept"
    );

    let closed = close_order(store, "o1").await;
    let paid = pay_closed_order(store, "o1").await;
    use DeliveryStatus::Pending;
    assert_eq!(
        deliveries_of(store, &closed).await,
        [("we_all".into(), Pending), ("we_some".into(), Pending)]
    );
    assert_eq!(
        deliveries_of(store, &paid).await,
        [("we_all".into(), Pending), ("we_paid".into(), Pending)]
    );
    let record = &store.deliveries(&paid).await.unwrap()[1];
    assert_eq!(record.url, payments.url);
    assert_eq!(record.next_attempt_at, Some(at(500)), "due when written");
    assert!(record.attempts.is_empty());

    // An endpoint made later gets later events only.
    store
        .create_endpoint(&endpoint("we_late", None, 600))
        .await
        .unwrap();
    assert_eq!(deliveries_of(store, &closed).await.len(), 2);
    let other = close_order(store, "o2").await;
    assert_eq!(
        deliveries_of(store, &other).await,
        [
            ("we_all".into(), Pending),
            ("we_some".into(), Pending),
            ("we_late".into(), Pending)
        ]
    );
}

/// One save's events go in together: each reaches exactly the endpoints whose lists
/// name its type (whole names: `order.refunded` is not `order.partially_refunded`), in
/// the endpoints' order.
pub async fn each_event_of_one_save_reaches_the_endpoints_that_want_it<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let everything = endpoint("we_all", None, 1);
    let partial = endpoint("we_part", Some(vec![EventType::OrderPartiallyRefunded]), 2);
    let closing = endpoint(
        "we_close",
        Some(vec![EventType::OrderClosed, EventType::OrderPaid]),
        3,
    );
    for e in [&closing, &partial, &everything] {
        store.create_endpoint(e).await.unwrap();
    }
    let orders: &dyn OrderRepository = store;
    let pending = pending_order("o1", 100);
    orders.insert(&pending).await.unwrap();
    let mut closed = pending;
    closed.close(at(10)).unwrap();
    let events = [
        event(EventType::OrderClosed, "o1"),
        event(EventType::OrderPartiallyRefunded, "o1"),
        event(EventType::OrderRefunded, "o1"),
    ];
    orders.update(&closed, &events).await.unwrap();

    use DeliveryStatus::Pending;
    let wanted: [&[&str]; 3] = [&["we_all", "we_close"], &["we_all", "we_part"], &["we_all"]];
    for (event, wanted) in events.iter().zip(wanted) {
        let got = deliveries_of(store, &event.id).await;
        let want: Vec<(String, DeliveryStatus)> =
            wanted.iter().map(|id| (id.to_string(), Pending)).collect();
        assert_eq!(got, want, "{}", event.event_type.as_str());
    }
    let stored: Vec<String> = all_events(store)
        .await
        .into_iter()
        .map(|e| e.id.to_string())
        .collect();
    let written: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(stored, written, "listed in the order the save gave them");
}

pub async fn a_deleted_endpoint_gets_nothing_new_and_its_pending_deliveries_fail<
    D: StoreUnderTest,
>(
    db: &D,
) {
    let store = db.store();
    let doomed = endpoint("we_doomed", None, 1);
    let kept = endpoint("we_kept", None, 2);
    store.create_endpoint(&doomed).await.unwrap();
    store.create_endpoint(&kept).await.unwrap();
    let delivered = close_order(store, "o1").await;
    let pending = close_order(store, "o2").await;
    // The first event reached both; the second is in flight to the doomed one.
    let due = store
        .claim_due_deliveries(at(500), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(due.len(), 4);
    let answered = DeliveryAttempt {
        at: at(501),
        status_code: Some(200),
        error: None,
        duration_ms: 12,
    };
    let in_flight = due
        .iter()
        .find(|d| d.event_id == pending && d.url == doomed.url)
        .unwrap()
        .clone();
    for d in due.iter().filter(|d| d.event_id == delivered) {
        store
            .record_attempt(d, &answered, DeliveryNext::Delivered)
            .await
            .unwrap();
    }

    assert!(store.delete_endpoint(&doomed.id, at(502)).await.unwrap());
    assert!(!store.delete_endpoint(&doomed.id, at(503)).await.unwrap());
    let nobody = EndpointId::parse("we_nobody").unwrap();
    assert!(!store.delete_endpoint(&nobody, at(503)).await.unwrap());
    assert_eq!(
        store.list_endpoints().await.unwrap(),
        std::slice::from_ref(&kept)
    );

    // Delivered stays delivered; pending failed, saying why.
    use DeliveryStatus::{Delivered, Failed, Pending};
    assert_eq!(
        deliveries_of(store, &delivered).await,
        [
            ("we_doomed".into(), Delivered),
            ("we_kept".into(), Delivered)
        ]
    );
    let failed = &store.deliveries(&pending).await.unwrap()[0];
    assert_eq!(failed.status, Failed);
    assert_eq!(failed.next_attempt_at, None);
    let last = failed.attempts.last().unwrap();
    assert_eq!(last.status_code, None);
    assert_eq!(last.error.as_deref(), Some("endpoint deleted"));
    assert_eq!(last.at, at(502));

    // The attempt in flight is recorded; a failure does not revive the delivery.
    let timeout = DeliveryAttempt {
        at: at(504),
        status_code: None,
        error: Some("timed out".into()),
        duration_ms: 5_000,
    };
    store
        .record_attempt(&in_flight, &timeout, DeliveryNext::RetryAt(at(520)))
        .await
        .unwrap();
    let failed = &store.deliveries(&pending).await.unwrap()[0];
    assert_eq!((failed.status, failed.attempts.len()), (Failed, 2));

    // Nothing new for it, and nothing of it to claim.
    let later = close_order(store, "o3").await;
    assert_eq!(
        deliveries_of(store, &later).await,
        [("we_kept".into(), Pending)]
    );
    let due = store
        .claim_due_deliveries(at(9_000), 10, LEASE)
        .await
        .unwrap();
    assert!(due.iter().all(|d| d.url == kept.url), "{due:?}");
}

pub async fn the_configured_endpoint_follows_configuration<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let configured = |url: &str, secret: &str| Some((url.to_owned(), WebhookSecret::new(secret)));
    store
        .set_configured_endpoint(configured("https://a.example/h", "whsec_a"), at(1))
        .await
        .unwrap();
    // Again, from another instance at the same time: still one endpoint.
    let other = db.another_instance().await;
    let (a, b) = tokio::join!(
        store.set_configured_endpoint(configured("https://a.example/h", "whsec_a"), at(2)),
        other.set_configured_endpoint(configured("https://a.example/h", "whsec_a"), at(2)),
    );
    a.unwrap();
    b.unwrap();
    let expected = WebhookEndpoint {
        id: EndpointId::parse(WebhookEndpoint::CONFIGURED_ID).unwrap(),
        url: "https://a.example/h".into(),
        secret: WebhookSecret::new("whsec_a"),
        event_types: None,
        configured: true,
        created_at: at(1),
    };
    assert_eq!(
        store.list_endpoints().await.unwrap(),
        std::slice::from_ref(&expected)
    );

    // A new URL and secret: pending deliveries go there, signed with the new secret.
    let closed = close_order(store, "o1").await;
    store
        .set_configured_endpoint(configured("https://b.example/h", "whsec_b"), at(3))
        .await
        .unwrap();
    let due = store
        .claim_due_deliveries(at(500), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].event_id, closed);
    assert_eq!(due[0].url, "https://b.example/h");
    assert_eq!(due[0].secret, WebhookSecret::new("whsec_b"));

    // No more configuration: deleted, its pending delivery failed; twice is harmless.
    store.set_configured_endpoint(None, at(4)).await.unwrap();
    store.set_configured_endpoint(None, at(5)).await.unwrap();
    assert!(store.list_endpoints().await.unwrap().is_empty());
    let record = &store.deliveries(&closed).await.unwrap()[0];
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(close_order(store, "o2").await.as_str().starts_with("evt_"));
    assert!(store
        .claim_due_deliveries(at(9_000), 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    // Configured again: back, for events from then on.
    store
        .set_configured_endpoint(configured("https://c.example/h", "whsec_c"), at(6))
        .await
        .unwrap();
    let listed = store.list_endpoints().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].url, "https://c.example/h");
    assert_eq!(listed[0].event_types, None);
    let later = close_order(store, "o3").await;
    let due = store
        .claim_due_deliveries(at(9_000), 10, LEASE)
        .await
        .unwrap();
    let events: Vec<_> = due.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(events, [later]);
}
