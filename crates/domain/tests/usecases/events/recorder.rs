//! [`Recorder`]: the memory store's order and refund repositories, keeping every save
//! call the use cases make, and [`Recorder::check`], the rules every test is held to.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use payport_domain::event::{reservation_events, EventSubject, EventType, NewEvent};
use payport_domain::ids::{EventId, OutRequestNo, OutTradeNo, RefundId, TradeNo};
use payport_domain::order::{Order, OrderStatus};
use payport_domain::ports::*;
use payport_domain::refund::{NewRefund, Refund, RefundStatus};
use payport_domain::RepoError;

use crate::support::{Built, Harness, MemoryStore};

/// The repository call that saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// An order's save: `OrderRepository::update`, or the one a notification makes
    /// with its record (`NotificationInbox::record_and_apply`).
    OrderUpdate,
    Reserve,
    RefundUpdate,
    UpdateAll,
    UpdateWithOrder,
    InsertExternal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Order(OrderStatus),
    Refund(RefundStatus),
}

impl Status {
    /// The status an event announces, read from its name (not from the domain's own
    /// mapping, which is what is under test).
    fn of_event(event_type: EventType) -> Status {
        let name = event_type.as_str();
        if let Some(status) = name.strip_prefix("order.") {
            Status::Order(OrderStatus::parse(status).unwrap())
        } else {
            Status::Refund(RefundStatus::parse(name.strip_prefix("refund.").unwrap()).unwrap())
        }
    }

    /// An edge of the order or refund state machine.
    fn can_become(self, next: Status) -> bool {
        use OrderStatus::*;
        match (self, next) {
            (Status::Refund(from), Status::Refund(to)) => from.can_become(to),
            (Status::Order(from), Status::Order(to)) => matches!(
                (from, to),
                (Pending, Paid | Closed)
                    | (Closed, Paid)
                    | (Paid, PartiallyRefunded | Refunded | Finished)
                    | (PartiallyRefunded, Refunded | Finished)
            ),
            _ => false,
        }
    }
}

/// One object a save writes: its status as stored before (`None`: a new refund), and
/// the status and version the call hands.
#[derive(Debug, Clone)]
pub struct Saved {
    pub subject: EventSubject,
    pub before: Option<Status>,
    pub after: Status,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct Save {
    pub call: Call,
    pub objects: Vec<Saved>,
    /// For `reserve`: the events the store writes under the ids it was handed.
    pub events: Vec<NewEvent>,
    /// False when the store refused it (a conflict): nothing of it was written.
    pub stored: bool,
    /// The clock when the call was made.
    pub at: DateTime<Utc>,
}

type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

pub struct Recorder {
    store: Arc<MemoryStore>,
    now: Arc<Mutex<DateTime<Utc>>>,
    saves: Mutex<Vec<Save>>,
    hooks: Mutex<Vec<(Call, Hook)>>,
}

/// Puts a recorder between the harness's use cases and its memory store.
pub fn record(h: &mut Harness) -> Arc<Recorder> {
    let recorder = Arc::new(Recorder {
        store: h.store.clone(),
        now: h.now.clone(),
        saves: Mutex::default(),
        hooks: Mutex::default(),
    });
    h.orders_override = Some(recorder.clone());
    h.refunds_override = Some(recorder.clone());
    h.inbox_override = Some(recorder.clone());
    recorder
}

fn describe(events: &[NewEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {}", e.event_type.as_str(), e.subject.object_id()))
        .collect()
}

impl Recorder {
    /// Runs `hook` just before the next `call`, as another writer getting in first.
    pub fn before<F, Fut>(&self, call: Call, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Hook = Box::new(move || Box::pin(hook()));
        self.hooks.lock().unwrap().push((call, hook));
    }

    /// How many calls were made so far: pass it to [`Self::stored_since`].
    pub fn mark(&self) -> usize {
        self.saves.lock().unwrap().len()
    }

    pub fn saves(&self) -> Vec<Save> {
        self.saves.lock().unwrap().clone()
    }

    /// The calls stored since `mark`, each with its events as `"<type> <object id>"`.
    pub fn stored_since(&self, mark: usize) -> Vec<(Call, Vec<String>)> {
        self.saves()[mark..]
            .iter()
            .filter(|s| s.stored)
            .map(|s| (s.call, describe(&s.events)))
            .collect()
    }

    /// Every call since `mark`, stored or not.
    pub fn tried_since(&self, mark: usize) -> Vec<(Call, bool, Vec<String>)> {
        self.saves()[mark..]
            .iter()
            .map(|s| (s.call, s.stored, describe(&s.events)))
            .collect()
    }

    /// The rules every save is held to, whatever the path: each event's id was issued
    /// by the id source and is handed once in the whole test; it is dated the clock's
    /// now; it is about an object the same call writes; and, for every save that was
    /// stored, the events about each object name, in order, the statuses it passes
    /// through from what was stored to what is saved (none when the status stays).
    /// So the last event stored about each object names its status as stored now.
    pub fn check(&self, app: &Built) {
        let issued: HashSet<EventId> = app.event_ids.lock().unwrap().iter().cloned().collect();
        let mut handed = HashSet::new();
        for save in self.saves() {
            let call = save.call;
            for e in &save.events {
                assert!(issued.contains(&e.id), "{call:?}: {} is not fresh", e.id);
                assert!(
                    handed.insert(e.id.clone()),
                    "{call:?}: {} handed twice",
                    e.id
                );
                assert_eq!(e.created_at, save.at, "{call:?}: {} dated now", e.id);
                assert!(
                    save.objects.iter().any(|o| o.subject == e.subject),
                    "{call:?}: {} is about {:?}, which this call does not save",
                    e.id,
                    e.subject
                );
            }
            // A refused save wrote nothing, and what it was refused for (another
            // writer got in first) makes the stored status no measure of its events.
            for o in save.objects.iter().filter(|_| save.stored) {
                let path: Vec<Status> = save
                    .events
                    .iter()
                    .filter(|e| e.subject == o.subject)
                    .map(|e| Status::of_event(e.event_type))
                    .collect();
                assert!(
                    passes_through(o.before, o.after, &path),
                    "{call:?} saves {:?} from {:?} to {:?} with events for {path:?}",
                    o.subject,
                    o.before,
                    o.after
                );
            }
        }
        self.check_announced_is_stored();
    }

    /// What a receiver that applied every stored event in order would believe: the
    /// last status announced for each order and refund.
    fn announced(&self) -> HashMap<EventSubject, Status> {
        let mut last = HashMap::new();
        for save in self.saves().into_iter().filter(|s| s.stored) {
            for e in save.events {
                last.insert(e.subject, Status::of_event(e.event_type));
            }
        }
        last
    }

    /// A receiver that applied every stored event in order knows each order's and
    /// refund's status as it is stored now.
    fn check_announced_is_stored(&self) {
        for (subject, status) in self.announced() {
            let stored = match &subject {
                EventSubject::Order(no) => Status::Order(self.store.order(no.as_str()).status),
                EventSubject::Refund(id) => {
                    let refunds = self.store.refund_list();
                    let refund = refunds.iter().find(|r| &r.refund_id == id).unwrap();
                    Status::Refund(refund.status)
                }
            };
            assert_eq!(status, stored, "the last event about {subject:?}");
        }
    }

    async fn run_hook(&self, call: Call) {
        let hook = {
            let mut hooks = self.hooks.lock().unwrap();
            let at = hooks.iter().position(|(c, _)| *c == call);
            at.map(|i| hooks.remove(i).1)
        };
        if let Some(hook) = hook {
            hook().await;
        }
    }

    async fn order_saved(&self, order: &Order) -> Saved {
        let stored = OrderRepository::get(&*self.store, &order.out_trade_no)
            .await
            .unwrap();
        Saved {
            subject: EventSubject::Order(order.out_trade_no.clone()),
            before: stored.map(|o| Status::Order(o.status)),
            after: Status::Order(order.status),
            version: order.version,
        }
    }

    async fn refund_saved(&self, refund: &Refund) -> Saved {
        let stored = RefundRepository::get(&*self.store, &refund.refund_id)
            .await
            .unwrap();
        Saved {
            subject: EventSubject::Refund(refund.refund_id.clone()),
            before: stored.map(|r| Status::Refund(r.status)),
            after: Status::Refund(refund.status),
            version: refund.version,
        }
    }

    fn push<T, E>(
        &self,
        call: Call,
        objects: Vec<Saved>,
        events: &[NewEvent],
        result: &Result<T, E>,
    ) {
        let at = *self.now.lock().unwrap();
        self.saves.lock().unwrap().push(Save {
            call,
            objects,
            events: events.to_vec(),
            stored: result.is_ok(),
            at,
        });
    }
}

fn passes_through(before: Option<Status>, after: Status, path: &[Status]) -> bool {
    match before {
        Some(before) if before == after => path.is_empty(),
        // A new refund: created with its first event's status, then along the state
        // machine (a refund sent at once: approved, then processing, in one save).
        None => path.last() == Some(&after) && path.windows(2).all(|w| w[0].can_become(w[1])),
        Some(before) => {
            path.last() == Some(&after)
                && std::iter::once(before)
                    .chain(path.iter().copied())
                    .zip(path.iter().copied())
                    .all(|(from, to)| from.can_become(to))
        }
    }
}

#[async_trait]
impl OrderRepository for Recorder {
    async fn insert(&self, order: &Order) -> Result<(), RepoError> {
        self.store.insert(order).await
    }

    async fn get(&self, out_trade_no: &OutTradeNo) -> Result<Option<Order>, RepoError> {
        OrderRepository::get(&*self.store, out_trade_no).await
    }

    async fn find_by_trade_no(&self, trade_no: &TradeNo) -> Result<Option<Order>, RepoError> {
        self.store.find_by_trade_no(trade_no).await
    }

    async fn update(&self, order: &Order, events: &[NewEvent]) -> Result<(), RepoError> {
        self.run_hook(Call::OrderUpdate).await;
        let saved = vec![self.order_saved(order).await];
        let result = OrderRepository::update(&*self.store, order, events).await;
        self.push(Call::OrderUpdate, saved, events, &result);
        result
    }

    async fn list(&self, filter: &OrderFilter) -> Result<Page<Order>, RepoError> {
        OrderRepository::list(&*self.store, filter).await
    }
}

#[async_trait]
impl NotificationInbox for Recorder {
    async fn record(&self, entry: &InboxEntry) -> Result<InboxState, RepoError> {
        NotificationInbox::record(&*self.store, entry).await
    }

    async fn mark_handled(
        &self,
        source: NotificationSource,
        notify_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        self.store.mark_handled(source, notify_id, at).await
    }

    async fn record_and_apply<'a>(
        &self,
        entry: &InboxEntry,
        order: Option<&'a Order>,
        events: &[NewEvent],
    ) -> Result<InboxApplied, RepoError> {
        let Some(order) = order else {
            return self.store.record_and_apply(entry, None, events).await;
        };
        self.run_hook(Call::OrderUpdate).await;
        let saved = vec![self.order_saved(order).await];
        let result = self
            .store
            .record_and_apply(entry, Some(order), events)
            .await;
        // A notification handled before saves nothing.
        let stored = matches!(result, Ok(InboxApplied::Applied));
        self.push(
            Call::OrderUpdate,
            saved,
            events,
            &stored.then_some(()).ok_or(()),
        );
        result
    }
}

#[async_trait]
impl RefundRepository for Recorder {
    async fn reserve(&self, new: &NewRefund, event_id: &EventId) -> Result<Refund, ReserveError> {
        self.run_hook(Call::Reserve).await;
        let result = self.store.reserve(new, event_id).await;
        let (objects, events) = match &result {
            Ok(refund) => (
                vec![Saved {
                    subject: EventSubject::Refund(refund.refund_id.clone()),
                    before: None,
                    after: Status::Refund(refund.status),
                    version: refund.version,
                }],
                reservation_events(new, refund, event_id),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
        self.push(Call::Reserve, objects, &events, &result);
        result
    }

    async fn get(&self, refund_id: &RefundId) -> Result<Option<Refund>, RepoError> {
        RefundRepository::get(&*self.store, refund_id).await
    }

    async fn get_by_out_request_no(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<Refund>, RepoError> {
        self.store
            .get_by_out_request_no(out_trade_no, out_request_no)
            .await
    }

    async fn list_for_order(&self, out_trade_no: &OutTradeNo) -> Result<Vec<Refund>, RepoError> {
        self.store.list_for_order(out_trade_no).await
    }

    async fn list_for_orders(
        &self,
        out_trade_nos: &[OutTradeNo],
    ) -> Result<Vec<Refund>, RepoError> {
        self.store.list_for_orders(out_trade_nos).await
    }

    async fn list(&self, filter: &RefundFilter) -> Result<Page<Refund>, RepoError> {
        RefundRepository::list(&*self.store, filter).await
    }

    async fn update(&self, refund: &Refund, events: &[NewEvent]) -> Result<(), RepoError> {
        self.run_hook(Call::RefundUpdate).await;
        let saved = vec![self.refund_saved(refund).await];
        let result = RefundRepository::update(&*self.store, refund, events).await;
        self.push(Call::RefundUpdate, saved, events, &result);
        result
    }

    async fn update_all(&self, refunds: &[Refund], events: &[NewEvent]) -> Result<(), RepoError> {
        self.run_hook(Call::UpdateAll).await;
        let mut saved = Vec::with_capacity(refunds.len());
        for refund in refunds {
            saved.push(self.refund_saved(refund).await);
        }
        let result = self.store.update_all(refunds, events).await;
        self.push(Call::UpdateAll, saved, events, &result);
        result
    }

    async fn update_with_order(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        self.run_hook(Call::UpdateWithOrder).await;
        let saved = vec![
            self.refund_saved(refund).await,
            self.order_saved(order).await,
        ];
        let result = self.store.update_with_order(refund, order, events).await;
        self.push(Call::UpdateWithOrder, saved, events, &result);
        result
    }

    async fn insert_external(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        self.run_hook(Call::InsertExternal).await;
        let saved = vec![
            Saved {
                subject: EventSubject::Refund(refund.refund_id.clone()),
                before: None,
                after: Status::Refund(refund.status),
                version: refund.version,
            },
            self.order_saved(order).await,
        ];
        let result = self.store.insert_external(refund, order, events).await;
        self.push(Call::InsertExternal, saved, events, &result);
        result
    }
}
