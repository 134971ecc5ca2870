//! The built-in Alipay adapters: the OpenAPI gateway (payments and refunds), the legacy
//! mapi refund gateways, and the in-process simulator.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use payport_alipay_mapi::AlipayMapiGateway;
use payport_alipay_openapi::{AlipayOpenApiGateway, Client, OpenApiConfig};
use payport_alipay_sim::{SimConfig, Simulator};
use payport_domain::ports::{Clock, ExchangeLog, RefundGateways, RefundRoute};
use payport_domain::usecases::MerchantIdentity;
use payport_domain::{AppId, SellerId};
use poem::endpoint::BoxEndpoint;
use poem::EndpointExt;

use crate::config::checks::AppKeys;
use crate::config::{AlipayMode, Config};

/// The OpenAPI gateway and who we are at Alipay, with the keys
/// [`crate::config::checks::check`] loaded.
///
/// # Errors
/// Unusable ids or settings, with the setting named (the checks find them first).
pub(super) fn openapi(
    config: &Config,
    public_url: &str,
    keys: AppKeys,
    clock: &Arc<dyn Clock>,
    exchanges: &Arc<dyn ExchangeLog>,
) -> anyhow::Result<(AlipayOpenApiGateway, MerchantIdentity)> {
    let alipay = &config.alipay;
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
    let mut openapi = OpenApiConfig::new(gateway_url, app_id.clone());
    openapi.notify_url = Some(format!("{public_url}/callbacks/alipay/notify"));
    openapi.return_url = Some(format!("{public_url}/callbacks/alipay/return"));
    openapi.connect_timeout = Duration::from_millis(alipay.connect_timeout_ms);
    openapi.timeout = Duration::from_millis(alipay.timeout_ms);
    let mut client = Client::new(openapi, keys.signer, keys.verifier, clock.clone())?
        .with_exchange_log(exchanges.clone());
    if let Some(certs) = keys.certs {
        client = client.with_certificates(certs);
    }
    let gateway = AlipayOpenApiGateway::new(client);
    Ok((gateway, MerchantIdentity { app_id, seller_id }))
}

/// The legacy gateways (no-password, password), when a partner and MD5 key are
/// configured; in simulator mode, the simulator's DEV partner is used by default.
///
/// # Errors
/// Half a mapi configuration, or an unusable MD5 key.
pub(super) fn mapi(
    config: &Config,
    public_url: &str,
    clock: &Arc<dyn Clock>,
    exchanges: &Arc<dyn ExchangeLog>,
) -> anyhow::Result<Option<(AlipayMapiGateway, AlipayMapiGateway)>> {
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
    let build = |mode| -> anyhow::Result<AlipayMapiGateway> {
        Ok(
            AlipayMapiGateway::new(mapi_config.clone(), mode, clock.clone())
                .context("mapi settings")?
                .with_exchange_log(exchanges.clone()),
        )
    };
    Ok(Some((
        build(MapiMode::NoPassword)?,
        build(MapiMode::Password)?,
    )))
}

/// The built-in refund gateways by kind, each with the capabilities it has: OpenAPI
/// sends and queries; the legacy gateways send and batch, have no query, and share
/// one verifier of `batch_refund_notify`. The one place that knows their shape.
pub(super) fn refund_gateways(
    openapi: &AlipayOpenApiGateway,
    mapi: Option<(AlipayMapiGateway, AlipayMapiGateway)>,
) -> RefundGateways {
    let openapi = Arc::new(openapi.clone());
    let mut gateways = RefundGateways {
        openapi: Some(RefundRoute::new(openapi.clone()).with_query(openapi)),
        ..RefundGateways::default()
    };
    if let Some((nopwd, pwd)) = mapi {
        let (nopwd, pwd) = (Arc::new(nopwd), Arc::new(pwd));
        gateways.mapi_nopwd = Some(RefundRoute::new(nopwd.clone()).with_batches(nopwd.clone()));
        gateways.mapi_pwd = Some(RefundRoute::new(pwd.clone()).with_batches(pwd));
        gateways.notifications = Some(nopwd);
    }
    gateways
}

/// The in-process simulator's routes, in simulator mode, with the built-in DEV keys;
/// in certificate mode when payport is (it then expects the DEV certificates' SNs, so
/// that other certificate files are refused as Alipay would refuse them).
///
/// # Errors
/// The simulator cannot load its state.
pub(super) fn simulator(config: &Config) -> anyhow::Result<Option<Arc<BoxEndpoint<'static>>>> {
    if !config.is_simulator() {
        return Ok(None);
    }
    let mut sim_config = SimConfig::dev();
    if config.is_cert_mode() {
        sim_config.certs = Some(payport_alipay_sim::SimCerts::dev());
    }
    let sim = Simulator::new(sim_config, Arc::new(payport_alipay_sim::SystemClock))
        .map_err(anyhow::Error::msg)?;
    Ok(Some(Arc::new(sim.endpoint().map_to_response().boxed())))
}
