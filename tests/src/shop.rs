//! Steps a shop takes again and again: create an order, get it paid, ask for refunds,
//! wait for a notification to land.

use serde_json::{json, Value};

use crate::app::TestApp;
use crate::Deadline;

impl TestApp {
    /// payport's default time to pay (30 minutes), or (`Some`) that plus how far the
    /// simulator's clock is ahead.
    fn time_to_pay_minutes(&self) -> Option<u64> {
        let ahead = self
            .sim_ahead_secs
            .load(std::sync::atomic::Ordering::SeqCst);
        (ahead > 0).then(|| 30 + ahead.div_ceil(60))
    }

    /// `POST /v1/orders` with this out_trade_no and amount.
    ///
    /// # Panics
    /// Unless payport answers 201 with a pending order.
    pub async fn create_order(&self, out_trade_no: &str, total_amount: &str) -> Value {
        let (status, order) = self
            .post(
                "/v1/orders",
                &json!({
                    "subject": "Green tea",
                    "total_amount": total_amount,
                    "out_trade_no": out_trade_no,
                    "timeout_minutes": self.time_to_pay_minutes(),
                }),
            )
            .await;
        assert_eq!(status, 201, "{order}");
        assert_eq!(order["status"], "pending", "{order}");
        order
    }

    /// `GET /v1/orders/:id`.
    ///
    /// # Panics
    /// Unless payport answers 200.
    pub async fn order(&self, out_trade_no: &str) -> Value {
        let (status, order) = self.get(&format!("/v1/orders/{out_trade_no}")).await;
        assert_eq!(status, 200, "{order}");
        order
    }

    /// Polls the order until `ready` holds (bounded), and returns it.
    ///
    /// # Panics
    /// When it does not happen in time.
    pub async fn order_when(
        &self,
        out_trade_no: &str,
        what: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Deadline::start();
        loop {
            let order = self.order(out_trade_no).await;
            if ready(&order) {
                return order;
            }
            assert!(
                deadline.wait().await,
                "order {out_trade_no}: {what} did not happen in time; last seen {order:#}"
            );
        }
    }

    /// Waits until the order has this status.
    pub async fn order_with_status(&self, out_trade_no: &str, status: &str) -> Value {
        self.order_when(out_trade_no, &format!("status {status}"), |o| {
            o["status"] == status
        })
        .await
    }

    /// `POST /v1/orders/:id/payments {"method":"qr"}`.
    ///
    /// # Panics
    /// Unless payport answers 200 with a QR code.
    pub async fn start_qr(&self, out_trade_no: &str) -> Value {
        let (status, payment) = self
            .post(
                &format!("/v1/orders/{out_trade_no}/payments"),
                &json!({ "method": "qr" }),
            )
            .await;
        assert_eq!(status, 200, "{payment}");
        assert!(payment["qr_code"].is_string(), "{payment}");
        payment
    }

    /// A pending order whose QR trade exists at the simulator; returns its trade_no.
    pub async fn pending_with_trade(&self, out_trade_no: &str, total_amount: &str) -> String {
        self.create_order(out_trade_no, total_amount).await;
        self.start_qr(out_trade_no).await;
        let trade = self.sim_trade(out_trade_no).await.expect("trade");
        trade["trade_no"].as_str().expect("trade_no").to_owned()
    }

    /// The buyer scans the QR code (opens its URL).
    ///
    /// # Panics
    /// Unless the simulator shows the cashier.
    pub async fn scan(&self, payment: &Value) {
        let qr_code = payment["qr_code"].as_str().expect("qr_code");
        let page = self.browse(qr_code).await;
        assert_eq!(page.status, 200, "{}", page.text);
    }

    /// A new order paid by QR code, the notification applied: the order as paid.
    ///
    /// # Panics
    /// When any step fails.
    pub async fn paid_order(&self, out_trade_no: &str, total_amount: &str) -> Value {
        self.create_order(out_trade_no, total_amount).await;
        let payment = self.start_qr(out_trade_no).await;
        self.scan(&payment).await;
        let paid = self.sim_pay(out_trade_no).await;
        assert_eq!(paid.status, 200, "{}", paid.text);
        self.order_with_status(out_trade_no, "paid").await
    }

    /// `POST /v1/orders/:id/refunds {"amount": ...}`.
    pub async fn refund(&self, out_trade_no: &str, amount: &str) -> (u16, Value) {
        self.post(
            &format!("/v1/orders/{out_trade_no}/refunds"),
            &json!({ "amount": amount, "reason": "returned" }),
        )
        .await
    }

    /// `GET /v1/refunds/:id`.
    ///
    /// # Panics
    /// Unless payport answers 200.
    pub async fn refund_by_id(&self, refund_id: &str) -> Value {
        let (status, refund) = self.get(&format!("/v1/refunds/{refund_id}")).await;
        assert_eq!(status, 200, "{refund}");
        refund
    }

    /// Waits until every notification the simulator sent was answered, and returns
    /// them (a notification that is never acknowledged fails here).
    ///
    /// # Panics
    /// When some stay unanswered or were not acknowledged with `success`.
    pub async fn notifications_settled(&self, expected: usize) -> Vec<Value> {
        let deadline = Deadline::start();
        let seen = loop {
            let seen = self.sim_notifications().await;
            if seen.len() >= expected {
                break seen;
            }
            assert!(
                deadline.wait().await,
                "expected {expected} notification deliveries, saw {seen:#?}"
            );
        };
        for delivery in &seen {
            assert_eq!(delivery["acknowledged"], true, "{delivery:#}");
            assert_eq!(delivery["answer"], "success", "{delivery:#}");
        }
        seen
    }
}

/// The same instant to the second: payport's `paid_at` (from Alipay's Beijing-time
/// fields) and the simulator's own clock (UTC), both RFC 3339.
///
/// # Panics
/// When either is not a time, or they differ.
pub fn assert_same_second(payport: &Value, simulator: &Value) {
    let second = |v: &Value| {
        let text = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
        assert!(text.len() >= 19, "not a time: {text}");
        text[..19].to_owned()
    };
    assert_eq!(
        second(payport),
        second(simulator),
        "payport {payport} vs simulator {simulator}"
    );
}

/// A refund's `refund_id`.
///
/// # Panics
/// When the value is not a refund.
pub fn refund_id(refund: &Value) -> String {
    refund["refund_id"]
        .as_str()
        .unwrap_or_else(|| panic!("not a refund: {refund}"))
        .to_owned()
}
