//! The paid orders the refunds are asked on: each created and its QR payment started
//! through an instance of its own (round robin), paid at the simulator, and waited for
//! until payport has the signed notification.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::task::JoinSet;

use crate::client::Api;
use crate::plan::{order_no, yuan, TOTAL_FEN};
use crate::spec::Op;

/// Orders being made at once.
const CONCURRENCY: usize = 16;

pub async fn make_paid_orders(
    api: Arc<Api>,
    sim: String,
    run: &str,
    orders: usize,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut tasks = JoinSet::new();
    let mut next = 0;
    while next < orders || !tasks.is_empty() {
        while next < orders && tasks.len() < CONCURRENCY {
            let (api, http, sim) = (api.clone(), http.clone(), sim.clone());
            let out_trade_no = order_no(run, next);
            let i = next;
            tasks.spawn(async move { paid_order(&api, &http, &sim, i, &out_trade_no).await });
            next += 1;
        }
        if let Some(done) = tasks.join_next().await {
            done??;
        }
    }
    Ok(())
}

async fn paid_order(
    api: &Api,
    http: &reqwest::Client,
    sim: &str,
    i: usize,
    out_trade_no: &str,
) -> anyhow::Result<()> {
    let body = format!(
        r#"{{"subject":"Chaos tea","total_amount":"{}","out_trade_no":"{out_trade_no}"}}"#,
        yuan(TOTAL_FEN)
    );
    expect(api, Op::CreateOrder, i, "/v1/orders", Some(&body), 201).await?;
    let path = format!("/v1/orders/{out_trade_no}/payments");
    expect(
        api,
        Op::StartPayment,
        i,
        &path,
        Some(r#"{"method":"qr"}"#),
        200,
    )
    .await?;
    // The buyer pays; the simulator notifies the instance that started the payment.
    let paid = http
        .post(format!("{sim}/control/trades/{out_trade_no}/pay"))
        .send()
        .await?;
    if !paid.status().is_success() {
        bail!("simulator pay {out_trade_no}: {}", paid.status());
    }
    let path = format!("/v1/orders/{out_trade_no}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rng = SmallRng::seed_from_u64(i as u64);
    loop {
        let order = api.read(Op::GetOrder, &path, &mut rng).await?;
        if order["status"] == "paid" {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{out_trade_no} not paid in payport within 60 s: {order}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn expect(
    api: &Api,
    op: Op,
    i: usize,
    path: &str,
    body: Option<&str>,
    status: u16,
) -> anyhow::Result<()> {
    let (got, value) = api
        .call(op, i, path, body, None)
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{} {path}", op.name()))?;
    if got != status {
        bail!("{} {path}: {got} {value}", op.name());
    }
    Ok(())
}
