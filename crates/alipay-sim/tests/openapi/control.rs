//! The control API, the state file and seeded determinism.

use super::*;

#[tokio::test]
async fn the_control_api_lists_trades_refunds_and_deliveries() {
    let rig = Rig::start().await;
    paid_trade(&rig, "k", "3.00").await;
    rig.gateway
        .submit_refund(&refund("k", "z", "1.00"))
        .await
        .unwrap();
    rig.notifications(2).await;
    let trades: Value = rig
        .control(Method::GET, "/trades")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trades[0]["status"], "TRADE_SUCCESS");
    let refunds: Value = rig
        .control(Method::GET, "/refunds")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refunds[0]["out_request_no"], "z");
    let ledger: Value = rig
        .control(Method::GET, "/ledger")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["trades"][0]["refunded_fen"], 100);
    let deliveries: Value = rig
        .control(Method::GET, "/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["answer"], "success");
    assert_eq!(
        rig.control(Method::POST, "/trades/k/pay").await.status(),
        409
    );
    assert_eq!(rig.control(Method::GET, "/trades/none").await.status(), 404);
}

#[tokio::test]
async fn state_survives_a_restart_through_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::dev_config();
    config.state_file = Some(dir.path().join("sim.json"));
    let rig = Rig::start_with(config.clone()).await;
    paid_trade(&rig, "s", "1.00").await;
    let again = Rig::start_with(config).await;
    assert_eq!(again.sim.ledger().trades, rig.sim.ledger().trades);
}

#[tokio::test]
async fn runs_are_deterministic_for_a_seed() {
    let mut config = support::dev_config();
    config.seed = 7;
    let a = Rig::start_with(config.clone()).await;
    let b = Rig::start_with(config).await;
    for rig in [&a, &b] {
        paid_trade(rig, "same", "1.00").await;
    }
    let (na, nb) = (a.notifications(1).await, b.notifications(1).await);
    assert_eq!(na[0].field("notify_id"), nb[0].field("notify_id"));
    assert_eq!(
        a.sim.ledger().trades[0].trade_no,
        b.sim.ledger().trades[0].trade_no
    );
}

/// Without a seed every start is a new run: a merchant whose database outlives the
/// simulator never sees an id twice.
#[tokio::test]
async fn a_restart_without_a_seed_repeats_no_ids() {
    let (a, b) = (Rig::start().await, Rig::start().await);
    for rig in [&a, &b] {
        paid_trade(rig, "same", "1.00").await;
    }
    let (na, nb) = (a.notifications(1).await, b.notifications(1).await);
    assert_ne!(na[0].field("notify_id"), nb[0].field("notify_id"));
    assert_ne!(
        a.sim.ledger().trades[0].trade_no,
        b.sim.ledger().trades[0].trade_no
    );
}
