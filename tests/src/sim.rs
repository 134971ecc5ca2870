//! The in-process Alipay simulator's control API (`/sim/control/...`): act as the
//! buyer, read its books, inject faults.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::TestApp;
use crate::http::{read, Reply};

impl TestApp {
    async fn sim_call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(&format!("/sim/control{path}")));
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        read(request.send().await.expect("simulator control call")).await
    }

    /// Certificate mode: the simulator rotates its Alipay certificate; the new SN.
    ///
    /// # Panics
    /// Unless the simulator rotates (it does once, in certificate mode).
    pub async fn sim_rotate_alipay_cert(&self) -> String {
        let reply = self
            .sim_call(Method::POST, "/alipay-cert/rotate", None)
            .await;
        assert_eq!(reply.status, 200, "rotation refused: {}", reply.text);
        reply.json["alipay_cert_sn"]
            .as_str()
            .expect("alipay_cert_sn")
            .to_owned()
    }

    /// The buyer pays the trade (as through the cashier or the app).
    pub async fn sim_pay(&self, out_trade_no: &str) -> Reply {
        self.sim_call(Method::POST, &format!("/trades/{out_trade_no}/pay"), None)
            .await
    }

    /// The buyer pays, and Alipay's notification of it is lost: payport is never told.
    pub async fn sim_pay_silently(&self, out_trade_no: &str) -> Reply {
        self.sim_call(
            Method::POST,
            &format!("/trades/{out_trade_no}/pay"),
            Some(&json!({ "notify": false })),
        )
        .await
    }

    /// The Beijing date it is at the simulator, `YYYY-MM-DD`.
    ///
    /// # Panics
    /// When the simulator does not answer a time.
    pub async fn sim_beijing_date(&self) -> String {
        let reply = self.sim_call(Method::POST, "/tick", None).await;
        beijing_date(&reply.json["now"])
    }

    /// Moves the simulator's time on by whole days (its bills of the days passed
    /// become available); returns its new Beijing date.
    ///
    /// # Panics
    /// When the simulator refuses.
    pub async fn sim_advance_days(&self, days: u32) -> String {
        let now = self.sim_advance_secs(u64::from(days) * 86_400).await;
        beijing_ymd(now)
    }

    /// Moves the simulator's time on to the next 12:00 in Beijing, so that what a test
    /// does next happens mid-day, far from the midnight where bills are cut; returns
    /// that Beijing date.
    ///
    /// # Panics
    /// When the simulator refuses.
    pub async fn sim_to_next_beijing_noon(&self) -> String {
        let reply = self.sim_call(Method::POST, "/tick", None).await;
        let now = time(&reply.json["now"]);
        let beijing = now.with_timezone(&utc8());
        let noon = beijing.date_naive().and_hms_opt(12, 0, 0).expect("noon");
        let mut millis = (noon - beijing.naive_local()).num_milliseconds();
        if millis <= 0 {
            millis += 86_400_000;
        }
        // Rounded up: the simulator's time may carry a fraction of a second.
        let wait = (millis + 999) / 1_000;
        let at = self
            .sim_advance_secs(u64::try_from(wait).expect("positive"))
            .await
            .with_timezone(&utc8());
        assert_eq!(at.format("%H").to_string(), "12", "{at}");
        beijing_ymd(at)
    }

    async fn sim_advance_secs(&self, seconds: u64) -> chrono::DateTime<chrono::FixedOffset> {
        let body = json!({ "seconds": seconds });
        let reply = self
            .sim_call(Method::POST, "/clock/advance", Some(&body))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        self.sim_ahead_secs
            .fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
        time(&reply.json["now"])
    }

    /// The trade closes at Alipay without payment.
    pub async fn sim_close(&self, out_trade_no: &str) -> Reply {
        self.sim_call(Method::POST, &format!("/trades/{out_trade_no}/close"), None)
            .await
    }

    /// A refund made in Alipay's merchant console, outside payport, under
    /// `out_request_no`; `notify: false` sends no trade notification for it.
    pub async fn sim_console_refund(
        &self,
        out_trade_no: &str,
        amount: &str,
        out_request_no: &str,
        notify: bool,
    ) -> Reply {
        let body = json!({ "amount": amount, "out_request_no": out_request_no, "notify": notify });
        self.sim_call(
            Method::POST,
            &format!("/trades/{out_trade_no}/refund"),
            Some(&body),
        )
        .await
    }

    /// Every trade in the simulator's books.
    ///
    /// # Panics
    /// When the answer is not a list.
    pub async fn sim_trades(&self) -> Vec<Value> {
        let reply = self.sim_call(Method::GET, "/trades", None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json.as_array().expect("trades").clone()
    }

    /// One trade, or `None` if the simulator has none under that number.
    pub async fn sim_trade(&self, out_trade_no: &str) -> Option<Value> {
        self.sim_trades()
            .await
            .into_iter()
            .find(|t| t["out_trade_no"] == out_trade_no)
    }

    /// Every refund the simulator made.
    ///
    /// # Panics
    /// When the answer is not a list.
    pub async fn sim_refunds(&self) -> Vec<Value> {
        let reply = self.sim_call(Method::GET, "/refunds", None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json.as_array().expect("refunds").clone()
    }

    /// The refunds the simulator made for one order.
    pub async fn sim_refunds_of(&self, out_trade_no: &str) -> Vec<Value> {
        self.sim_refunds()
            .await
            .into_iter()
            .filter(|r| r["out_trade_no"] == out_trade_no)
            .collect()
    }

    /// Every notification delivery attempt, with payport's answer.
    ///
    /// # Panics
    /// When the answer is not a list.
    pub async fn sim_notifications(&self) -> Vec<Value> {
        let reply = self.sim_call(Method::GET, "/notifications", None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json.as_array().expect("notifications").clone()
    }

    /// Replaces the simulator's faults, e.g.
    /// `{"methods":{"alipay.trade.refund":{"kind":"system_error","performed":true,"times":1}}}`.
    ///
    /// # Panics
    /// When the simulator refuses them.
    pub async fn sim_faults(&self, faults: Value) {
        let reply = self.sim_call(Method::PUT, "/faults", Some(&faults)).await;
        assert_eq!(reply.status, 200, "faults refused: {}", reply.text);
    }

    /// The faults in force now: a rule with `times` counts down as calls meet it, so
    /// this also tells how many calls were made.
    ///
    /// # Panics
    /// When the simulator does not answer 200.
    pub async fn sim_faults_now(&self) -> Value {
        let reply = self.sim_call(Method::GET, "/faults", None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json
    }

    /// Holds every notification until [`TestApp::sim_release`].
    pub async fn sim_hold_notifications(&self) {
        self.sim_faults(json!({ "notify": { "hold": true } })).await;
    }

    /// Sends the held notifications (newest first when `reverse`); returns how many.
    ///
    /// # Panics
    /// When the simulator does not answer with a count.
    pub async fn sim_release(&self, reverse: bool) -> u64 {
        let path = if reverse {
            "/notifications/release?order=reverse"
        } else {
            "/notifications/release"
        };
        let reply = self.sim_call(Method::POST, path, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json["released"].as_u64().expect("released")
    }
}

/// The Beijing date of an RFC 3339 time.
fn utc8() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

fn time(time: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let text = time
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {time}"));
    chrono::DateTime::parse_from_rfc3339(text).expect("an RFC 3339 time")
}

fn beijing_date(at: &Value) -> String {
    beijing_ymd(time(at))
}

fn beijing_ymd(at: chrono::DateTime<chrono::FixedOffset>) -> String {
    at.with_timezone(&utc8()).format("%Y-%m-%d").to_string()
}
