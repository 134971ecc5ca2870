//! Runs payport with the audited refund gateway on 127.0.0.1:8080 (or the address
//! given as the first argument) until Ctrl-C, then prints the audit trail.

use std::sync::{Arc, Mutex};

use payport_domain::Amount;
use payport_example_custom_gateway::{example_config, serve, MERCHANT_TOKEN};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let data = tempfile::tempdir()?;
    let trail = Arc::new(Mutex::new(Vec::new()));
    let limit = Amount::parse("100.00")?;
    serve(
        example_config(data.path(), &listen),
        trail.clone(),
        limit,
        |addr, _| {
            tracing::info!(
                "payport (audited refunds, at most {limit} each) on http://{addr} ; merchant token {MERCHANT_TOKEN} ; simulator cashier http://{addr}/sim/cashier/<out_trade_no>"
            );
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await?;
    let trail = trail
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for entry in trail.iter() {
        println!(
            "{} {} {} {}",
            entry.refund_id, entry.out_trade_no, entry.amount, entry.outcome
        );
    }
    Ok(())
}
