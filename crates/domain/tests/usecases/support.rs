//! Test doubles: mockall mocks for gateways, clock and ids; an in-memory store that
//! applies the real reservation rule and records every status a refund is saved with.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};

use payport_domain::error::RepoError;
use payport_domain::ids::{AppId, OutRequestNo, OutTradeNo, RefundId, SellerId, TradeNo};
use payport_domain::money::Amount;
use payport_domain::order::{Order, PaymentConfirmation};
use payport_domain::policy::check_reservation;
use payport_domain::ports::*;
use payport_domain::refund::{NewRefund, Refund, RefundStatus};
use payport_domain::usecases::{MerchantIdentity, Notifications, Orders, Ports, Refunds, Settings};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap()
}

pub fn yuan(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

pub fn otn(text: &str) -> OutTradeNo {
    OutTradeNo::parse(text).unwrap()
}

pub fn orn(text: &str) -> OutRequestNo {
    OutRequestNo::parse(text).unwrap()
}

pub const APP_ID: &str = "2021000000000001";
pub const SELLER_ID: &str = "2088000000000001";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Orders, refunds and the inbox in memory, with the storage contract of the ports.
#[derive(Default)]
pub struct MemoryStore {
    pub orders: Mutex<HashMap<OutTradeNo, Order>>,
    pub refunds: Mutex<Vec<Refund>>,
    /// Every status each refund was stored with, in order.
    pub history: Mutex<HashMap<RefundId, Vec<RefundStatus>>>,
    /// (source, notify_id) → handled?
    pub inbox: Mutex<HashMap<(NotificationSource, String), bool>>,
    /// (source, notify_id) → the body first recorded under it.
    pub inbox_bodies: Mutex<HashMap<(NotificationSource, String), String>>,
    pub raw_notifications: Mutex<Vec<String>>,
}

impl MemoryStore {
    pub fn put_order(&self, order: Order) {
        lock(&self.orders).insert(order.out_trade_no.clone(), order);
    }

    pub fn order(&self, out_trade_no: &str) -> Order {
        lock(&self.orders)[&otn(out_trade_no)].clone()
    }

    pub fn refund_list(&self) -> Vec<Refund> {
        lock(&self.refunds).clone()
    }

    fn record_history(&self, refund: &Refund) {
        lock(&self.history)
            .entry(refund.refund_id.clone())
            .or_default()
            .push(refund.status);
    }

    fn replace_refund(&self, refund: &Refund) -> Result<(), RepoError> {
        let mut refunds = lock(&self.refunds);
        let stored = refunds
            .iter_mut()
            .find(|r| r.refund_id == refund.refund_id)
            .ok_or_else(|| RepoError::NotFound(refund.refund_id.to_string()))?;
        if stored.version != refund.version {
            return Err(RepoError::Conflict(refund.refund_id.to_string()));
        }
        *stored = Refund {
            version: refund.version + 1,
            ..refund.clone()
        };
        Ok(())
    }
}

#[async_trait]
impl OrderRepository for MemoryStore {
    async fn insert(&self, order: &Order) -> Result<(), RepoError> {
        let mut orders = lock(&self.orders);
        if orders.contains_key(&order.out_trade_no) {
            return Err(RepoError::Duplicate(order.out_trade_no.to_string()));
        }
        orders.insert(order.out_trade_no.clone(), order.clone());
        Ok(())
    }

    async fn get(&self, out_trade_no: &OutTradeNo) -> Result<Option<Order>, RepoError> {
        Ok(lock(&self.orders).get(out_trade_no).cloned())
    }

    async fn find_by_trade_no(&self, trade_no: &TradeNo) -> Result<Option<Order>, RepoError> {
        Ok(lock(&self.orders)
            .values()
            .find(|o| o.trade_no.as_ref() == Some(trade_no))
            .cloned())
    }

    async fn update(&self, order: &Order) -> Result<(), RepoError> {
        let mut orders = lock(&self.orders);
        let stored = orders
            .get_mut(&order.out_trade_no)
            .ok_or_else(|| RepoError::NotFound(order.out_trade_no.to_string()))?;
        if stored.version != order.version {
            return Err(RepoError::Conflict(order.out_trade_no.to_string()));
        }
        *stored = Order {
            version: order.version + 1,
            ..order.clone()
        };
        Ok(())
    }

    async fn list(&self, filter: &OrderFilter) -> Result<Page<Order>, RepoError> {
        let items = lock(&self.orders)
            .values()
            .filter(|o| filter.status.is_none_or(|s| o.status == s))
            .cloned()
            .collect();
        Ok(Page {
            items,
            next_cursor: None,
        })
    }
}

#[async_trait]
impl RefundRepository for MemoryStore {
    async fn reserve(&self, new: &NewRefund) -> Result<Refund, ReserveError> {
        // Both locks held for the whole check-and-insert: the atomicity the port demands.
        let orders = lock(&self.orders);
        let mut refunds = lock(&self.refunds);
        let order = orders
            .get(&new.out_trade_no)
            .ok_or(ReserveError::OrderNotFound)?;
        let of_order = || {
            refunds
                .iter()
                .filter(|r| r.out_trade_no == new.out_trade_no)
        };
        if let Some(existing) = of_order().find(|r| r.out_request_no == new.out_request_no) {
            return Err(ReserveError::DuplicateOutRequestNo(Box::new(
                existing.clone(),
            )));
        }
        let reserved = Amount::sum(
            of_order()
                .filter(|r| r.status.holds_reservation())
                .map(|r| r.amount),
        )
        .expect("reserved sum fits");
        check_reservation(order.status, order.total_amount, reserved, new.amount)?;
        let refund = new.clone().into_refund();
        refunds.push(refund.clone());
        drop(refunds);
        self.record_history(&refund);
        Ok(refund)
    }

    async fn get(&self, refund_id: &RefundId) -> Result<Option<Refund>, RepoError> {
        Ok(lock(&self.refunds)
            .iter()
            .find(|r| &r.refund_id == refund_id)
            .cloned())
    }

    async fn get_by_out_request_no(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<Refund>, RepoError> {
        Ok(lock(&self.refunds)
            .iter()
            .find(|r| &r.out_trade_no == out_trade_no && &r.out_request_no == out_request_no)
            .cloned())
    }

    async fn list_for_order(&self, out_trade_no: &OutTradeNo) -> Result<Vec<Refund>, RepoError> {
        Ok(lock(&self.refunds)
            .iter()
            .filter(|r| &r.out_trade_no == out_trade_no)
            .cloned()
            .collect())
    }

    async fn list(&self, filter: &RefundFilter) -> Result<Page<Refund>, RepoError> {
        let items = lock(&self.refunds)
            .iter()
            .filter(|r| filter.status.is_none_or(|s| r.status == s))
            .cloned()
            .collect();
        Ok(Page {
            items,
            next_cursor: None,
        })
    }

    async fn update(&self, refund: &Refund) -> Result<(), RepoError> {
        self.replace_refund(refund)?;
        self.record_history(refund);
        Ok(())
    }

    async fn update_all(&self, refunds: &[Refund]) -> Result<(), RepoError> {
        {
            let stored = lock(&self.refunds);
            for refund in refunds {
                let current = stored.iter().find(|r| r.refund_id == refund.refund_id);
                if current.map(|r| r.version) != Some(refund.version) {
                    return Err(RepoError::Conflict(refund.refund_id.to_string()));
                }
            }
        }
        for refund in refunds {
            self.replace_refund(refund)?;
            self.record_history(refund);
        }
        Ok(())
    }

    async fn update_with_order(&self, refund: &Refund, order: &Order) -> Result<(), RepoError> {
        let current = lock(&self.orders)
            .get(&order.out_trade_no)
            .map(|o| o.version);
        if current != Some(order.version) {
            return Err(RepoError::Conflict(order.out_trade_no.to_string()));
        }
        self.replace_refund(refund)?;
        OrderRepository::update(self, order).await?;
        self.record_history(refund);
        Ok(())
    }
}

#[async_trait]
impl NotificationInbox for MemoryStore {
    async fn record(&self, entry: &InboxEntry) -> Result<InboxState, RepoError> {
        let mut inbox = lock(&self.inbox);
        let key = (entry.source, entry.notify_id.clone());
        let first = lock(&self.inbox_bodies)
            .entry(key.clone())
            .or_insert_with(|| entry.raw_body.clone())
            .clone();
        if first != entry.raw_body {
            return Ok(InboxState::Conflicting);
        }
        let handled = *inbox.entry(key).or_insert_with(|| {
            lock(&self.raw_notifications).push(entry.raw_body.clone());
            false
        });
        Ok(if handled {
            InboxState::AlreadyHandled
        } else {
            InboxState::ToHandle
        })
    }

    async fn mark_handled(
        &self,
        source: NotificationSource,
        notify_id: &str,
        _at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        lock(&self.inbox).insert((source, notify_id.to_owned()), true);
        Ok(())
    }
}

/// Mocks plus the memory store, assembled into use cases by [`Harness::build`].
pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub payments: MockPaymentGateway,
    /// The OpenAPI route: it sends refunds and queries them.
    pub openapi: MockRefundSubmitter,
    pub openapi_query: MockRefundQuery,
    /// A legacy route is configured when either of its parts is set; a part left
    /// unset is a mock that expects nothing.
    pub mapi_nopwd: Option<MockRefundSubmitter>,
    pub mapi_nopwd_batches: Option<MockRefundBatches>,
    pub mapi_pwd: Option<MockRefundSubmitter>,
    pub mapi_pwd_batches: Option<MockRefundBatches>,
    /// The verifier of legacy refund notifications.
    pub refund_notifications: Option<MockRefundNotificationVerifier>,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    pub settings: Settings,
    /// Replaces the store's order repository (for storage failure tests).
    pub orders_override: Option<Arc<dyn OrderRepository>>,
    pub refunds_override: Option<Arc<dyn RefundRepository>>,
    /// Replaces the mocked OpenAPI route (for stateful fakes).
    pub openapi_override: Option<RefundRoute>,
}

pub struct Built {
    pub orders: Orders,
    pub refunds: Refunds,
    pub notifications: Notifications,
    pub store: Arc<MemoryStore>,
    pub now: Arc<Mutex<DateTime<Utc>>>,
}

impl Built {
    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.now);
        *now += by;
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness {
            store: Arc::new(MemoryStore::default()),
            payments: MockPaymentGateway::new(),
            openapi: MockRefundSubmitter::new(),
            openapi_query: MockRefundQuery::new(),
            mapi_nopwd: None,
            mapi_nopwd_batches: None,
            mapi_pwd: None,
            mapi_pwd_batches: None,
            refund_notifications: None,
            now: Arc::new(Mutex::new(t0())),
            settings: Settings::new(MerchantIdentity {
                app_id: AppId::parse(APP_ID).unwrap(),
                seller_id: Some(SellerId::parse(SELLER_ID).unwrap()),
            }),
            orders_override: None,
            refunds_override: None,
            openapi_override: None,
        }
    }

    pub fn build(self) -> Built {
        let refund_gateways = RefundGateways {
            openapi: Some(self.openapi_override.unwrap_or_else(|| {
                RefundRoute::new(Arc::new(self.openapi)).with_query(Arc::new(self.openapi_query))
            })),
            mapi_nopwd: legacy_route(self.mapi_nopwd, self.mapi_nopwd_batches),
            mapi_pwd: legacy_route(self.mapi_pwd, self.mapi_pwd_batches),
            notifications: self
                .refund_notifications
                .map(|v| Arc::new(v) as Arc<dyn RefundNotificationVerifier>),
        };
        let mut clock = MockClock::new();
        let now = self.now.clone();
        clock.expect_now().returning(move || *lock(&now));
        let mut ids = MockIdSource::new();
        let counter = Arc::new(AtomicU64::new(0));
        let next = move || counter.fetch_add(1, Ordering::SeqCst) + 1;
        let n1 = next.clone();
        let n2 = next.clone();
        ids.expect_out_trade_no()
            .returning(move || OutTradeNo::parse(format!("pp{}", n1())).unwrap());
        ids.expect_refund_id()
            .returning(move || RefundId::parse(format!("rf_{}", n2())).unwrap());
        ids.expect_out_request_no()
            .returning(move || OutRequestNo::parse(format!("rq{}", next())).unwrap());
        let ports = Ports {
            orders: self.orders_override.unwrap_or_else(|| self.store.clone()),
            refunds: self.refunds_override.unwrap_or_else(|| self.store.clone()),
            inbox: self.store.clone(),
            payments: Arc::new(self.payments),
            refund_gateways,
            clock: Arc::new(clock),
            ids: Arc::new(ids),
        };
        let settings = Arc::new(self.settings);
        Built {
            orders: Orders::new(ports.clone(), settings.clone()),
            refunds: Refunds::new(ports.clone(), settings.clone()),
            notifications: Notifications::new(ports, settings),
            store: self.store,
            now: self.now,
        }
    }
}

/// A legacy route (no query) from its mocked parts, when any is set.
fn legacy_route(
    submit: Option<MockRefundSubmitter>,
    batches: Option<MockRefundBatches>,
) -> Option<RefundRoute> {
    if submit.is_none() && batches.is_none() {
        return None;
    }
    let route = RefundRoute::new(Arc::new(submit.unwrap_or_default()));
    Some(match batches {
        Some(batches) => route.with_batches(Arc::new(batches)),
        None => route,
    })
}

/// A pending order created at [`t0`], payable for 30 minutes.
pub fn pending_order(id: &str, total: &str) -> Order {
    Order::new(
        otn(id),
        "Green tea".into(),
        None,
        yuan(total),
        t0(),
        Duration::minutes(30),
    )
}

pub fn trade_no(text: &str) -> TradeNo {
    TradeNo::parse(text).unwrap()
}

/// An order paid one minute after [`t0`] as Alipay trade `T<id>`.
pub fn paid_order(id: &str, total: &str) -> Order {
    let mut order = pending_order(id, total);
    order
        .confirm_payment(
            PaymentConfirmation {
                trade_no: trade_no(&format!("T{id}")),
                paid_at: t0() + Duration::minutes(1),
                buyer_id: None,
                buyer_logon_id: None,
            },
            t0() + Duration::minutes(1),
        )
        .unwrap();
    order
}

pub fn rejected(sub_code: &str) -> payport_domain::error::GatewayError {
    payport_domain::error::GatewayError::Rejected(payport_domain::refund::GatewayFailure {
        code: "40004".into(),
        sub_code: Some(sub_code.into()),
        message: "Business Failed".into(),
    })
}
