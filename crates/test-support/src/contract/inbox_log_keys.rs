//! NotificationInbox, ExchangeLog and idempotency keys.

use payport_domain::ports::{
    ExchangeLog, GatewayExchange, InboxEntry, InboxState, NotificationInbox, NotificationSource,
};
use payport_domain::ports::{IdempotencyInsert, IdempotencyRecord, IdempotencyStore, IN_FLIGHT};
use payport_domain::RepoError;

use super::fixtures::{at, no};
use super::StoreUnderTest;

/// An entry whose content is its body up to the send time (what a redelivery keeps).
fn entry(source: NotificationSource, notify_id: &str, body: &str) -> InboxEntry {
    InboxEntry {
        source,
        notify_id: notify_id.into(),
        out_trade_no: Some(no("o1")),
        raw_body: body.into(),
        content: body.split("&notify_time").next().unwrap_or(body).into(),
        received_at: at(300),
    }
}

pub async fn the_inbox_dedupes_redeliveries<D: StoreUnderTest>(db: &D) {
    let inbox: &dyn NotificationInbox = db.store();
    let trade = NotificationSource::TradeStatus;
    let first = entry(
        trade,
        "n1",
        "trade_status=TRADE_SUCCESS&notify_time=1&sign=a",
    );
    assert_eq!(inbox.record(&first).await.unwrap(), InboxState::ToHandle);
    // Redelivered before its handling finished: handle it (again).
    assert_eq!(inbox.record(&first).await.unwrap(), InboxState::ToHandle);
    // Redelivered later, with a new send time and signature: the same notification.
    let resent = entry(
        trade,
        "n1",
        "trade_status=TRADE_SUCCESS&notify_time=2&sign=b",
    );
    assert_eq!(inbox.record(&resent).await.unwrap(), InboxState::ToHandle);
    // The same notify_id saying something else is no redelivery, handled or not.
    let reused = entry(
        trade,
        "n1",
        "trade_status=TRADE_FINISHED&notify_time=3&sign=c",
    );
    assert_eq!(
        inbox.record(&reused).await.unwrap(),
        InboxState::Conflicting
    );
    inbox.mark_handled(trade, "n1", at(301)).await.unwrap();
    assert_eq!(
        inbox.record(&first).await.unwrap(),
        InboxState::AlreadyHandled
    );
    assert_eq!(
        inbox.record(&resent).await.unwrap(),
        InboxState::AlreadyHandled
    );
    assert_eq!(
        inbox.record(&reused).await.unwrap(),
        InboxState::Conflicting
    );
    // Marking twice is harmless.
    inbox.mark_handled(trade, "n1", at(302)).await.unwrap();

    // The key is (source, notify_id).
    let batch = entry(NotificationSource::MapiBatchRefund, "n1", "batch_no=1");
    assert_eq!(inbox.record(&batch).await.unwrap(), InboxState::ToHandle);
    let no_order = InboxEntry {
        out_trade_no: None,
        ..entry(trade, "n2", "x")
    };
    assert_eq!(inbox.record(&no_order).await.unwrap(), InboxState::ToHandle);

    assert!(matches!(
        inbox.mark_handled(trade, "never-seen", at(303)).await,
        Err(RepoError::NotFound(_))
    ));
}

pub async fn the_exchange_log_keeps_raw_exchanges<D: StoreUnderTest>(db: &D) {
    let log: &dyn ExchangeLog = db.store();
    let answered = GatewayExchange {
        operation: "alipay.trade.refund".into(),
        out_trade_no: Some("o1".into()),
        out_request_no: Some("r1".into()),
        request: "app_id=2021000000000000&biz_content={\"refund_amount\":\"1.00\"}&sign=abc".into(),
        response: Some("{\"alipay_trade_refund_response\":{\"code\":\"10000\"}}".into()),
        outcome: "200".into(),
        started_at: at(400),
        duration_ms: 87,
    };
    let timed_out = GatewayExchange {
        response: None,
        outcome: "timeout after 15 s".into(),
        started_at: at(401),
        duration_ms: 15_000,
        ..answered.clone()
    };
    let elsewhere = GatewayExchange {
        out_trade_no: None,
        out_request_no: None,
        ..answered.clone()
    };
    for exchange in [&answered, &timed_out, &elsewhere] {
        log.record(exchange).await.unwrap();
    }
    assert_eq!(
        db.exchanges_for_order("o1").await.unwrap(),
        vec![answered, timed_out]
    );
}

pub async fn idempotency_keys_are_unique<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    assert_eq!(store.idempotency_lookup("k1").await.unwrap(), None);
    let record = IdempotencyRecord {
        key: "k1".into(),
        request_hash: "sha256:aaaa".into(),
        http_status: 201,
        response_body: "{\"out_trade_no\":\"o1\"}".into(),
        created_at: at(500),
        holder: Some("instance-a".into()),
    };
    assert_eq!(
        store.idempotency_insert(&record).await.unwrap(),
        IdempotencyInsert::Inserted
    );
    assert_eq!(
        store.idempotency_lookup("k1").await.unwrap(),
        Some(record.clone())
    );

    // The key again, with another request: the first response stays and comes back.
    let other = IdempotencyRecord {
        request_hash: "sha256:bbbb".into(),
        http_status: 500,
        response_body: "{}".into(),
        ..record.clone()
    };
    match store.idempotency_insert(&other).await.unwrap() {
        IdempotencyInsert::Duplicate(existing) => {
            assert_eq!(existing, record);
            assert!(existing.matches("sha256:aaaa"));
            assert!(!existing.matches("sha256:bbbb"));
        }
        IdempotencyInsert::Inserted => panic!("a key was stored twice"),
    }
    assert_eq!(store.idempotency_lookup("k1").await.unwrap(), Some(record));
}

pub async fn in_flight_keys_are_completed_or_released<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let pending = |key: &str| IdempotencyRecord {
        key: key.into(),
        request_hash: "sha256:cccc".into(),
        http_status: IN_FLIGHT,
        response_body: String::new(),
        created_at: at(600),
        holder: Some("instance-a".into()),
    };
    store.idempotency_insert(&pending("k2")).await.unwrap();
    // Only the instance holding a key answers for it.
    assert!(!store
        .idempotency_complete("k2", "instance-b", 201, "{}")
        .await
        .unwrap());
    assert!(!store.idempotency_release("k2", "instance-b").await.unwrap());
    assert!(store
        .idempotency_complete("k2", "instance-a", 201, "{\"ok\":1}")
        .await
        .unwrap());
    let done = store.idempotency_lookup("k2").await.unwrap().unwrap();
    assert_eq!(
        (done.http_status, done.response_body.as_str()),
        (201, "{\"ok\":1}")
    );
    // A completed key is final: neither completed again nor released.
    assert!(!store
        .idempotency_complete("k2", "instance-a", 500, "{}")
        .await
        .unwrap());
    assert!(!store.idempotency_release("k2", "instance-a").await.unwrap());

    store.idempotency_insert(&pending("k3")).await.unwrap();
    assert!(store.idempotency_release("k3", "instance-a").await.unwrap());
    assert_eq!(store.idempotency_lookup("k3").await.unwrap(), None);
}
