//! RefundRepository: round trips, conditional updates, update_with_order, lists.

use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::RefundFilter;
use payport_domain::refund::RefundSuccess;
use payport_domain::{
    BatchNo, GatewayFailure, Order, OutRequestNo, Refund, RefundGatewayKind, RefundStatus,
    RepoError,
};

use super::fixtures::{at, fen, insert_paid, new_refund, no, repos, reserve_in_turn};
use super::StoreUnderTest;

pub async fn every_field_round_trips<D: StoreUnderTest>(db: &D) {
    let (orders, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 10_000).await;
    let mut new = new_refund("o1", "r1", 2_500);
    new.approval = ApprovalPolicy::Manual;
    new.gateway = RefundGatewayKind::MapiPwd;
    let reserved = refunds.reserve(&new, &crate::event_id()).await.unwrap();
    assert_eq!(
        reserved,
        new.clone().into_refund(RefundStatus::PendingApproval)
    );
    assert_eq!(
        refunds.get(&new.refund_id).await.unwrap(),
        Some(reserved.clone())
    );

    // Every column, set (statuses aside, the store does not judge the values).
    let full = Refund {
        status: RefundStatus::Failed,
        failure: Some(GatewayFailure {
            code: "40004".into(),
            sub_code: Some("ACQ.TRADE_HAS_FINISHED".into()),
            message: "Business Failed".into(),
        }),
        last_error: Some("timeout after 15 s".into()),
        rejection_reason: Some("no".into()),
        refund_fee: Some(fen(2_500)),
        batch_no: Some(BatchNo::parse("20261121001").unwrap()),
        operator_form_html: Some("<form action=\"https://mapi\">…</form>".into()),
        attempts: u32::MAX,
        updated_at: at(200) + chrono::Duration::microseconds(1),
        submitted_at: Some(at(150)),
        completed_at: Some(at(210)),
        next_sync_at: Some(at(300)),
        reason: None,
        gateway: RefundGatewayKind::MapiNoPwd,
        ..reserved.clone()
    };
    refunds.update(&full, &[]).await.unwrap();
    let stored = refunds.get(&new.refund_id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        Refund {
            version: 1,
            ..full.clone()
        }
    );

    // ... and unset again: None is written as NULL.
    let mut bare = Refund {
        failure: None,
        ..stored.clone()
    };
    bare.last_error = None;
    bare.rejection_reason = None;
    bare.refund_fee = None;
    bare.batch_no = None;
    bare.operator_form_html = None;
    bare.submitted_at = None;
    bare.completed_at = None;
    bare.next_sync_at = None;
    bare.failure = Some(GatewayFailure {
        code: "ACQ.SYSTEM_ERROR".into(),
        sub_code: None,
        message: "busy".into(),
    });
    refunds.update(&bare, &[]).await.unwrap();
    assert_eq!(
        refunds.get(&new.refund_id).await.unwrap(),
        Some(Refund { version: 2, ..bare })
    );

    let by_request = refunds
        .get_by_out_request_no(&no("o1"), &OutRequestNo::parse("r1").unwrap())
        .await
        .unwrap();
    assert_eq!(by_request.map(|r| r.version), Some(2));
    let none = refunds
        .get_by_out_request_no(&no("o2"), &OutRequestNo::parse("r1").unwrap())
        .await
        .unwrap();
    assert_eq!(none, None);
    assert!(orders.get(&no("o1")).await.unwrap().is_some());
}

pub async fn refund_updates_are_conditional<D: StoreUnderTest>(db: &D) {
    let (_, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 1_000).await;
    let reserved = refunds
        .reserve(&new_refund("o1", "r1", 500), &crate::event_id())
        .await
        .unwrap();

    let mut sent = reserved.clone();
    sent.start_submission(at(200)).unwrap();
    refunds.update(&sent, &[]).await.unwrap();
    let stored = refunds.get(&reserved.refund_id).await.unwrap().unwrap();
    assert_eq!(stored, Refund { version: 1, ..sent });

    // Stale version: Conflict, nothing changed.
    let mut stale = reserved.clone();
    stale.reason = Some("stale".into());
    assert!(matches!(
        refunds.update(&stale, &[]).await,
        Err(RepoError::Conflict(_))
    ));
    // The amount is fixed at reservation: changing it would dodge the invariant.
    let mut bigger = stored.clone();
    bigger.amount = fen(1_000);
    assert!(matches!(
        refunds.update(&bigger, &[]).await,
        Err(RepoError::Conflict(_))
    ));
    assert_eq!(
        refunds.get(&reserved.refund_id).await.unwrap(),
        Some(stored)
    );

    let ghost = new_refund("o1", "r2", 1).into_refund(RefundStatus::Approved);
    assert!(matches!(
        refunds.update(&ghost, &[]).await,
        Err(RepoError::NotFound(_))
    ));
}

pub async fn update_with_order_saves_both_or_neither<D: StoreUnderTest>(db: &D) {
    let (orders, refunds) = repos(db.store());
    let order = insert_paid(db.store(), "o1", 1_000).await;
    let mut refund = refunds
        .reserve(&new_refund("o1", "r1", 400), &crate::event_id())
        .await
        .unwrap();
    refund.start_submission(at(200)).unwrap();
    refunds.update(&refund, &[]).await.unwrap();
    refund.version += 1;

    let success = RefundSuccess {
        refund_fee: Some(fen(400)),
        refunded_at: Some(at(210)),
    };
    let mut done = refund.clone();
    done.succeed(success, at(211)).unwrap();
    let mut credited = order.clone();
    credited.record_refund(done.amount, at(211)).unwrap();

    // The order changed meanwhile: neither is saved.
    let mut other_writer = order.clone();
    other_writer.return_url = Some("https://shop.example/r".into());
    orders.update(&other_writer, &[]).await.unwrap();
    assert!(matches!(
        refunds.update_with_order(&done, &credited, &[]).await,
        Err(RepoError::Conflict(_))
    ));
    assert_eq!(
        refunds.get(&refund.refund_id).await.unwrap(),
        Some(refund.clone())
    );
    let order_now = orders.get(&no("o1")).await.unwrap().unwrap();
    assert_eq!(
        order_now,
        Order {
            version: 1,
            ..other_writer
        }
    );

    // The refund changed meanwhile: neither is saved either.
    let mut credited = order_now.clone();
    credited.record_refund(done.amount, at(212)).unwrap();
    let stale_refund = Refund {
        version: 0,
        ..done.clone()
    };
    assert!(matches!(
        refunds
            .update_with_order(&stale_refund, &credited, &[])
            .await,
        Err(RepoError::Conflict(_))
    ));
    assert_eq!(
        orders.get(&no("o1")).await.unwrap(),
        Some(order_now.clone())
    );

    // Both current: both saved, both versions move on.
    refunds
        .update_with_order(&done, &credited, &[])
        .await
        .unwrap();
    assert_eq!(
        refunds.get(&refund.refund_id).await.unwrap(),
        Some(Refund {
            version: done.version + 1,
            ..done.clone()
        })
    );
    let order_after = orders.get(&no("o1")).await.unwrap().unwrap();
    assert_eq!(order_after.refunded_amount, fen(400));
    assert_eq!(
        order_after.status,
        payport_domain::OrderStatus::PartiallyRefunded
    );
    assert_eq!(order_after.version, credited.version + 1);

    // A refund of another order is refused outright.
    let other = insert_paid(db.store(), "o2", 1_000).await;
    assert!(matches!(
        refunds.update_with_order(&done, &other, &[]).await,
        Err(RepoError::NotFound(_))
    ));
}

pub async fn lists_refunds_of_an_order_and_in_pages<D: StoreUnderTest>(db: &D) {
    let (_, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 10_000).await;
    insert_paid(db.store(), "o2", 10_000).await;
    let requests = [("o1", "r1"), ("o2", "r1"), ("o1", "r2"), ("o1", "r3")];
    let made = reserve_in_turn(refunds, &requests, &["r2"]).await;
    let of_o1 = refunds.list_for_order(&no("o1")).await.unwrap();
    assert_eq!(
        of_o1,
        vec![made[0].clone(), made[2].clone(), made[3].clone()]
    );
    assert!(refunds.list_for_order(&no("o3")).await.unwrap().is_empty());

    let ids = |items: &[Refund]| -> Vec<String> {
        items.iter().map(|r| r.refund_id.to_string()).collect()
    };
    let mut filter = RefundFilter {
        status: None,
        limit: 3,
        cursor: None,
    };
    let first = refunds.list(&filter).await.unwrap();
    assert_eq!(ids(&first.items), ["rf_o1_r3", "rf_o1_r2", "rf_o2_r1"]);
    filter.cursor = first.next_cursor;
    let second = refunds.list(&filter).await.unwrap();
    assert_eq!(ids(&second.items), ["rf_o1_r1"]);
    assert_eq!(second.next_cursor, None);

    let pending = RefundFilter {
        status: Some(RefundStatus::PendingApproval),
        limit: 10,
        cursor: None,
    };
    assert_eq!(
        ids(&refunds.list(&pending).await.unwrap().items),
        ["rf_o1_r2"]
    );
}

pub async fn lists_refunds_of_several_orders_at_once<D: StoreUnderTest>(db: &D) {
    let (_, refunds) = repos(db.store());
    for order in ["o1", "o2", "o3", "o4"] {
        insert_paid(db.store(), order, 10_000).await;
    }
    // Interleaved in time, and not in the order of their numbers.
    let requests = [("o2", "r9"), ("o1", "r2"), ("o3", "r1"), ("o1", "r1")];
    let made = reserve_in_turn(refunds, &requests, &[]).await;

    // o2 is not asked for, o4 has no refunds, o5 does not exist.
    let asked = [no("o3"), no("o1"), no("o4"), no("o5")];
    let listed = refunds.list_for_orders(&asked).await.unwrap();
    let of = |order: &str| -> Vec<Refund> {
        listed
            .iter()
            .filter(|r| r.out_trade_no.as_str() == order)
            .cloned()
            .collect()
    };
    assert_eq!(listed.len(), 3);
    assert_eq!(of("o1"), vec![made[1].clone(), made[3].clone()]);
    assert_eq!(of("o3"), vec![made[2].clone()]);

    assert!(refunds.list_for_orders(&[]).await.unwrap().is_empty());
    assert!(refunds
        .list_for_orders(&[no("o4")])
        .await
        .unwrap()
        .is_empty());
}

pub async fn update_all_saves_every_refund_or_none<D: StoreUnderTest>(db: &D) {
    let (_, refunds) = repos(db.store());
    insert_paid(db.store(), "o1", 1_000).await;
    insert_paid(db.store(), "o2", 1_000).await;
    let a = refunds
        .reserve(&new_refund("o1", "r1", 100), &crate::event_id())
        .await
        .unwrap();
    let b = refunds
        .reserve(&new_refund("o2", "r2", 200), &crate::event_id())
        .await
        .unwrap();
    let batch = BatchNo::parse("20261121001").unwrap();
    let in_batch = |r: &Refund| {
        let mut r = r.clone();
        r.batch_no = Some(batch.clone());
        r
    };
    // One of them is stale: neither is saved.
    let mut stale_b = in_batch(&b);
    stale_b.version = 7;
    assert!(matches!(
        refunds.update_all(&[in_batch(&a), stale_b], &[]).await,
        Err(RepoError::Conflict(_))
    ));
    assert_eq!(refunds.get(&a.refund_id).await.unwrap(), Some(a.clone()));
    refunds
        .update_all(&[in_batch(&b), in_batch(&a)], &[])
        .await
        .unwrap();
    for r in [&a, &b] {
        let stored = refunds.get(&r.refund_id).await.unwrap().unwrap();
        assert_eq!(stored.batch_no.as_ref(), Some(&batch));
        assert_eq!(stored.version, 1);
    }
}
