//! Helpers for black-box tests: start payport in-process on a free loopback port, on
//! SQLite or a fresh PostgreSQL database, and talk to it over real HTTP as a shop's
//! backend, an operator, a buyer's browser, Alipay (the in-process simulator under
//! `/sim`) or an attacker would.
//!
//! - [`app`]: [`TestApp`] and its configuration; [`db`]: the databases.
//! - [`http`]: callers with a merchant/operator/no token, browser-like requests.
//! - [`sim`]: the simulator's control API; [`notify`]: hand-signed notifications.
//! - [`shop`]: the steps a shop repeats (create, pay, refund, wait); [`html`]: an
//!   operator's browser submitting a form.
//! - [`receiver`]: a shop's webhook receiver; [`webhooks`]: payport pointed at it, and
//!   the events API.
//! - [`sql_log`]: the transactions and statements payport sends one database.
//! - [`both_backends!`]: runs each scenario on SQLite and on PostgreSQL.

pub mod app;
pub mod db;
pub mod html;
pub mod http;
pub mod notify;
pub mod receiver;
pub mod shop;
pub mod sim;
pub mod sql_log;
pub mod webhooks;

use std::future::Future;
use std::time::{Duration, Instant};

pub use app::{TestApp, GATEWAY_TIMEOUT_MS, MERCHANT_TOKEN, OPERATOR_TOKEN};
pub use db::Backend;
pub use http::{Caller, Reply};
pub use shop::{assert_same_second, refund_id};

/// How long anything asynchronous (a notification landing) may take.
pub const PATIENCE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// A bound on polling.
pub struct Deadline(Instant);

impl Deadline {
    pub fn start() -> Deadline {
        Deadline(Instant::now() + PATIENCE)
    }

    /// Waits a little before the next look; `false` once the time is up.
    pub async fn wait(&self) -> bool {
        if Instant::now() >= self.0 {
            return false;
        }
        tokio::time::sleep(POLL).await;
        true
    }
}

/// Polls `check` until it holds or [`PATIENCE`] runs out; returns whether it held.
pub async fn wait_until<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Deadline::start();
    loop {
        if check().await {
            return true;
        }
        if !deadline.wait().await {
            return false;
        }
    }
}

/// Runs the futures concurrently on this task and returns their outputs in order
/// (parallel requests without spawning, so they may borrow the app).
///
/// # Panics
/// Never: every output is set before it is read.
pub async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let tasks: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = tasks.iter().map(|_| None).collect();
    let mut pending: Vec<_> = tasks.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, task)| match task.as_mut().poll(cx) {
            std::task::Poll::Ready(out) => {
                outputs[*i] = Some(out);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// Runs each named `async fn name(backend: Backend)` of the calling module on both
/// backends, as `sqlite::name` and `postgres::name`. Attributes before a name (e.g.
/// `#[ignore = "BUG: ..."]`) apply to both.
#[macro_export]
macro_rules! both_backends {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await;
                }
            )*
        }
    };
}
