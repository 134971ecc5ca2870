//! Waiting for every refund to be final: the worker settles the unknown ones (querying
//! Alipay, or resending under the same out_request_no), on whichever instance claims them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::check::is_final;
use crate::client::Api;
use crate::spec::Op;

/// Every order's refunds once none is left unsettled, or as they are at `deadline`.
pub async fn final_refunds(
    api: &Arc<Api>,
    orders: &[String],
    deadline: Instant,
) -> anyhow::Result<Vec<Vec<Value>>> {
    loop {
        let all = all_refunds(api, orders).await?;
        let open = all
            .iter()
            .flatten()
            .filter(|r| !is_final(r["status"].as_str().unwrap_or_default()))
            .count();
        if open == 0 || Instant::now() > deadline {
            return Ok(all);
        }
        eprintln!("  {open} refunds not final yet");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Each order's refunds, read 16 orders at a time from random instances.
async fn all_refunds(api: &Arc<Api>, orders: &[String]) -> anyhow::Result<Vec<Vec<Value>>> {
    let mut tasks = JoinSet::new();
    let mut all = vec![Vec::new(); orders.len()];
    let mut next = 0;
    while next < orders.len() || !tasks.is_empty() {
        while next < orders.len() && tasks.len() < 16 {
            let api = api.clone();
            let path = format!("/v1/orders/{}/refunds", orders[next]);
            let i = next;
            tasks.spawn(async move {
                let mut rng = SmallRng::seed_from_u64(i as u64);
                (i, api.read(Op::ListRefunds, &path, &mut rng).await)
            });
            next += 1;
        }
        if let Some(done) = tasks.join_next().await {
            let (i, refunds) = done?;
            all[i] = refunds?.as_array().cloned().unwrap_or_default();
        }
    }
    Ok(all)
}
