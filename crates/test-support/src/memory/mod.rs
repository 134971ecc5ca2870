//! [`MemoryStore`]: every storage port in memory, with `DieselStore`'s contract (the
//! contract suite, `crate::contract`, runs on both).
//!
//! One store is one database: its locks are taken orders first, then refunds, then
//! the outbox, so that the multi-row steps (reservations, `update_with_order`,
//! `update_all`, and every save with events) are atomic and never deadlock. Saves
//! that touch several rows or write events are tried on a copy and committed only
//! when every row and every event passed, as a transaction would.

mod keys;
mod outbox;
mod queue;
mod reconciliations;
mod refunds;
mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payport_domain::event::NewEvent;
use payport_domain::ports::{
    EventRenderer, GatewayExchange, IdempotencyRecord, NotificationSource, OrderFilter,
    OrderRepository, Page, StoredEvent,
};
use payport_domain::{Order, OutTradeNo, Refund, RefundId, RefundStatus, RepoError, TradeNo};

use self::outbox::{Outbox, Renderer};
use crate::fakes::MemoryLog;
use crate::lock;

/// Orders, refunds, the inbox, the exchange log, idempotency keys, work claims,
/// reconciliation reports, and the outbox (events, webhook endpoints, deliveries).
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub orders: Mutex<HashMap<OutTradeNo, Order>>,
    /// In insertion order.
    pub refunds: Mutex<Vec<Refund>>,
    /// Every status each refund was stored with, in order.
    pub history: Mutex<HashMap<RefundId, Vec<RefundStatus>>>,
    /// (source, notify_id) → handled?
    pub inbox: Mutex<HashMap<(NotificationSource, String), bool>>,
    /// (source, notify_id) → the body first recorded under it.
    pub inbox_contents: Mutex<HashMap<(NotificationSource, String), String>>,
    /// The raw body of each notification, kept the first time it is recorded.
    pub raw_notifications: Mutex<Vec<String>>,
    /// Every gateway exchange recorded through [`ExchangeLog`](payport_domain::ports::ExchangeLog).
    pub exchanges: MemoryLog,
    pub idempotency: Mutex<HashMap<String, IdempotencyRecord>>,
    /// Instance id → its last heartbeat.
    pub instances: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Orders claimed for expiry, and until when (the `claimed_until` column).
    pub order_claims: Mutex<HashMap<OutTradeNo, DateTime<Utc>>>,
    /// Reconciliation reports by Beijing date, with their daily-run claims.
    pub reconciliations: Mutex<HashMap<chrono::NaiveDate, reconciliations::StoredReconciliation>>,
    pub(crate) outbox: Mutex<Outbox>,
    renderer: Renderer,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Renders event bodies with `renderer` (by default: a small JSON envelope naming
    /// the object, as `DieselStore`'s default).
    #[must_use]
    pub fn with_event_renderer(mut self, renderer: Arc<dyn EventRenderer>) -> MemoryStore {
        self.renderer = Renderer(renderer);
        self
    }

    /// Every event written, oldest first.
    pub fn events(&self) -> Vec<StoredEvent> {
        lock(&self.outbox).events.clone()
    }

    /// Runs `change` on copies of the orders and the refunds, writes the events it
    /// returns about the result, and keeps all of it only when both succeeded: one
    /// transaction.
    pub(crate) fn transact<T, E: From<RepoError>>(
        &self,
        change: impl FnOnce(
            &mut HashMap<OutTradeNo, Order>,
            &mut Vec<Refund>,
        ) -> Result<(T, Vec<NewEvent>), E>,
    ) -> Result<T, E> {
        let mut orders = lock(&self.orders);
        let mut refunds = lock(&self.refunds);
        let mut outbox = lock(&self.outbox);
        let mut order_draft = orders.clone();
        let mut refund_draft = refunds.clone();
        let (value, events) = change(&mut order_draft, &mut refund_draft)?;
        outbox.write(&self.renderer, &events, &order_draft, &refund_draft)?;
        *orders = order_draft;
        *refunds = refund_draft;
        Ok(value)
    }

    /// Stores `order` as is (no uniqueness or version checks): a fixture.
    pub fn put_order(&self, order: Order) {
        lock(&self.orders).insert(order.out_trade_no.clone(), order);
    }

    /// The stored order.
    ///
    /// # Panics
    /// No such order, or not a valid out_trade_no.
    pub fn order(&self, out_trade_no: &str) -> Order {
        let no = OutTradeNo::parse(out_trade_no).expect("out_trade_no");
        lock(&self.orders)
            .get(&no)
            .cloned()
            .unwrap_or_else(|| panic!("no order {out_trade_no}"))
    }

    /// Every refund, in insertion order.
    pub fn refund_list(&self) -> Vec<Refund> {
        lock(&self.refunds).clone()
    }

    /// The exchanges recorded for an order, oldest first (as `DieselStore` has it).
    pub fn exchanges_for_order(&self, out_trade_no: &str) -> Vec<GatewayExchange> {
        self.exchanges.for_order(out_trade_no)
    }

    fn record_history(&self, refund: &Refund) {
        lock(&self.history)
            .entry(refund.refund_id.clone())
            .or_default()
            .push(refund.status);
    }
}

/// A conditional save of one order into `orders` (see the port's module doc).
fn save_order(orders: &mut HashMap<OutTradeNo, Order>, order: &Order) -> Result<(), RepoError> {
    let no = &order.out_trade_no;
    let stored = orders
        .get(no)
        .ok_or_else(|| RepoError::NotFound(format!("order {no}")))?;
    if stored.version != order.version {
        return Err(RepoError::Conflict(format!(
            "order {no} is at version {}, not {}",
            stored.version, order.version
        )));
    }
    if stored.total_amount != order.total_amount {
        return Err(RepoError::Conflict(format!(
            "order {no}: total_amount is {} fen and cannot change",
            stored.total_amount.fen()
        )));
    }
    if let Some(trade_no) = &order.trade_no {
        trade_no_is_free(orders, trade_no, no)?;
    }
    let next = order
        .version
        .checked_add(1)
        .ok_or_else(|| RepoError::Conflict(format!("order {no}: version overflows")))?;
    orders.insert(
        no.clone(),
        Order {
            version: next,
            ..order.clone()
        },
    );
    Ok(())
}

/// Alipay's trade_no names one trade: unique across orders, like its column.
fn trade_no_is_free(
    orders: &HashMap<OutTradeNo, Order>,
    trade_no: &TradeNo,
    owner: &OutTradeNo,
) -> Result<(), RepoError> {
    let taken = orders
        .values()
        .any(|o| &o.out_trade_no != owner && o.trade_no.as_ref() == Some(trade_no));
    if taken {
        return Err(RepoError::Duplicate(format!("trade_no {trade_no}")));
    }
    Ok(())
}

/// A `list` page the way `DieselStore` pages: newest first by `(created_at, id)`, a
/// limit of 0 meaning 50, at most 500, and its own cursor format (`p1.<µs>.<id>`).
pub(crate) fn page<T>(
    mut items: Vec<T>,
    limit: u32,
    cursor: Option<&str>,
    key: impl Fn(&T) -> (i64, String),
) -> Result<Page<T>, RepoError> {
    let limit = match usize::try_from(limit) {
        Ok(0) => 50,
        Ok(n) => n.min(500),
        Err(_) => 500,
    };
    let after = cursor
        .map(|c| {
            decode_cursor(c).ok_or_else(|| {
                RepoError::NotFound(format!("page cursor {c:?} (not one this store issued)"))
            })
        })
        .transpose()?;
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
    if let Some(after) = after {
        items.retain(|item| key(item) < after);
    }
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| {
            let (micros, id) = key(last);
            format!("p1.{micros}.{id}")
        })
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

fn decode_cursor(text: &str) -> Option<(i64, String)> {
    let (micros, id) = text.strip_prefix("p1.")?.split_once('.')?;
    let micros: i64 = micros.parse().ok()?;
    DateTime::from_timestamp_micros(micros)?;
    let id_ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    id_ok.then(|| (micros, id.to_owned()))
}

#[async_trait]
impl OrderRepository for MemoryStore {
    async fn insert(&self, order: &Order) -> Result<(), RepoError> {
        let mut orders = lock(&self.orders);
        let no = &order.out_trade_no;
        if orders.contains_key(no) {
            return Err(RepoError::Duplicate(format!("order {no}")));
        }
        if let Some(trade_no) = &order.trade_no {
            trade_no_is_free(&orders, trade_no, no)?;
        }
        orders.insert(no.clone(), order.clone());
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

    async fn update(&self, order: &Order, events: &[NewEvent]) -> Result<(), RepoError> {
        self.transact(|orders, _| {
            save_order(orders, order)?;
            Ok(((), events.to_vec()))
        })
    }

    async fn list(&self, filter: &OrderFilter) -> Result<Page<Order>, RepoError> {
        let items = lock(&self.orders)
            .values()
            .filter(|o| filter.status.is_none_or(|s| o.status == s))
            .cloned()
            .collect();
        page(items, filter.limit, filter.cursor.as_deref(), |o| {
            (o.created_at.timestamp_micros(), o.out_trade_no.to_string())
        })
    }
}
