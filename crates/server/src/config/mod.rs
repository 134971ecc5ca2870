//! Configuration: defaults, then an optional `payport.toml`, then `PAYPORT_*`
//! environment variables with `__` for nesting (`PAYPORT_ALIPAY__APP_ID`).
//!
//! With nothing set at all, payport runs on SQLite `payport.db` against the in-process
//! simulator under `/sim` with the DEV keys built into the binary, and reads no file.
//!
//! Loading is strict ([`sources`]): an unknown key or `PAYPORT_*` variable, a bad
//! value, or a configuration that cannot start ([`checks`]) refuses to start, with
//! every problem listed at once, before any database is touched.

pub mod auth;
pub mod checks;
pub mod payments;
pub mod sources;
pub mod values;
pub mod webhooks;

use std::fmt;
use std::path::PathBuf;

pub use payport_alipay_openapi::SignType;
pub use payport_domain::policy::ApprovalPolicy;
pub use payport_domain::refund::RefundGatewayKind;
use serde::{Deserialize, Serialize};

pub use self::auth::{AuthConfig, Role, Tokens};
pub use self::payments::PaymentsConfig;
pub use self::webhooks::WebhooksConfig;

/// Which Alipay payport talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlipayMode {
    /// The in-process simulator under `/sim` (the default).
    Simulator,
    Sandbox,
    Production,
    /// Any gateway URL (`gateway_url`), e.g. a standalone `payport sim`.
    Custom,
}

impl AlipayMode {
    pub const ALL: [AlipayMode; 4] = [
        AlipayMode::Simulator,
        AlipayMode::Sandbox,
        AlipayMode::Production,
        AlipayMode::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlipayMode::Simulator => "simulator",
            AlipayMode::Sandbox => "sandbox",
            AlipayMode::Production => "production",
            AlipayMode::Custom => "custom",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlipayConfig {
    #[serde(with = "values::mode")]
    pub mode: AlipayMode,
    pub gateway_url: Option<String>,
    pub app_id: String,
    /// A file path: PEM or Alipay's one-line base64, PKCS#1 or PKCS#8. Unset: the
    /// built-in DEV key (simulator and custom modes only).
    pub app_private_key: Option<PathBuf>,
    /// A file path, as `app_private_key`. Not with the certificates below.
    pub alipay_public_key: Option<PathBuf>,
    /// Certificate mode (all three, or none): the app's public key certificate
    /// (`appCertPublicKey_<app_id>.crt`), a file path.
    pub app_cert: Option<PathBuf>,
    /// Alipay's public key certificate (`alipayCertPublicKey_RSA2.crt`), a file path.
    pub alipay_cert: Option<PathBuf>,
    /// Alipay's root certificates (`alipayRootCert.crt`), a file path.
    pub alipay_root_cert: Option<PathBuf>,
    pub seller_id: Option<String>,
    #[serde(with = "values::sign_type")]
    pub sign_type: SignType,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
}

impl Default for AlipayConfig {
    fn default() -> Self {
        AlipayConfig {
            mode: AlipayMode::Simulator,
            gateway_url: None,
            app_id: payport_alipay_sim::config::DEV_APP_ID.to_owned(),
            app_private_key: None,
            alipay_public_key: None,
            app_cert: None,
            alipay_cert: None,
            alipay_root_cert: None,
            seller_id: Some(payport_alipay_sim::config::DEV_SELLER_ID.to_owned()),
            sign_type: SignType::Rsa2,
            connect_timeout_ms: 3_000,
            timeout_ms: 15_000,
        }
    }
}

impl fmt::Debug for AlipayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlipayConfig")
            .field("mode", &self.mode)
            .field("gateway_url", &self.gateway_url)
            .field("app_id", &self.app_id)
            .field("app_private_key", &self.app_private_key)
            .field("alipay_public_key", &self.alipay_public_key)
            .field("app_cert", &self.app_cert)
            .field("alipay_cert", &self.alipay_cert)
            .field("alipay_root_cert", &self.alipay_root_cert)
            .field("seller_id", &self.seller_id)
            .field("sign_type", &self.sign_type)
            .finish_non_exhaustive()
    }
}

/// The legacy mapi gateway; configured when `partner` and `md5_key` are set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MapiConfig {
    pub partner: Option<String>,
    pub md5_key: Option<String>,
    pub seller_email: Option<String>,
    pub gateway_url: Option<String>,
}

impl fmt::Debug for MapiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapiConfig")
            .field("partner", &self.partner)
            .field("md5_key", &self.md5_key.as_ref().map(|_| "<redacted>"))
            .field("seller_email", &self.seller_email)
            .field("gateway_url", &self.gateway_url)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundsConfig {
    /// `auto`, `manual`, or an amount above which an operator must approve.
    #[serde(with = "values::approval")]
    pub approval: ApprovalPolicy,
    pub window_days: i64,
    /// `openapi`, `mapi_nopwd` or `mapi_pwd`.
    #[serde(with = "values::gateway_kind")]
    pub default_gateway: RefundGatewayKind,
}

impl Default for RefundsConfig {
    fn default() -> Self {
        RefundsConfig {
            approval: ApprovalPolicy::Auto,
            window_days: payport_domain::policy::RefundPolicy::DEFAULT_WINDOW_DAYS,
            default_gateway: RefundGatewayKind::OpenApi,
        }
    }
}

/// Checking each day's books against Alipay's trade bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReconciliationConfig {
    /// Whether the worker reconciles yesterday (Beijing) each day.
    pub enabled: bool,
    /// Beijing time, `HH:MM`, from which the worker reconciles yesterday (Alipay's
    /// bills are ready in the morning).
    #[serde(with = "values::time_of_day")]
    pub daily_at: chrono::NaiveTime,
    /// A legacy refund unsettled this many days after it was sent is reported as
    /// `unresolved`.
    pub stranded_after_days: u32,
}

impl Default for ReconciliationConfig {
    fn default() -> Self {
        ReconciliationConfig {
            enabled: true,
            daily_at: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            stranded_after_days: 3,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: String,
    /// The base of the notify/return URLs Alipay calls back (default: `http://{listen}`).
    pub public_url: Option<String>,
    pub database_url: String,
    pub alipay: AlipayConfig,
    pub mapi: MapiConfig,
    pub refunds: RefundsConfig,
    /// When pending orders are checked at Alipay (lost payment notifications).
    pub payments: PaymentsConfig,
    pub auth: AuthConfig,
    /// Where events are delivered, and how.
    pub webhooks: WebhooksConfig,
    /// Seconds between background passes (refund syncs, order expiry).
    pub worker_interval_secs: u64,
    /// Seconds between this instance's heartbeats in the database; silent for three,
    /// it counts as dead and its `Idempotency-Key`s in use are taken over.
    pub heartbeat_secs: u64,
    /// Seconds a graceful shutdown (SIGTERM, Ctrl-C) waits for the requests in flight
    /// and the background work under way.
    pub shutdown_timeout_secs: u64,
    /// The daily check of the books against Alipay's bill.
    pub reconciliation: ReconciliationConfig,
    /// Serve `GET /metrics` (Prometheus text, no authentication).
    pub metrics_enabled: bool,
}

/// The database URL's password is masked: `Debug` output ends up in logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field(
                "database_url",
                &payport_store_diesel::redact_url(&self.database_url),
            )
            .field("alipay", &self.alipay)
            .field("mapi", &self.mapi)
            .field("refunds", &self.refunds)
            .field("payments", &self.payments)
            .field("auth", &self.auth)
            .field("webhooks", &self.webhooks)
            .field("worker_interval_secs", &self.worker_interval_secs)
            .field("heartbeat_secs", &self.heartbeat_secs)
            .field("shutdown_timeout_secs", &self.shutdown_timeout_secs)
            .field("reconciliation", &self.reconciliation)
            .field("metrics_enabled", &self.metrics_enabled)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: None,
            database_url: "sqlite://payport.db".to_owned(),
            alipay: AlipayConfig::default(),
            mapi: MapiConfig::default(),
            refunds: RefundsConfig::default(),
            payments: PaymentsConfig::default(),
            auth: AuthConfig::default(),
            webhooks: WebhooksConfig::default(),
            worker_interval_secs: 5,
            heartbeat_secs: 5,
            shutdown_timeout_secs: 20,
            reconciliation: ReconciliationConfig::default(),
            metrics_enabled: true,
        }
    }
}

impl Config {
    /// Defaults, `payport.toml` in the working directory if present, then `PAYPORT_*`;
    /// then [`checks::check`], so that what loads can start.
    ///
    /// # Errors
    /// Every problem at once, one line each, naming each key as the user wrote it
    /// (`PAYPORT_ALIPAY__MODE`, or `payport.toml: alipay.mode`): unknown keys and
    /// variables, bad values, unusable keys, production settings that are not safe.
    pub fn load() -> Result<Config, String> {
        let sources::Loaded {
            config,
            origins,
            mut problems,
        } = sources::load();
        if let Err(more) = checks::check(&config, None, &|key| origins.name(key)) {
            problems.extend(more);
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Whether any certificate setting is set (the checks refuse all but all three).
    pub fn is_cert_mode(&self) -> bool {
        let a = &self.alipay;
        a.app_cert.is_some() || a.alipay_cert.is_some() || a.alipay_root_cert.is_some()
    }

    pub fn is_simulator(&self) -> bool {
        self.alipay.mode == AlipayMode::Simulator
    }
}

#[cfg(test)]
mod cert_tests;
#[cfg(test)]
mod tests;
