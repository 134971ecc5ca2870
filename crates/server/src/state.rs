//! Wiring: from [`Config`] to the use cases, their adapters and the simulator. The
//! only place that knows every adapter.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use payport_alipay_mapi::AlipayMapiGateway;
use payport_alipay_openapi::{
    AlipayOpenApiGateway, Client, OpenApiConfig, PrivateKey, PublicKey, SignType, Signer, Verifier,
};
use payport_alipay_sim::{SimConfig, Simulator};
use payport_domain::policy::{ApprovalPolicy, RefundPolicy};
use payport_domain::ports::{Clock, RefundGateways, RefundRoute};
use payport_domain::refund::RefundGatewayKind;
use payport_domain::usecases::{MerchantIdentity, Notifications, Orders, Ports, Refunds, Settings};
use payport_domain::{Amount, AppId, SellerId};
use payport_store_diesel::DieselStore;

use crate::api::auth::Tokens;
use crate::config::{AlipayMode, Config};
use crate::runtime::{RandomIds, SystemClock};

/// Everything a request handler needs.
pub struct AppState {
    pub orders: Orders,
    pub refunds: Refunds,
    pub notifications: Notifications,
    pub store: DieselStore,
    pub tokens: Tokens,
    pub clock: Arc<dyn Clock>,
}

/// The application and what runs beside it.
pub struct Wired {
    pub state: Arc<AppState>,
    /// The in-process simulator, in simulator mode.
    pub sim: Option<Simulator>,
    /// Tokens made up because none were configured (simulator mode only).
    pub dev_tokens: Option<Tokens>,
}

pub const DEV_MERCHANT_TOKEN: &str = "dev-merchant-token";
pub const DEV_OPERATOR_TOKEN: &str = "dev-operator-token";

fn read_key(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} from {}", path.display()))
}

fn approval(text: &str) -> anyhow::Result<ApprovalPolicy> {
    Ok(match text {
        "auto" => ApprovalPolicy::Auto,
        "manual" => ApprovalPolicy::Manual,
        amount => ApprovalPolicy::ManualAbove(Amount::parse(amount).map_err(|e| {
            anyhow::anyhow!("refunds.approval must be auto, manual or an amount: {e}")
        })?),
    })
}

type MapiPair = (Arc<AlipayMapiGateway>, Arc<AlipayMapiGateway>);

/// The legacy gateways (no-password and password), when a partner and MD5 key are
/// configured; in simulator mode, the simulator's DEV partner is used by default.
fn mapi_gateways(
    config: &Config,
    public_url: &str,
    clock: &Arc<dyn Clock>,
    store: &DieselStore,
) -> anyhow::Result<Option<MapiPair>> {
    use payport_alipay_mapi::{MapiConfig, MapiMode, Md5Key};
    use payport_alipay_sim::config::{DEV_MD5_KEY, DEV_PARTNER, DEV_SELLER_EMAIL};
    let mapi = &config.mapi;
    let sim = config.is_simulator();
    let (partner, key) = match (&mapi.partner, &mapi.md5_key) {
        (Some(partner), Some(key)) => (partner.clone(), key.clone()),
        (None, None) if sim => (DEV_PARTNER.to_owned(), DEV_MD5_KEY.to_owned()),
        (None, None) => return Ok(None),
        _ => bail!("the legacy gateway needs both mapi.partner and mapi.md5_key"),
    };
    let gateway_url = match (&mapi.gateway_url, sim) {
        (Some(url), _) => url.clone(),
        (None, true) => format!("{public_url}/sim/mapi/gateway.do"),
        (None, false) => MapiConfig::PRODUCTION_GATEWAY.to_owned(),
    };
    let md5_key = Md5Key::new(key).context("mapi.md5_key")?;
    let mut mapi_config = MapiConfig::new(
        gateway_url,
        partner,
        md5_key,
        format!("{public_url}/callbacks/alipay/mapi/refund-notify"),
    );
    mapi_config.seller_email = mapi
        .seller_email
        .clone()
        .or_else(|| sim.then(|| DEV_SELLER_EMAIL.to_owned()));
    mapi_config.connect_timeout = Duration::from_millis(config.alipay.connect_timeout_ms);
    mapi_config.timeout = Duration::from_millis(config.alipay.timeout_ms);
    let build = |mode| -> anyhow::Result<Arc<AlipayMapiGateway>> {
        let gateway = AlipayMapiGateway::new(mapi_config.clone(), mode, clock.clone())
            .context("mapi settings")?
            .with_exchange_log(Arc::new(store.clone()));
        Ok(Arc::new(gateway))
    };
    Ok(Some((
        build(MapiMode::NoPassword)?,
        build(MapiMode::Password)?,
    )))
}

/// Each refund route with the capabilities its gateway has: OpenAPI sends and
/// queries; the legacy gateways send and batch, have no query, and share one verifier
/// of `batch_refund_notify`.
fn refund_gateways(openapi: &AlipayOpenApiGateway, mapi: Option<MapiPair>) -> RefundGateways {
    let openapi = Arc::new(openapi.clone());
    let mut gateways = RefundGateways {
        openapi: Some(RefundRoute::new(openapi.clone()).with_query(openapi)),
        ..RefundGateways::default()
    };
    if let Some((nopwd, pwd)) = mapi {
        gateways.mapi_nopwd = Some(RefundRoute::new(nopwd.clone()).with_batches(nopwd.clone()));
        gateways.mapi_pwd = Some(RefundRoute::new(pwd.clone()).with_batches(pwd));
        gateways.notifications = Some(nopwd);
    }
    gateways
}

/// Builds the application from the configuration; `public_url` is where Alipay can
/// reach this instance (notify and return callbacks, and the in-process simulator).
///
/// # Errors
/// Missing or unusable keys, ids or settings, with the setting named; production mode
/// with the DEV keys or without tokens; a database that cannot be opened or migrated.
pub async fn wire(config: &Config, public_url: &str) -> anyhow::Result<Wired> {
    let public_url = public_url.trim_end_matches('/');
    let store = crate::serve::open_store(&config.database_url).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let alipay = &config.alipay;
    let app_key_text = read_key(
        &alipay.app_private_key,
        "app private key (alipay.app_private_key)",
    )?;
    let alipay_key_text = read_key(
        &alipay.alipay_public_key,
        "Alipay public key (alipay.alipay_public_key)",
    )?;
    let dev_key = |name: &str| std::fs::read_to_string(config.keys_dir.join(name)).ok();
    let uses_dev_keys = dev_key("dev_app_private_pkcs8.pem").as_deref()
        == Some(app_key_text.as_str())
        || dev_key("dev_alipay_public_spki.pem").as_deref() == Some(alipay_key_text.as_str());
    let no_tokens =
        config.auth.merchant_tokens.is_empty() && config.auth.operator_tokens.is_empty();
    if alipay.mode == AlipayMode::Production {
        if uses_dev_keys {
            bail!("refusing to start in production mode with the DEV keys from keys/: configure alipay.app_private_key and alipay.alipay_public_key");
        }
        if no_tokens {
            bail!("refusing to start in production mode without tokens: set auth.merchant_tokens and auth.operator_tokens");
        }
        if alipay.app_id == payport_alipay_sim::config::DEV_APP_ID
            || alipay.seller_id.as_deref() == Some(payport_alipay_sim::config::DEV_SELLER_ID)
        {
            bail!("refusing to start in production mode with the DEV app id or seller id: set alipay.app_id and alipay.seller_id");
        }
    }
    let gateway_url = match (alipay.mode, &alipay.gateway_url) {
        (AlipayMode::Simulator, _) => format!("{public_url}/sim/gateway.do"),
        (AlipayMode::Sandbox, url) => url
            .clone()
            .unwrap_or_else(|| OpenApiConfig::SANDBOX_GATEWAY.into()),
        (AlipayMode::Production, url) => url
            .clone()
            .unwrap_or_else(|| OpenApiConfig::PRODUCTION_GATEWAY.into()),
        (AlipayMode::Custom, Some(url)) => url.clone(),
        (AlipayMode::Custom, None) => bail!("alipay.mode = custom needs alipay.gateway_url"),
    };
    let app_id = AppId::parse(alipay.app_id.clone()).context("alipay.app_id")?;
    let seller_id = alipay
        .seller_id
        .clone()
        .map(SellerId::parse)
        .transpose()
        .context("alipay.seller_id")?;
    let sign_type: SignType = alipay
        .sign_type
        .parse()
        .map_err(|_| anyhow::anyhow!("alipay.sign_type must be RSA2 or RSA"))?;
    let signer = Signer::new(
        &PrivateKey::parse(&app_key_text).context("alipay.app_private_key")?,
        sign_type,
    )?;
    let verifier = Verifier::new(
        &PublicKey::parse(&alipay_key_text).context("alipay.alipay_public_key")?,
        sign_type,
    )?;
    let mut openapi = OpenApiConfig::new(gateway_url, app_id.clone());
    openapi.notify_url = Some(format!("{public_url}/callbacks/alipay/notify"));
    openapi.return_url = Some(format!("{public_url}/callbacks/alipay/return"));
    openapi.connect_timeout = Duration::from_millis(alipay.connect_timeout_ms);
    openapi.timeout = Duration::from_millis(alipay.timeout_ms);
    let gateway = AlipayOpenApiGateway::new(
        Client::new(openapi, signer, verifier, clock.clone())?
            .with_exchange_log(Arc::new(store.clone())),
    );
    let sim = if config.is_simulator() {
        let sim_config = SimConfig::dev(&config.keys_dir).map_err(anyhow::Error::msg)?;
        Some(
            Simulator::new(sim_config, Arc::new(payport_alipay_sim::SystemClock))
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let mapi = mapi_gateways(config, public_url, &clock, &store)?;
    let refund_gateways = refund_gateways(&gateway, mapi);
    let default_gateway = RefundGatewayKind::parse(&config.refunds.default_gateway)
        .context("refunds.default_gateway must be openapi, mapi_nopwd or mapi_pwd")?;
    let mut settings = Settings::new(MerchantIdentity { app_id, seller_id });
    settings.refund_policy = RefundPolicy {
        approval: approval(&config.refunds.approval)?,
        window: chrono::Duration::days(config.refunds.window_days),
        default_gateway,
    };
    let settings = Arc::new(settings);
    let ports = Ports {
        orders: Arc::new(store.clone()),
        refunds: Arc::new(store.clone()),
        inbox: Arc::new(store.clone()),
        payments: Arc::new(gateway),
        refund_gateways,
        clock: clock.clone(),
        ids: Arc::new(RandomIds),
    };
    let dev_tokens = (no_tokens && config.is_simulator()).then(|| Tokens {
        merchant: vec![DEV_MERCHANT_TOKEN.to_owned()],
        operator: vec![DEV_OPERATOR_TOKEN.to_owned()],
    });
    let tokens = dev_tokens.clone().unwrap_or_else(|| Tokens {
        merchant: config.auth.merchant_tokens.clone(),
        operator: config.auth.operator_tokens.clone(),
    });
    Ok(Wired {
        state: Arc::new(AppState {
            orders: Orders::new(ports.clone(), settings.clone()),
            refunds: Refunds::new(ports.clone(), settings.clone()),
            notifications: Notifications::new(ports, settings),
            store,
            tokens,
            clock,
        }),
        sim,
        dev_tokens,
    })
}
