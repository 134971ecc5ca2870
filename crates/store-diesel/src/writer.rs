//! SQLite group commit: one writer connection per store, and concurrent write
//! transactions committed together.
//!
//! With `synchronous = FULL` every COMMIT is an fsync, so SQLite writes are bound by
//! commits, not by work. Here every `write_tx!` body of a store runs on one dedicated
//! connection (not from the read pool), one body after another, inside ONE open
//! `BEGIN IMMEDIATE` transaction (a *batch*), each body inside its own `SAVEPOINT`:
//!
//! - a body that fails is rolled back to its savepoint; the other bodies of the batch
//!   are untouched. Its caller gets its error when the batch ends (the error may be a
//!   conflict with an earlier body's writes, which a retry must be able to read);
//! - a body that succeeds is released into the batch, and its caller waits until the
//!   batch is committed: nobody hears `Ok` before its writes are durable;
//! - the batch commits when no other body is waiting for the writer, or when it has
//!   [`MAX_BATCH_BODIES`] bodies or is [`MAX_BATCH_AGE`] old (so constant load cannot
//!   keep it open). A failed COMMIT fails every body of the batch.
//!
//! The body runs in its caller's future (it may borrow the caller's data). The COMMIT
//! runs in a spawned task that owns the writer, so a cancelled caller cannot interrupt
//! it. A caller cancelled while its body holds the writer leaves the transaction in
//! doubt (its savepoint open, part of its statements run): its [`Held`] guard
//! poisons the writer on drop, and (in a spawned task, or by the next holder) the
//! connection is dropped, which rolls the whole batch back, and the batch's waiting
//! bodies fail with an error: never a false success, never a half body. A caller
//! cancelled while waiting for the writer makes sure someone still closes the open
//! batch ([`Ticket`]).
//!
//! A body's error is answered when its batch ends too, and only if the batch
//! committed: it may rest on an earlier body's writes (a conflict, a duplicate), which
//! a retry must then be able to read, and which must not be believed if they were
//! rolled back.
//!
//! Readers keep using the pool: WAL shows them committed data only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::SimpleAsyncConnection;
use payport_domain::RepoError;
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use crate::inline::inline;
use crate::pool::{sqlite_writer_setup, SqliteConn};

/// The most bodies one batch takes before it commits even though others wait.
pub(crate) const MAX_BATCH_BODIES: usize = 64;
/// The longest a batch stays open while others keep coming (its first caller waits
/// this long at most for the batch to fill).
pub(crate) const MAX_BATCH_AGE: Duration = Duration::from_millis(5);

/// How a batch ended, for every body released into it: `Err` says why it was not
/// committed (or that its fate is unknown).
type Outcome = Result<(), Arc<str>>;

/// The store's SQLite writer. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub(crate) struct Writer(Arc<Shared>);

struct Shared {
    /// A database path for [`sqlite_writer_setup`]: the connection opens on first use,
    /// and again after one was dropped as broken.
    path: String,
    /// tokio's mutex is FIFO: bodies take the writer in the order they asked.
    state: Arc<Mutex<WriterState>>,
    /// Callers waiting for the writer: a body releases the batch to them instead of
    /// committing it.
    waiting: AtomicUsize,
}

struct WriterState {
    /// `None` before the first write, and after a connection was dropped because its
    /// transaction could not be rolled back (closing it rolls back). Never `None`
    /// while `batch` is `Some`.
    conn: Option<SqliteConn>,
    /// The open transaction, if any.
    batch: Option<Batch>,
    /// A holder stopped halfway (cancelled): the open transaction must be rolled back
    /// before anything else runs on the connection.
    poisoned: bool,
}

struct Batch {
    opened: Instant,
    bodies: usize,
    done: watch::Sender<Option<Outcome>>,
}

/// The savepoint every body runs in. Bodies never overlap, so one name does.
const BEGIN_BATCH: &str = "BEGIN IMMEDIATE; SAVEPOINT body";
const BEGIN_BODY: &str = "SAVEPOINT body";
const RELEASE_BODY: &str = "RELEASE body";
const RELEASE_AND_COMMIT: &str = "RELEASE body; COMMIT";
const UNDO_BODY: &str = "ROLLBACK TO body; RELEASE body";

impl Writer {
    pub(crate) fn new(path: &str) -> Writer {
        Writer(Arc::new(Shared {
            path: path.to_owned(),
            state: Arc::new(Mutex::new(WriterState {
                conn: None,
                batch: None,
                poisoned: false,
            })),
            waiting: AtomicUsize::new(0),
        }))
    }

    /// Waits for the writer and opens a savepoint for one body (and the batch's
    /// transaction, if none is open).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the connection cannot be opened or the
    /// transaction not begun (then nothing of the body ran).
    pub(crate) async fn hold(&self) -> Result<Held, RepoError> {
        let ticket = Ticket::new(&self.0);
        let guard = Arc::clone(&self.0.state).lock_owned().await;
        ticket.served();
        let mut held = Held {
            shared: Arc::clone(&self.0),
            guard: Some(guard),
            armed: true,
        };
        let state = held.state();
        if state.poisoned {
            recover(state);
        }
        if state.conn.is_none() {
            match sqlite_writer_setup(&self.0.path).await {
                Ok(conn) => state.conn = Some(conn),
                Err(e) => {
                    held.armed = false;
                    return Err(RepoError::Unavailable(format!(
                        "cannot open the SQLite writer: {e}"
                    )));
                }
            }
        }
        // `BEGIN IMMEDIATE` may wait for SQLite's lock: on the blocking pool. A
        // savepoint inside the open batch never waits.
        let begun = if state.batch.is_some() {
            inline(state.conn_mut().batch_execute(BEGIN_BODY)).await
        } else {
            state.conn_mut().batch_execute(BEGIN_BATCH).await
        };
        if let Err(e) = begun {
            // Whatever half of it ran is undone with the rest of the batch.
            let why = format!("could not begin a write: {e}");
            abort(state, &why).await;
            held.armed = false;
            return Err(RepoError::Unavailable(why));
        }
        let batch = state.batch.get_or_insert_with(|| Batch {
            opened: Instant::now(),
            bodies: 0,
            done: watch::Sender::new(None),
        });
        batch.bodies += 1;
        Ok(held)
    }
}

/// The writer, held for one body. Dropped before [`Held::finish`] (its caller was
/// cancelled), it poisons the writer: the body is undone (see [`recover`]).
pub(crate) struct Held {
    shared: Arc<Shared>,
    guard: Option<OwnedMutexGuard<WriterState>>,
    /// The body's savepoint is open (or in doubt).
    armed: bool,
}

impl Held {
    fn state(&mut self) -> &mut WriterState {
        self.guard.as_mut().expect("held until finished")
    }

    /// The connection the body runs on, inside its savepoint.
    pub(crate) fn conn(&mut self) -> &mut SqliteConn {
        self.state().conn_mut()
    }

    /// Ends the body with its `result`: an `Err` is rolled back to its savepoint and
    /// returned at once; an `Ok` is returned once its batch has committed, or turned
    /// into an error if the batch was not committed.
    pub(crate) async fn finish<T, E: From<DieselError>>(
        mut self,
        result: Result<T, E>,
    ) -> Result<T, E> {
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                let done = self.state().batch.as_ref().map(|b| b.done.subscribe());
                self.end_body(UNDO_BODY, "could not roll back a failed write")
                    .await;
                // The error may come from an earlier body's writes in this batch (a
                // version conflict): answered once those are committed (or not), a
                // retry reads them instead of the same stale row again.
                // It may also rest on those writes (a duplicate found, an amount
                // refused): it stands only if they were committed.
                let outcome = match done {
                    Some(mut done) => wait_outcome(&mut done).await,
                    None => Ok(()),
                };
                return match outcome {
                    Ok(()) => Err(e),
                    Err(why) => Err(E::from(batch_failed(&why))),
                };
            }
        };
        let shared = Arc::clone(&self.shared);
        let (mut done, full) = {
            let batch = self.state().batch.as_ref().expect("a body runs in a batch");
            (batch.done.subscribe(), batch.full(&shared))
        };
        if full {
            self.armed = false;
            let guard = self.guard.take().expect("held until finished");
            tokio::spawn(commit(guard, RELEASE_AND_COMMIT));
        } else {
            self.end_body(RELEASE_BODY, "could not release a write into its batch")
                .await;
        }
        match wait_outcome(&mut done).await {
            Ok(()) => Ok(value),
            Err(why) => Err(E::from(batch_failed(&why))),
        }
    }

    /// Closes the body's savepoint with `sql` (a batch it leaves in doubt is rolled
    /// back whole) and lets the writer go.
    async fn end_body(&mut self, sql: &str, failing: &str) {
        let state = self.state();
        if let Err(e) = inline(state.conn_mut().batch_execute(sql)).await {
            abort(state, &format!("{failing}: {e}")).await;
        }
        self.armed = false;
        self.release();
    }

    /// Lets the writer go: commits the open batch if nobody is waiting to add to it,
    /// else leaves it to them.
    fn release(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        match &guard.batch {
            Some(batch) if batch.full(&self.shared) => {
                tokio::spawn(commit(guard, "COMMIT"));
            }
            _ => drop(guard),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        if self.armed {
            // Set before anything else: if no task can be spawned, the next holder
            // still rolls back.
            guard.poisoned = true;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(settle(Arc::clone(&self.shared), guard));
        }
    }
}

/// Counts a caller among those waiting for the writer while it waits.
struct Ticket<'a> {
    shared: &'a Arc<Shared>,
    served: bool,
}

impl<'a> Ticket<'a> {
    fn new(shared: &'a Arc<Shared>) -> Ticket<'a> {
        shared.waiting.fetch_add(1, Ordering::SeqCst);
        Ticket {
            shared,
            served: false,
        }
    }

    fn served(mut self) {
        self.served = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.shared.waiting.fetch_sub(1, Ordering::SeqCst);
        if !self.served {
            // A holder may have left the batch open for this caller, who is gone.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let shared = Arc::clone(self.shared);
                runtime.spawn(async move {
                    let guard = Arc::clone(&shared.state).lock_owned().await;
                    settle(shared, guard).await;
                });
            }
        }
    }
}

impl WriterState {
    fn conn_mut(&mut self) -> &mut SqliteConn {
        self.conn.as_mut().expect("opened before a body runs")
    }
}

impl Batch {
    /// Whether to commit now: nobody waits to join, or the batch is big or old enough.
    fn full(&self, shared: &Shared) -> bool {
        shared.waiting.load(Ordering::SeqCst) == 0
            || self.bodies >= MAX_BATCH_BODIES
            || self.opened.elapsed() >= MAX_BATCH_AGE
    }
}

/// Leaves the writer in order after a holder went away without finishing: undoes a
/// body left halfway, commits a batch nobody else will close.
async fn settle(shared: Arc<Shared>, mut guard: OwnedMutexGuard<WriterState>) {
    if guard.poisoned {
        recover(&mut guard);
    }
    if guard.batch.as_ref().is_some_and(|b| b.full(&shared)) {
        commit(guard, "COMMIT").await;
    }
}

/// Undoes what a cancelled holder left in doubt: a body stopped between two
/// statements, or a COMMIT whose answer was lost. Rather than reason about where it
/// stopped, the connection is dropped: closing it rolls the open transaction back
/// whole, and the next holder opens a new one (its `BEGIN IMMEDIATE` waits on
/// SQLite's lock until the old one is closed). The batch's bodies hear that it
/// failed: never a false success, never half a body.
fn recover(state: &mut WriterState) {
    state.conn = None;
    state.poisoned = false;
    if let Some(batch) = state.batch.take() {
        batch.done.send_replace(Some(Err(
            "a write in the same batch was cancelled halfway; the batch was rolled back".into(),
        )));
    }
}

/// How the batch a body was in ended, once it has.
async fn wait_outcome(done: &mut watch::Receiver<Option<Outcome>>) -> Outcome {
    match done.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or_else(|| Err(UNANSWERED.into())),
        Err(_) => Err(UNANSWERED.into()),
    }
}

/// Commits the open batch (`sql` ends with `COMMIT`) and tells its bodies.
async fn commit(mut guard: OwnedMutexGuard<WriterState>, sql: &'static str) {
    let Some(batch) = guard.batch.take() else {
        return;
    };
    // Until the COMMIT has answered: if this task is dropped halfway, whoever holds
    // the writer next rolls back whatever is left (the batch's bodies hear that their
    // fate is unknown: the sender is dropped).
    guard.poisoned = true;
    let outcome = match guard.conn_mut().batch_execute(sql).await {
        Ok(()) => Ok(()),
        Err(e) => {
            rollback(&mut guard).await;
            Err(format!("the batch's commit failed: {e}").into())
        }
    };
    guard.poisoned = false;
    batch.done.send_replace(Some(outcome));
}

/// Rolls back the open transaction, fails the batch's bodies with `why` and clears the
/// poison.
async fn abort(state: &mut WriterState, why: &str) {
    rollback(state).await;
    state.poisoned = false;
    if let Some(batch) = state.batch.take() {
        batch.done.send_replace(Some(Err(why.into())));
    }
}

/// Rolls back whatever transaction is open; a connection that cannot is dropped
/// (closing it rolls back) and the next holder opens a new one.
async fn rollback(state: &mut WriterState) {
    if let Some(conn) = state.conn.as_mut() {
        if conn.batch_execute("ROLLBACK").await.is_err() {
            state.conn = None;
        }
    }
}

/// What a body hears when its batch's commit was interrupted.
const UNANSWERED: &str =
    "the write batch ended without an answer; its writes may or may not be saved";

/// The error a released body gets when its batch was not committed.
fn batch_failed(why: &str) -> DieselError {
    DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(why.to_owned()))
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
