//! Where SQLite's statements run. diesel-async runs each statement of a sync
//! connection on tokio's blocking pool: a hand-off to another thread and back per
//! statement. On the writer, inside a body's savepoint, a statement never waits on a
//! lock or an fsync (the batch already holds SQLite's write lock, and
//! `synchronous = FULL` syncs at the COMMIT), so the hand-offs were most of a body's
//! time; there it runs [`inline`], on the thread that polls the body. Everything else
//! (reads from the pool, `BEGIN IMMEDIATE`, which may wait on the lock, and COMMIT,
//! which waits for the disk) keeps the blocking pool.

use std::cell::Cell;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use diesel_async::sync_connection_wrapper::SpawnBlocking;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinHandle;

thread_local! {
    /// Set while an [`Inline`] future is being polled on this thread.
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Runs the writer's SQLite statements sent by `future` on the thread that polls it.
pub(crate) fn inline<F: Future>(future: F) -> Inline<F> {
    Inline { future }
}

pin_project_lite::pin_project! {
    pub(crate) struct Inline<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Inline<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _inline = InlineWhile(INLINE.replace(true));
        self.project().future.poll(cx)
    }
}

/// Puts the flag back as it was, even when the poll panics.
struct InlineWhile(bool);

impl Drop for InlineWhile {
    fn drop(&mut self) {
        INLINE.set(self.0);
    }
}

type Spawned<'a, R> =
    Pin<Box<dyn Future<Output = Result<R, Box<dyn Error + Send + Sync>>> + Send + 'a>>;

/// The [`SpawnBlocking`] of payport's SQLite connections: the writer's runs inline
/// inside [`inline`]; everything else runs on tokio's blocking pool, waited for even
/// when its caller is dropped, as diesel-async's own does (so a statement never
/// outlives the future that sent it). Connections open inside payport's runtime
/// (`pool::sqlite_open`), so there is always one to spawn on.
pub(crate) struct Spawner {
    runtime: Handle,
    /// The writer's connection: inline inside a body. Only it, so that a pooled read
    /// sent from inside a body still leaves the worker free.
    inline_in_bodies: bool,
}

impl Spawner {
    pub(crate) fn pooled() -> Spawner {
        Spawner::get_runtime()
    }

    pub(crate) fn writer() -> Spawner {
        Spawner {
            inline_in_bodies: true,
            ..Spawner::get_runtime()
        }
    }
}

impl SpawnBlocking for Spawner {
    fn spawn_blocking<'a, R>(&mut self, task: impl FnOnce() -> R + Send + 'static) -> Spawned<'a, R>
    where
        R: Send + 'static,
    {
        if self.inline_in_bodies && INLINE.get() {
            // Tokio's cooperative budget: a long body (a reconciliation report's rows,
            // one INSERT each) yields every 128 statements, so the worker's other
            // tasks wait a few milliseconds at most.
            return Box::pin(async move {
                tokio::task::consume_budget().await;
                Ok(task())
            });
        }
        let join = self.runtime.spawn_blocking(task);
        Box::pin(WaitOnDrop {
            handle: self.runtime.clone(),
            join,
        })
    }

    fn get_runtime() -> Spawner {
        Spawner {
            runtime: Handle::current(),
            inline_in_bodies: false,
        }
    }
}

/// A blocking statement that finishes before its future is gone.
struct WaitOnDrop<R> {
    handle: Handle,
    join: JoinHandle<R>,
}

impl<R> Future for WaitOnDrop<R> {
    type Output = Result<R, Box<dyn Error + Send + Sync>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.join)
            .poll(cx)
            .map_err(|e| Box::new(e) as Box<dyn Error + Send + Sync>)
    }
}

impl<R> Drop for WaitOnDrop<R> {
    fn drop(&mut self) {
        // `block_in_place` needs a multi-thread runtime; on a current-thread one (tests)
        // the statement is left to finish on its own, as the connection's mutex keeps
        // the next one behind it.
        let multi_thread = self.handle.runtime_flavor() == RuntimeFlavor::MultiThread;
        if multi_thread && !self.join.is_finished() {
            let join = &mut self.join;
            let handle = &self.handle;
            tokio::task::block_in_place(|| {
                let _ = handle.block_on(join);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread::{self, ThreadId};

    use super::inline;
    use crate::pool::{sqlite_setup, sqlite_writer_setup, SqliteConn};

    async fn where_it_runs(conn: &mut SqliteConn) -> ThreadId {
        conn.spawn_blocking(|_| Ok(thread::current().id()))
            .await
            .expect("a statement's closure")
    }

    // One thread polls everything here, so "inline" is that thread.
    #[tokio::test(flavor = "current_thread")]
    async fn only_the_writers_statements_run_inline_and_only_inside_inline() {
        let mut writer = sqlite_writer_setup(":memory:").await.expect("SQLite");
        let mut pooled = sqlite_setup(":memory:").await.expect("SQLite");
        let polling = thread::current().id();
        assert_eq!(inline(where_it_runs(&mut writer)).await, polling);
        assert_ne!(where_it_runs(&mut writer).await, polling, "outside a body");
        assert_ne!(
            inline(where_it_runs(&mut pooled)).await,
            polling,
            "a pooled one"
        );
    }
}
