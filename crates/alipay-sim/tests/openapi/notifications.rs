//! Notifications: retries until exactly success, and notification faults.

use super::*;

#[tokio::test]
async fn notifications_retry_until_exactly_success() {
    let rig = Rig::start().await;
    rig.receiver
        .answers
        .lock()
        .unwrap()
        .extend(["fail", "success\n"]);
    paid_trade(&rig, "n", "1.00").await;
    let got = rig.notifications(3).await;
    assert_eq!(
        got[0].field("notify_id"),
        got[2].field("notify_id"),
        "the same notification each time"
    );
    for _ in 0..200 {
        if rig.sim.deliveries().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let deliveries = rig.sim.deliveries();
    let acknowledged: Vec<_> = deliveries
        .iter()
        .map(|d| (d.attempt, d.acknowledged))
        .collect();
    assert_eq!(
        acknowledged,
        vec![(1, false), (2, false), (3, true)],
        "\"success\\n\" is not success"
    );
    assert_eq!(deliveries[1].answer.as_deref(), Some("success\n"));
}

#[tokio::test]
async fn notification_faults_duplicate_hold_and_drop() {
    let rig = Rig::start().await;
    rig.set_faults(serde_json::json!({"notify": {"duplicate": true}}))
        .await;
    paid_trade(&rig, "d", "1.00").await;
    let got = rig.notifications(2).await;
    assert_eq!(got[0].field("notify_id"), got[1].field("notify_id"));

    let rig = Rig::start().await;
    rig.set_faults(serde_json::json!({"notify": {"hold": true}}))
        .await;
    paid_trade(&rig, "h", "5.00").await;
    rig.gateway
        .submit_refund(&refund("h", "p1", "1.00"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(rig.receiver.got.lock().unwrap().is_empty(), "held");
    let released: Value = rig
        .control(Method::POST, "/notifications/release?order=reverse")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(released["released"], 2);
    let got = rig.notifications(2).await;
    let order: Vec<_> = got
        .iter()
        .map(|r| r.field("out_biz_no").is_some())
        .collect();
    assert!(order.contains(&true) && order.contains(&false));

    let rig = Rig::start().await;
    rig.set_faults(serde_json::json!({"notify": {"drop_attempts": 1}}))
        .await;
    paid_trade(&rig, "x", "1.00").await;
    rig.notifications(1).await;
    let deliveries = rig.sim.deliveries();
    assert_eq!(deliveries[0].outcome, "dropped by fault injection");
}
