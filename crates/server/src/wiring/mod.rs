//! Wiring: from [`Config`] to the use cases, their adapters and the simulator. The
//! only module that names a concrete adapter; everything past it holds trait objects.
//!
//! [`Payport::builder`] wires the built-in adapters unless the program hands in its
//! own store, payment gateway, refund gateways, clock or id source.

mod alipay;
mod store;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use payport_domain::policy::RefundPolicy;
use payport_domain::ports::{
    Clock, DeliveryQueue, EventLog, ExchangeLog, IdSource, IdempotencyStore, NotificationInbox,
    OrderRepository, PaymentGateway, ReconciliationStore, RefundGateways, RefundRepository,
    TradeBills, WebhookEndpoints, WebhookSender, WorkQueue,
};
use payport_domain::usecases::{
    Notifications, Orders, Ports, Reconciliations, Refunds, Settings, WebhookPorts, Webhooks,
};
use payport_webhooks::HttpWebhookSender;

pub use self::store::{open_store, redact};
use self::store::{AssumedReady, SchemaReady};
use crate::api::event_models::ApiEventRenderer;
use crate::config::{checks, Config, Tokens};
use crate::runtime::{RandomIds, SystemClock};
use crate::state::{AppState, DailyReconciliation, DeliverySettings, Instance, Readiness, Wired};

/// How often the delivery loop looks for due deliveries when no request woke it.
pub const DELIVERY_POLL: Duration = Duration::from_millis(500);
/// A claim outlasts the longest attempt by this much.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Everything payport keeps: a store in place of the built-in Diesel one implements
/// every storage port, the event outbox and webhook deliveries included (its event
/// bodies rendered with [`ApiEventRenderer`]). Implemented for every type that does.
pub trait Store:
    OrderRepository
    + RefundRepository
    + NotificationInbox
    + ExchangeLog
    + WorkQueue
    + IdempotencyStore
    + EventLog
    + WebhookEndpoints
    + DeliveryQueue
    + ReconciliationStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: OrderRepository
        + RefundRepository
        + NotificationInbox
        + ExchangeLog
        + WorkQueue
        + IdempotencyStore
        + EventLog
        + WebhookEndpoints
        + DeliveryQueue
        + ReconciliationStore
        + Send
        + Sync
        + 'static
{
}

/// One store, seen through each of its ports.
#[derive(Clone)]
struct StorePorts {
    orders: Arc<dyn OrderRepository>,
    refunds: Arc<dyn RefundRepository>,
    inbox: Arc<dyn NotificationInbox>,
    exchanges: Arc<dyn ExchangeLog>,
    work: Arc<dyn WorkQueue>,
    idempotency: Arc<dyn IdempotencyStore>,
    events: Arc<dyn EventLog>,
    endpoints: Arc<dyn WebhookEndpoints>,
    deliveries: Arc<dyn DeliveryQueue>,
    reconciliations: Arc<dyn ReconciliationStore>,
}

impl StorePorts {
    fn of<S: Store>(store: S) -> StorePorts {
        let store = Arc::new(store);
        StorePorts {
            orders: store.clone(),
            refunds: store.clone(),
            inbox: store.clone(),
            exchanges: store.clone(),
            work: store.clone(),
            idempotency: store.clone(),
            events: store.clone(),
            endpoints: store.clone(),
            deliveries: store.clone(),
            reconciliations: store,
        }
    }
}

type MapRefundGateways = Box<dyn FnOnce(RefundGateways) -> RefundGateways + Send>;

/// The entry point for programs that embed payport: see [`Payport::builder`].
pub struct Payport;

impl Payport {
    /// Starts wiring payport from `config`; every part not replaced on the builder is
    /// the built-in one, exactly as `payport serve` runs it.
    pub fn builder(config: Config) -> PayportBuilder {
        PayportBuilder {
            config,
            public_url: None,
            store: None,
            payments: None,
            map_refund_gateways: None,
            clock: None,
            ids: None,
            webhook_sender: None,
            readiness: None,
        }
    }
}

/// Replaces built-in parts of payport before it is wired ([`PayportBuilder::build`])
/// or served (`PayportBuilder::serve`, defined beside the server in `serve`).
pub struct PayportBuilder {
    config: Config,
    pub(crate) public_url: Option<String>,
    store: Option<StorePorts>,
    payments: Option<Arc<dyn PaymentGateway>>,
    map_refund_gateways: Option<MapRefundGateways>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdSource>>,
    webhook_sender: Option<Arc<dyn WebhookSender>>,
    readiness: Option<Arc<dyn Readiness>>,
}

impl PayportBuilder {
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where Alipay reaches this instance (notify and return callbacks, and the
    /// in-process simulator). Default: `public_url` from the configuration, else
    /// `http://{listen}` (when served, the address actually bound).
    #[must_use]
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// A store in place of the built-in one (`database_url` is then not opened). It
    /// must be ready to use: payport does not migrate it.
    #[must_use]
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(StorePorts::of(store));
        self
    }

    /// A payment gateway in place of Alipay OpenAPI.
    #[must_use]
    pub fn payment_gateway(mut self, gateway: Arc<dyn PaymentGateway>) -> Self {
        self.payments = Some(gateway);
        self
    }

    /// Replaces the refund gateways: `map` receives the built-in ones (Alipay OpenAPI,
    /// and the legacy mapi pair when configured) and returns those payport uses, e.g.
    /// the same ones wrapped in a decorator.
    #[must_use]
    pub fn map_refund_gateways(
        mut self,
        map: impl FnOnce(RefundGateways) -> RefundGateways + Send + 'static,
    ) -> Self {
        self.map_refund_gateways = Some(Box::new(map));
        self
    }

    /// The time the domain sees, in place of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The source of new order, refund and request numbers, in place of random ones.
    #[must_use]
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// What sends webhook deliveries, in place of signed HTTP POSTs.
    #[must_use]
    pub fn webhook_sender(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.webhook_sender = Some(sender);
        self
    }

    /// What `GET /readyz` asks, in place of the built-in store's schema check (a
    /// store given to [`PayportBuilder::store`] is otherwise taken as ready).
    #[must_use]
    pub fn readiness(mut self, readiness: Arc<dyn Readiness>) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// Wires payport: checks the whole configuration, then opens and migrates the
    /// database (unless a store was given), builds the gateways, the simulator (in
    /// simulator mode) and the use cases, and makes the configured webhook endpoint
    /// match `webhooks.url` when it is set (created or updated; left alone when unset).
    ///
    /// # Errors
    /// Every problem [`checks::check`] finds, one line each, before the database is
    /// touched (missing or unusable keys, ids or settings; production mode with DEV
    /// material, short or shared tokens, or no public https URL); a database that
    /// cannot be opened or migrated, or the configured webhook endpoint not stored.
    pub async fn build(self) -> anyhow::Result<Wired> {
        let config = &self.config;
        let public_url = self
            .public_url
            .clone()
            .or_else(|| config.public_url.clone())
            .unwrap_or_else(|| format!("http://{}", config.listen));
        let public_url = public_url.trim_end_matches('/');
        let keys = checks::check(config, Some(public_url), &str::to_owned)
            .map_err(|problems| anyhow::anyhow!(problems.join("\n")))?;
        let (store, readiness): (_, Arc<dyn Readiness>) = match self.store {
            Some(store) => (store, Arc::new(AssumedReady)),
            None => {
                let diesel = open_store(&config.database_url)
                    .await?
                    .with_event_renderer(Arc::new(ApiEventRenderer));
                (
                    StorePorts::of(diesel.clone()),
                    Arc::new(SchemaReady(diesel)),
                )
            }
        };
        let readiness = self.readiness.unwrap_or(readiness);
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let (openapi, merchant) =
            alipay::openapi(config, public_url, keys, &clock, &store.exchanges)?;
        let sim = alipay::simulator(config)?;
        let mapi = alipay::mapi(config, public_url, &clock, &store.exchanges)?;
        let bills: Arc<dyn TradeBills> = Arc::new(openapi.clone());
        let mut refund_gateways = alipay::refund_gateways(&openapi, mapi);
        if let Some(map) = self.map_refund_gateways {
            refund_gateways = map(refund_gateways);
        }
        let mut settings = Settings::new(merchant);
        settings.refund_policy = RefundPolicy {
            approval: config.refunds.approval,
            window: chrono::Duration::days(config.refunds.window_days),
            default_gateway: config.refunds.default_gateway,
        };
        settings.stranded_after =
            chrono::Duration::days(config.reconciliation.stranded_after_days.into());
        settings.payment_checks = config.payments.checks();
        let settings = Arc::new(settings);
        let ids = self.ids.unwrap_or_else(|| Arc::new(RandomIds));
        let sender = match self.webhook_sender {
            Some(sender) => sender,
            None => Arc::new(
                HttpWebhookSender::new(config.webhooks.timeout(), clock.clone())
                    .map_err(anyhow::Error::msg)?,
            ),
        };
        let webhook_ports = WebhookPorts {
            events: store.events,
            endpoints: store.endpoints,
            deliveries: store.deliveries,
            sender: Arc::new(webhooks::Logged(sender)),
            clock: clock.clone(),
            ids: ids.clone(),
        };
        let webhooks = Webhooks::new(webhook_ports, config.webhooks.schedule());
        // An instance without webhooks.url leaves the stored endpoint alone: other
        // instances on the same database may be configured with it, and deleting it
        // would fail their pending deliveries. Operators delete it through the API.
        if let Some(endpoint) = config.webhooks.endpoint() {
            webhooks
                .configure(Some(endpoint))
                .await
                .context("cannot store the configured webhook endpoint (webhooks.url)")?;
        }
        let ports = Ports {
            orders: store.orders,
            refunds: store.refunds,
            inbox: store.inbox,
            work: store.work.clone(),
            payments: self.payments.unwrap_or_else(|| Arc::new(openapi)),
            refund_gateways,
            clock: clock.clone(),
            ids,
        };
        let dev_tokens = (config.auth.is_empty() && config.is_simulator()).then(Tokens::dev);
        let tokens = dev_tokens
            .clone()
            .unwrap_or_else(|| Tokens::from(&config.auth));
        Ok(Wired {
            state: Arc::new(AppState {
                orders: Orders::new(ports.clone(), settings.clone()),
                refunds: Refunds::new(ports.clone(), settings.clone()),
                notifications: Notifications::new(ports.clone(), settings.clone()),
                reconciliations: Reconciliations::new(
                    ports,
                    settings,
                    store.reconciliations,
                    bills,
                ),
                daily_reconciliation: DailyReconciliation {
                    enabled: config.reconciliation.enabled,
                    at: config.reconciliation.daily_at,
                },
                webhooks,
                delivery: DeliverySettings {
                    concurrency: config.webhooks.concurrency.max(1),
                    lease: config.webhooks.timeout() + LEASE_MARGIN,
                    poll: DELIVERY_POLL,
                },
                deliveries_due: Arc::default(),
                idempotency: store.idempotency,
                work: store.work,
                tokens,
                clock,
                readiness,
                metrics_enabled: config.metrics_enabled,
                instance: Instance {
                    id: uuid::Uuid::new_v4().simple().to_string(),
                    heartbeat: Duration::from_secs(config.heartbeat_secs.max(1)),
                    shutdown_timeout: Duration::from_secs(config.shutdown_timeout_secs),
                },
            }),
            sim,
            dev_tokens,
        })
    }
}

/// Wires payport with every built-in adapter; `public_url` is where Alipay can reach
/// this instance (notify and return callbacks, and the in-process simulator).
///
/// # Errors
/// As [`PayportBuilder::build`].
pub async fn wire(config: &Config, public_url: &str) -> anyhow::Result<Wired> {
    Payport::builder(config.clone())
        .public_url(public_url)
        .build()
        .await
}
