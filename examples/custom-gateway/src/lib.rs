//! Embedding payport: a program that serves payport's HTTP API with a refund gateway
//! of its own ([`audit::AuditedRefunds`], wrapped around the sending capability of
//! each built-in Alipay refund gateway) through [`payport_server::Payport::builder`], against the in-process
//! simulator on SQLite.

pub mod audit;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use payport_domain::Amount;
use payport_server::config::Config;
use payport_server::state::Wired;
use payport_server::Payport;

use crate::audit::{AuditTrail, AuditedRefunds};

pub const MERCHANT_TOKEN: &str = "example-merchant-token";
pub const OPERATOR_TOKEN: &str = "example-operator-token";

/// Simulator mode on SQLite in `data_dir`, listening on `listen`, with the repo's
/// DEV keys.
pub fn example_config(data_dir: &Path, listen: &str) -> Config {
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../keys");
    let mut config = Config {
        listen: listen.to_owned(),
        database_url: format!("sqlite://{}", data_dir.join("payport.db").display()),
        ..Config::default()
    };
    config.alipay.app_private_key = Some(keys.join("dev_app_private_pkcs8.pem"));
    config.alipay.alipay_public_key = Some(keys.join("dev_alipay_public_spki.pem"));
    config.auth.merchant_tokens = vec![MERCHANT_TOKEN.to_owned()];
    config.auth.operator_tokens = vec![OPERATOR_TOKEN.to_owned()];
    config
}

/// Serves payport until `shutdown`, with every refund gateway's sending audited into
/// `trail` and refusing single refunds above `limit`.
///
/// # Errors
/// payport cannot be wired or served (keys, database, address).
pub async fn serve(
    config: Config,
    trail: AuditTrail,
    limit: Amount,
    on_ready: impl FnOnce(SocketAddr, &Wired),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Payport::builder(config)
        .map_refund_gateways(move |mut gateways| {
            // Every route that sends money gets the audit and the limit: a refund asked
            // for through the legacy gateways must not slip past them.
            for route in [
                &mut gateways.openapi,
                &mut gateways.mapi_nopwd,
                &mut gateways.mapi_pwd,
            ]
            .into_iter()
            .flatten()
            {
                route.submit = Arc::new(AuditedRefunds::new(
                    route.submit.clone(),
                    trail.clone(),
                    limit,
                ));
            }
            gateways
        })
        .serve(on_ready, shutdown)
        .await
}
