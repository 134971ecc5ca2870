//! The events API: pages of 1 to 100 events after a cursor payport issued; one event
//! with its deliveries; sending one again.

use super::Mocks;
use crate::support::t0;
use payport_domain::error::RepoError;
use payport_domain::event::EventType;
use payport_domain::ids::{EndpointId, EventId};
use payport_domain::ports::{EventFilter, Page, StoredEvent};
use payport_domain::usecases::{ServiceError, MAX_EVENTS_PER_PAGE};
use payport_domain::webhook::{DeliveryRecord, DeliveryStatus};

fn evt(id: &str) -> EventId {
    EventId::parse(id).unwrap()
}

fn stored(id: &str) -> StoredEvent {
    StoredEvent {
        id: evt(id),
        event_type: EventType::OrderPaid,
        object_id: "o1".into(),
        created_at: t0(),
        body: format!(r#"{{"id":"{id}"}}"#),
    }
}

fn filter(limit: u32) -> EventFilter {
    EventFilter {
        limit,
        ..EventFilter::default()
    }
}

#[tokio::test]
async fn a_page_holds_1_to_100_events() {
    for limit in [0, MAX_EVENTS_PER_PAGE + 1, u32::MAX] {
        let mut m = Mocks::new();
        m.events.expect_list_events().never();
        let err = m.build().list_events(&filter(limit)).await.unwrap_err();
        assert!(matches!(err, ServiceError::Validation(_)), "{limit}: {err}");
    }
    for limit in [1, MAX_EVENTS_PER_PAGE] {
        let mut m = Mocks::new();
        let mut asked = filter(limit);
        asked.event_type = Some(EventType::RefundSucceeded);
        asked.object_id = Some("rf_1".into());
        asked.after = Some(evt("evt_1"));
        let expected = asked.clone();
        m.events
            .expect_list_events()
            .withf(move |f| *f == expected)
            .times(1)
            .returning(|_| {
                Ok(Page {
                    items: vec![stored("evt_2")],
                    next_cursor: None,
                })
            });
        let page = m.build().list_events(&asked).await.unwrap();
        assert_eq!(page.items, vec![stored("evt_2")]);
    }
}

#[tokio::test]
async fn a_cursor_that_names_no_event_is_not_found() {
    let mut m = Mocks::new();
    m.events
        .expect_list_events()
        .returning(|_| Err(RepoError::NotFound("event evt_nope".into())));
    let mut asked = filter(10);
    asked.after = Some(evt("evt_nope"));
    let err = m.build().list_events(&asked).await.unwrap_err();
    // As the event's own path answers it: a well-formed id of nothing.
    assert_eq!(err, ServiceError::EventNotFound(evt("evt_nope")));

    let mut m = Mocks::new();
    m.events
        .expect_list_events()
        .returning(|_| Err(RepoError::Unavailable("down".into())));
    let err = m.build().list_events(&filter(10)).await.unwrap_err();
    assert_eq!(err.code(), "STORAGE_UNAVAILABLE");
}

#[tokio::test]
async fn an_unknown_event_is_event_not_found() {
    let mut m = Mocks::new();
    m.events.expect_get_event().times(1).returning(|_| Ok(None));
    m.events.expect_deliveries().never();
    let err = m.build().get_event(&evt("evt_404")).await.unwrap_err();
    assert_eq!(err, ServiceError::EventNotFound(evt("evt_404")));
    assert_eq!(err.code(), "EVENT_NOT_FOUND");
}

#[tokio::test]
async fn an_event_is_shown_with_its_deliveries() {
    let delivery = DeliveryRecord {
        endpoint_id: EndpointId::parse("we_1").unwrap(),
        url: "https://shop.example/hook".into(),
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(t0()),
        attempts: Vec::new(),
    };
    let mut m = Mocks::new();
    m.events
        .expect_get_event()
        .returning(|id| Ok(Some(stored(id.as_str()))));
    let shown = delivery.clone();
    m.events
        .expect_deliveries()
        .withf(|id| id.as_str() == "evt_1")
        .returning(move |_| Ok(vec![shown.clone()]));
    let got = m.build().get_event(&evt("evt_1")).await.unwrap();
    assert_eq!(got, (stored("evt_1"), vec![delivery]));
}

#[tokio::test]
async fn redelivering_an_unknown_event_is_event_not_found() {
    let mut m = Mocks::new();
    m.events
        .expect_redeliver()
        .withf(|id, now| id.as_str() == "evt_404" && *now == t0())
        .times(1)
        .returning(|_, _| Ok(false));
    let err = m.build().redeliver(&evt("evt_404")).await.unwrap_err();
    assert_eq!(err, ServiceError::EventNotFound(evt("evt_404")));

    let mut m = Mocks::new();
    m.events
        .expect_redeliver()
        .times(1)
        .returning(|_, _| Ok(true));
    m.build().redeliver(&evt("evt_1")).await.unwrap();
}
