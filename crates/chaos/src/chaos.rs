//! What goes wrong meanwhile: gateway faults set through the simulator's fault API,
//! notifications duplicated and held to be released newest first (out of order), and
//! instances killed with SIGKILL at random moments and started again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::rngs::SmallRng;
use rand::Rng;
use serde_json::{json, Value};

use crate::cluster::{Cluster, GATEWAY_TIMEOUT_MS};

/// The methods faults are put on: the refund, and the query the worker settles with.
const REFUND: &str = "alipay.trade.refund";
const QUERY: &str = "alipay.trade.fastpay.refund.query";

/// A random fault, and its name for the count.
fn fault(rng: &mut SmallRng) -> (&'static str, Value) {
    match rng.random_range(0..6) {
        // Longer than payport waits: it cannot know whether the refund was made.
        0 => (
            "timeout",
            json!({"kind": "delay", "ms": GATEWAY_TIMEOUT_MS + 1000}),
        ),
        1 => ("http_500", json!({"kind": "http500"})),
        2 => ("unavailable", json!({"kind": "unavailable"})),
        3 => (
            "system_error_performed",
            json!({"kind": "system_error", "performed": true}),
        ),
        4 => (
            "system_error_not_performed",
            json!({"kind": "system_error", "performed": false}),
        ),
        _ => ("bad_signature", json!({"kind": "bad_signature"})),
    }
}

/// Faults set so far, by name.
pub type FaultCounts = BTreeMap<&'static str, usize>;

/// Until `stop`: every 0.3 to 1.5 s, a new fault on the refund for its next few calls
/// (now and then on the query too), notifications duplicated, and held or released
/// newest first.
pub async fn inject_faults(
    sim: String,
    stop: Arc<AtomicBool>,
    mut rng: SmallRng,
) -> anyhow::Result<FaultCounts> {
    let http = reqwest::Client::new();
    let mut counts = FaultCounts::new();
    while !stop.load(Ordering::Relaxed) {
        let mut methods = serde_json::Map::new();
        let (name, mut rule) = fault(&mut rng);
        rule["times"] = rng.random_range(2u32..8).into();
        methods.insert(REFUND.into(), rule);
        *counts.entry(name).or_default() += 1;
        if rng.random_bool(0.3) {
            let (name, mut rule) = fault(&mut rng);
            rule["times"] = rng.random_range(1u32..4).into();
            methods.insert(QUERY.into(), rule);
            *counts.entry(name).or_default() += 1;
        }
        let hold = rng.random_bool(0.5);
        let faults = json!({"methods": methods, "notify": {"duplicate": true, "hold": hold}});
        http.put(format!("{sim}/control/faults"))
            .json(&faults)
            .send()
            .await?
            .error_for_status()
            .context("setting faults")?;
        if !hold {
            release_held(&http, &sim).await?;
            *counts.entry("notifications_released_reversed").or_default() += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..1500))).await;
    }
    Ok(counts)
}

/// No more faults, and every held notification sent.
pub async fn clear_faults(sim: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    http.delete(format!("{sim}/control/faults"))
        .send()
        .await?
        .error_for_status()?;
    release_held(&http, sim).await
}

async fn release_held(http: &reqwest::Client, sim: &str) -> anyhow::Result<()> {
    http.post(format!("{sim}/control/notifications/release?order=reverse"))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// `kills` times, 1 to 4 s apart: SIGKILL a random instance, and start it again 0.2
/// to 1.5 s later. Returns the cluster when done.
pub async fn kill_and_restart(
    mut cluster: Cluster,
    kills: usize,
    mut rng: SmallRng,
) -> anyhow::Result<Cluster> {
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1000..4000))).await;
        let i = rng.random_range(0..cluster.len());
        cluster.kill(i);
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        cluster
            .restart(i)
            .await
            .with_context(|| format!("restarting instance {i}"))?;
    }
    Ok(cluster)
}
