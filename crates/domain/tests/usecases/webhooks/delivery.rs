//! One delivery attempt: a 2xx is delivered; anything else (another status, a
//! timeout, a refused connection) is retried after 10 s, then twice as long each time,
//! at most an hour apart, until three days after the delivery started.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::Mocks;
use crate::support::t0;
use payport_domain::error::RepoError;
use payport_domain::ids::EventId;
use payport_domain::ports::MockClock;
use payport_domain::webhook::{DeliveryAttempt, DeliveryNext, DueDelivery, WebhookSecret};

/// The delivery after `attempts` failed attempts, started at `since`.
fn due(attempts: u32, since: DateTime<Utc>) -> DueDelivery {
    DueDelivery {
        delivery_id: 7,
        event_id: EventId::parse("evt_1").unwrap(),
        endpoint_id: payport_domain::EndpointId::parse("we_1").unwrap(),
        body: r#"{"id":"evt_1"}"#.into(),
        url: "https://shop.example/hook".into(),
        secret: WebhookSecret::new("whsec_x"),
        attempts,
        since,
        claim: 3,
    }
}

/// The attempt's outcome when the endpoint answers `status` (`None`: nothing came back).
fn answered(status: Option<u16>) -> DeliveryAttempt {
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    DeliveryAttempt {
        at: now(),
        status_code: status,
        error: (!delivered).then(|| format!("answered {status:?}")),
        duration_ms: 12,
    }
}

fn now() -> DateTime<Utc> {
    t0() + Duration::hours(5)
}

/// Sends `delivery`, to which the endpoint answers `status`, and checks that exactly
/// that attempt is recorded with what the use case returns.
async fn attempt(delivery: DueDelivery, status: Option<u16>) -> DeliveryNext {
    let mut m = Mocks::new();
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    m.clock = Some(clock);
    let sent = delivery.clone();
    m.sender
        .expect_send()
        .withf(move |d| *d == sent)
        .times(1)
        .returning(move |_| answered(status));
    let recorded = std::sync::Arc::new(std::sync::Mutex::new(None));
    let keep = recorded.clone();
    m.deliveries
        .expect_record_attempt()
        .withf(move |claimed, a, _| {
            // Under the claim it was sent under, so a replaced claim cannot move it.
            (claimed.delivery_id, claimed.claim) == (7, 3) && *a == answered(status)
        })
        .times(1)
        .returning(move |_, _, next| {
            *keep.lock().unwrap() = Some(next);
            Ok(())
        });
    let next = m.build().deliver(&delivery).await.unwrap();
    assert_eq!(
        *recorded.lock().unwrap(),
        Some(next),
        "recorded as returned"
    );
    next
}

fn retry_in(seconds: i64) -> DeliveryNext {
    DeliveryNext::RetryAt(now() + Duration::seconds(seconds))
}

#[tokio::test]
async fn a_2xx_answer_is_delivered() {
    for status in [200, 201, 204, 299] {
        let next = attempt(due(0, now()), Some(status)).await;
        assert_eq!(next, DeliveryNext::Delivered, "{status}");
    }
    // Even the last attempt the schedule allows.
    let next = attempt(due(40, now() - Duration::days(3)), Some(200)).await;
    assert_eq!(next, DeliveryNext::Delivered);
}

#[tokio::test]
async fn a_first_failure_is_retried_after_ten_seconds_then_twice_as_long_each_time() {
    for (failed_before, delay) in [(0, 10), (1, 20), (2, 40), (3, 80), (8, 2560)] {
        let next = attempt(due(failed_before, now()), Some(500)).await;
        assert_eq!(next, retry_in(delay), "after {failed_before} failures");
    }
    for failed_before in [9, 1000, u32::MAX] {
        let next = attempt(due(failed_before, now()), Some(500)).await;
        assert_eq!(next, retry_in(3600), "at most an hour apart");
    }
}

#[tokio::test]
async fn no_answer_and_any_other_status_are_retried() {
    // None: a timeout or a refused connection.
    for status in [None, Some(100), Some(301), Some(404), Some(429), Some(503)] {
        let next = attempt(due(0, now()), status).await;
        assert_eq!(next, retry_in(10), "{status:?}");
    }
}

#[tokio::test]
async fn a_delivery_is_given_up_three_days_after_it_started() {
    // The next try would fall an hour after now: still inside the three days...
    let since = now() - Duration::days(3) + Duration::hours(1);
    assert_eq!(attempt(due(30, since), Some(500)).await, retry_in(3600));
    // ...or a second past them.
    let since = now() - Duration::days(3) + Duration::hours(1) - Duration::seconds(1);
    assert_eq!(attempt(due(30, since), None).await, DeliveryNext::GiveUp);
}

#[tokio::test]
async fn an_attempt_that_cannot_be_recorded_is_an_error() {
    // The claim then runs out and the delivery is tried again: at least once.
    let mut m = Mocks::new();
    m.sender
        .expect_send()
        .times(1)
        .returning(|_| answered(Some(200)));
    m.deliveries
        .expect_record_attempt()
        .times(1)
        .returning(|_, _, _| Err(RepoError::Unavailable("connection lost".into())));
    let err = m.build().deliver(&due(0, t0())).await.unwrap_err();
    assert_eq!(err.code(), "STORAGE_UNAVAILABLE");
}

#[tokio::test]
async fn claiming_asks_for_deliveries_due_now() {
    let mut m = Mocks::new();
    m.deliveries
        .expect_claim_due_deliveries()
        .withf(|at, limit, lease| {
            *at == t0() && *limit == 16 && *lease == StdDuration::from_secs(60)
        })
        .times(1)
        .returning(|_, _, _| Ok(vec![due(0, t0())]));
    let claimed = m
        .build()
        .claim_due(16, StdDuration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed, vec![due(0, t0())]);
}

/// The metrics' view of the queue: what the store says is due now, as of the clock.
#[tokio::test]
async fn the_backlog_is_the_store_s_as_of_now() {
    let mut m = Mocks::new();
    let backlog = payport_domain::ports::DeliveryBacklog {
        due: 3,
        oldest_due_at: Some(t0() - Duration::seconds(40)),
    };
    m.deliveries
        .expect_delivery_backlog()
        .withf(|now| *now == t0())
        .times(1)
        .returning(move |_| Ok(backlog));
    assert_eq!(m.build().backlog().await.unwrap(), backlog);
}
