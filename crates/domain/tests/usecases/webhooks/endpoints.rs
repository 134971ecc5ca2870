//! Endpoints: created with a fresh id and secret, refused (and not stored) with a URL
//! that is not absolute http(s); deleted; and the one configuration names.

use super::Mocks;
use crate::support::t0;
use payport_domain::error::RepoError;
use payport_domain::event::EventType;
use payport_domain::ids::EndpointId;
use payport_domain::usecases::ServiceError;
use payport_domain::webhook::{WebhookEndpoint, WebhookSecret};

fn fresh_ids(m: &mut Mocks) {
    m.ids
        .expect_endpoint_id()
        .returning(|| EndpointId::parse("we_1").unwrap());
    m.ids
        .expect_webhook_secret()
        .returning(|| WebhookSecret::new("whsec_fresh"));
}

/// URLs a shop could not be called at, or that are not http(s) at all.
fn bad_urls() -> Vec<String> {
    [
        "ftp://shop.example/hook",
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "/webhooks",
        "shop.example/hook",
        "https://",
        "",
        "https://shop.example/a b",
        "https://shop.example/\nhook",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!("https://shop.example/{}", "a".repeat(1024))])
    .collect()
}

#[tokio::test]
async fn a_new_endpoint_gets_its_id_and_secret_from_the_id_source() {
    let mut m = Mocks::new();
    fresh_ids(&mut m);
    let expected = WebhookEndpoint {
        id: EndpointId::parse("we_1").unwrap(),
        url: "https://shop.example/hook".into(),
        secret: WebhookSecret::new("whsec_fresh"),
        event_types: None,
        configured: false,
        created_at: t0(),
    };
    let stored = expected.clone();
    m.endpoints
        .expect_create_endpoint()
        .withf(move |e| *e == stored)
        .times(1)
        .returning(|_| Ok(()));
    let created = m
        .build()
        .create_endpoint("https://shop.example/hook".into(), None)
        .await
        .unwrap();
    assert_eq!(created, expected);
}

#[tokio::test]
async fn event_types_named_twice_are_stored_once() {
    let mut m = Mocks::new();
    fresh_ids(&mut m);
    m.endpoints
        .expect_create_endpoint()
        .withf(|e| {
            let types = e.event_types.as_deref().unwrap();
            types.len() == 2
                && types.contains(&EventType::OrderPaid)
                && types.contains(&EventType::RefundSucceeded)
        })
        .times(1)
        .returning(|_| Ok(()));
    let wanted = vec![
        EventType::RefundSucceeded,
        EventType::OrderPaid,
        EventType::RefundSucceeded,
    ];
    let created = m
        .build()
        .create_endpoint("http://127.0.0.1:9000/hook".into(), Some(wanted))
        .await
        .unwrap();
    assert_eq!(created.event_types.unwrap().len(), 2);
}

#[tokio::test]
async fn a_url_that_is_not_absolute_http_is_refused_and_nothing_is_stored() {
    for url in bad_urls() {
        let mut m = Mocks::new();
        fresh_ids(&mut m);
        m.endpoints.expect_create_endpoint().never();
        let err = m
            .build()
            .create_endpoint(url.clone(), None)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Validation(_)), "{url:?}: {err}");
        assert_eq!(err.code(), "VALIDATION_FAILED");
    }
}

#[tokio::test]
async fn an_empty_list_of_event_types_is_refused_and_nothing_is_stored() {
    let mut m = Mocks::new();
    fresh_ids(&mut m);
    m.endpoints.expect_create_endpoint().never();
    let err = m
        .build()
        .create_endpoint("https://shop.example/hook".into(), Some(Vec::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Validation(_)), "{err}");
}

#[tokio::test]
async fn deleting_an_unknown_endpoint_is_endpoint_not_found() {
    let mut m = Mocks::new();
    m.endpoints
        .expect_delete_endpoint()
        .withf(|id, now| id.as_str() == "we_404" && *now == t0())
        .times(1)
        .returning(|_, _| Ok(false));
    let id = EndpointId::parse("we_404").unwrap();
    let err = m.build().delete_endpoint(&id).await.unwrap_err();
    assert_eq!(err, ServiceError::EndpointNotFound(id));
    assert_eq!(err.code(), "WEBHOOK_ENDPOINT_NOT_FOUND");

    let mut m = Mocks::new();
    m.endpoints
        .expect_delete_endpoint()
        .times(1)
        .returning(|_, _| Ok(true));
    let known = EndpointId::parse("we_1").unwrap();
    m.build().delete_endpoint(&known).await.unwrap();
}

#[tokio::test]
async fn the_configured_endpoint_needs_an_http_url_and_a_secret() {
    for url in bad_urls() {
        let mut m = Mocks::new();
        m.endpoints.expect_set_configured_endpoint().never();
        let err = m
            .build()
            .configure(Some((url.clone(), WebhookSecret::new("s"))))
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Validation(_)), "{url:?}: {err}");
    }
    for secret in ["", "  "] {
        let mut m = Mocks::new();
        m.endpoints.expect_set_configured_endpoint().never();
        let blank = (
            "https://shop.example/hook".into(),
            WebhookSecret::new(secret),
        );
        let err = m.build().configure(Some(blank)).await.unwrap_err();
        assert!(
            matches!(err, ServiceError::Validation(_)),
            "{secret:?}: {err}"
        );
    }
    let mut m = Mocks::new();
    m.endpoints
        .expect_set_configured_endpoint()
        .withf(|endpoint, now| {
            endpoint.as_ref().map(|(url, s)| (url.as_str(), s.expose()))
                == Some(("https://shop.example/hook", "s"))
                && *now == t0()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let configured = ("https://shop.example/hook".into(), WebhookSecret::new("s"));
    m.build().configure(Some(configured)).await.unwrap();
}

#[tokio::test]
async fn no_configured_url_removes_the_configured_endpoint() {
    let mut m = Mocks::new();
    m.endpoints
        .expect_set_configured_endpoint()
        .withf(|endpoint, _| endpoint.is_none())
        .times(1)
        .returning(|_, _| Ok(()));
    m.build().configure(None).await.unwrap();
}

#[tokio::test]
async fn a_store_that_cannot_keep_the_endpoint_is_reported() {
    let mut m = Mocks::new();
    fresh_ids(&mut m);
    m.endpoints
        .expect_create_endpoint()
        .returning(|_| Err(RepoError::Unavailable("disk full".into())));
    let err = m
        .build()
        .create_endpoint("https://shop.example/hook".into(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "STORAGE_UNAVAILABLE");
}

#[tokio::test]
async fn the_endpoints_listed_are_the_stored_ones() {
    let mut m = Mocks::new();
    let stored = WebhookEndpoint {
        id: EndpointId::parse("we_1").unwrap(),
        url: "https://shop.example/hook".into(),
        secret: WebhookSecret::new("whsec_1"),
        event_types: Some(vec![EventType::OrderPaid]),
        configured: false,
        created_at: t0(),
    };
    let listed = vec![stored.clone()];
    m.endpoints
        .expect_list_endpoints()
        .times(1)
        .returning(move || Ok(listed.clone()));
    assert_eq!(m.build().list_endpoints().await.unwrap(), vec![stored]);
}
