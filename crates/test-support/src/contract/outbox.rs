//! The transactional outbox: every save writes its events with the change, each body
//! rendered from the object as stored after it; a save that fails writes neither.

use payport_domain::event::EventType;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::ReserveError;
use payport_domain::refund::RefundSuccess;
use payport_domain::{Order, RepoError};

use super::fixtures::{
    all_events, at, bodies, event, fen, insert_paid, new_refund, no, payment, pending_order, repos,
};
use super::StoreUnderTest;

pub async fn every_save_writes_its_events_rendered_after_the_change<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let (orders, refunds) = repos(store);
    let pending = pending_order("o1", 1_000);
    orders.insert(&pending).await.unwrap();
    assert!(
        bodies(store).await.is_empty(),
        "creating an order is no event"
    );

    // OrderRepository::update
    let mut paid = pending.clone();
    paid.confirm_payment(payment("o1"), at(60)).unwrap();
    let paid_event = event(EventType::OrderPaid, "o1");
    orders
        .update(&paid, std::slice::from_ref(&paid_event))
        .await
        .unwrap();
    let paid = Order { version: 1, ..paid };

    // RefundRepository::reserve, then update
    let mut refund = refunds
        .reserve(&new_refund("o1", "r1", 400), &crate::event_id())
        .await
        .unwrap();
    refund.start_submission(at(200)).unwrap();
    refunds
        .update(&refund, &[event(EventType::RefundProcessing, "rf_o1_r1")])
        .await
        .unwrap();
    refund.version += 1;

    // update_with_order: both events, both bodies after both changes.
    let mut done = refund.clone();
    done.succeed(RefundSuccess::default(), at(210)).unwrap();
    let mut credited = paid.clone();
    credited.record_refund(done.amount, at(210)).unwrap();
    let both = [
        event(EventType::RefundSucceeded, "rf_o1_r1"),
        event(EventType::OrderPartiallyRefunded, "o1"),
    ];
    refunds
        .update_with_order(&done, &credited, &both)
        .await
        .unwrap();

    // update_all: two refunds approved at once.
    let mut waiting = Vec::new();
    for request in ["r2", "r3"] {
        let mut new = new_refund("o1", request, 100);
        new.approval = ApprovalPolicy::Manual;
        waiting.push(refunds.reserve(&new, &crate::event_id()).await.unwrap());
    }
    let approved: Vec<_> = waiting
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.approve(at(300)).unwrap();
            r
        })
        .collect();
    let approvals = [
        event(EventType::RefundApproved, "rf_o1_r2"),
        event(EventType::RefundApproved, "rf_o1_r3"),
    ];
    refunds.update_all(&approved, &approvals).await.unwrap();

    assert_eq!(
        bodies(store).await,
        [
            "order.paid o1 paid v1 refunds=0",
            "refund.approved rf_o1_r1 approved v0",
            "refund.processing rf_o1_r1 processing v1",
            "refund.succeeded rf_o1_r1 succeeded v2",
            "order.partially_refunded o1 partially_refunded v2 refunds=1",
            "refund.pending_approval rf_o1_r2 pending_approval v0",
            "refund.pending_approval rf_o1_r3 pending_approval v0",
            "refund.approved rf_o1_r2 approved v1",
            "refund.approved rf_o1_r3 approved v1",
        ]
    );
    let first = &all_events(store).await[0];
    assert_eq!(first.id, paid_event.id);
    assert_eq!(first.event_type, EventType::OrderPaid);
    assert_eq!(first.object_id, "o1");
    assert_eq!(first.created_at, at(500));

    // A save without events is a save without events.
    let mut noted = credited.clone();
    noted.version += 1;
    noted.return_url = Some("https://shop.example/thanks".into());
    orders.update(&noted, &[]).await.unwrap();
    assert_eq!(all_events(store).await.len(), 9);
}

pub async fn a_reservation_writes_the_event_of_the_status_it_chose<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let (_, refunds) = repos(store);
    insert_paid(store, "o1", 1_000).await;
    let mut manual = new_refund("o1", "r1", 100);
    manual.approval = ApprovalPolicy::Manual;
    let waiting_id = crate::event_id();
    refunds.reserve(&manual, &waiting_id).await.unwrap();
    let auto_id = crate::event_id();
    refunds
        .reserve(&new_refund("o1", "r2", 100), &auto_id)
        .await
        .unwrap();

    let events = all_events(store).await;
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.id.clone(),
                e.event_type,
                e.object_id.as_str(),
                e.created_at,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                waiting_id,
                EventType::RefundPendingApproval,
                "rf_o1_r1",
                at(100)
            ),
            (auto_id, EventType::RefundApproved, "rf_o1_r2", at(100)),
        ]
    );
    assert_eq!(events[1].body, "refund.approved rf_o1_r2 approved v0");
}

pub async fn a_refused_save_writes_neither_the_change_nor_its_events<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let (orders, refunds) = repos(store);
    let order = insert_paid(store, "o1", 1_000).await;
    let reserved = refunds
        .reserve(&new_refund("o1", "r1", 400), &crate::event_id())
        .await
        .unwrap();
    let other = refunds
        .reserve(&new_refund("o1", "r2", 100), &crate::event_id())
        .await
        .unwrap();
    let before = all_events(store).await;

    // A stale order.
    let mut finished = order.clone();
    finished.version = 9;
    let stale = orders
        .update(&finished, &[event(EventType::OrderFinished, "o1")])
        .await;
    assert!(matches!(stale, Err(RepoError::Conflict(_))), "{stale:?}");
    // A current refund with a stale order: neither, and no event.
    let mut sent = reserved.clone();
    sent.start_submission(at(200)).unwrap();
    let mut done = sent.clone();
    done.succeed(RefundSuccess::default(), at(210)).unwrap();
    let mut credited = Order {
        version: 3,
        ..order.clone()
    };
    credited.record_refund(fen(400), at(210)).unwrap();
    let both = [
        event(EventType::RefundSucceeded, "rf_o1_r1"),
        event(EventType::OrderPartiallyRefunded, "o1"),
    ];
    assert!(matches!(
        refunds.update_with_order(&done, &credited, &both).await,
        Err(RepoError::Conflict(_))
    ));
    // update_all with one stale refund: none saved, no event.
    let mut stale_other = other.clone();
    stale_other.version = 5;
    let events = [
        event(EventType::RefundProcessing, "rf_o1_r1"),
        event(EventType::RefundProcessing, "rf_o1_r2"),
    ];
    assert!(matches!(
        refunds.update_all(&[sent, stale_other], &events).await,
        Err(RepoError::Conflict(_))
    ));
    // Refused reservations: too much, a used out_request_no, no such order.
    for new in [
        new_refund("o1", "r3", 501),
        new_refund("o1", "r1", 1),
        new_refund("o9", "r1", 1),
    ] {
        let result = refunds.reserve(&new, &crate::event_id()).await;
        assert!(result.is_err(), "{result:?}");
    }

    assert_eq!(all_events(store).await, before);
    assert_eq!(orders.get(&no("o1")).await.unwrap(), Some(order));
    assert_eq!(
        refunds.get(&reserved.refund_id).await.unwrap(),
        Some(reserved)
    );
    assert_eq!(refunds.get(&other.refund_id).await.unwrap(), Some(other));
}

pub async fn a_used_event_id_fails_the_whole_save<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let (orders, refunds) = repos(store);
    let pending = pending_order("o1", 1_000);
    orders.insert(&pending).await.unwrap();
    let mut closed = pending.clone();
    closed.close(at(10)).unwrap();
    let used = event(EventType::OrderClosed, "o1");
    orders
        .update(&closed, std::slice::from_ref(&used))
        .await
        .unwrap();
    insert_paid(store, "o2", 1_000).await;
    let before = all_events(store).await;

    // An order save under a used id.
    let closed = Order {
        version: 1,
        ..closed
    };
    let mut reused = event(EventType::OrderClosed, "o1");
    reused.id = used.id.clone();
    let mut touched = closed.clone();
    touched.return_url = Some("https://shop.example/r".into());
    let result = orders.update(&touched, &[reused]).await;
    assert!(matches!(result, Err(RepoError::Duplicate(_))), "{result:?}");
    assert_eq!(orders.get(&no("o1")).await.unwrap(), Some(closed));

    // A reservation under a used id stores no refund.
    let new = new_refund("o2", "r1", 100);
    match refunds.reserve(&new, &used.id).await {
        Err(ReserveError::Repo(RepoError::Duplicate(_))) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(refunds.get(&new.refund_id).await.unwrap(), None);
    assert_eq!(all_events(store).await, before);

    // Two events of one save under one id: the second fails the first, and the change.
    let reserved = refunds.reserve(&new, &crate::event_id()).await.unwrap();
    let before = all_events(store).await;
    let mut sent = reserved.clone();
    sent.start_submission(at(200)).unwrap();
    let first = event(EventType::RefundProcessing, "rf_o2_r1");
    let mut twin = event(EventType::RefundProcessing, "rf_o2_r1");
    twin.id = first.id.clone();
    assert!(matches!(
        refunds.update(&sent, &[first, twin]).await,
        Err(RepoError::Duplicate(_))
    ));
    assert_eq!(
        refunds.get(&reserved.refund_id).await.unwrap(),
        Some(reserved)
    );
    assert_eq!(all_events(store).await, before);
}
