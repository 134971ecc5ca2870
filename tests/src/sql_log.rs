//! What one database sees from payport, statement by statement: a Diesel
//! instrumentation (installed once for the whole test process) that records, for the
//! databases a test watches, each transaction with its statements and each statement
//! run outside one (autocommit: one implicit transaction of its own).
//!
//! Only payport's own Diesel connections are seen, and only those opened after
//! [`SqlLog::watch`]: start the server after it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};

/// One unit of work on a connection: a transaction or a statement on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// `BEGIN` ... `COMMIT` (or rolled back): its statements, SQL with binds.
    Transaction {
        statements: Vec<String>,
        committed: bool,
    },
    /// A statement outside any transaction.
    Autocommit(String),
}

impl Unit {
    /// Whether any statement of it contains `text`.
    pub fn mentions(&self, text: &str) -> bool {
        match self {
            Unit::Transaction { statements, .. } => statements.iter().any(|s| s.contains(text)),
            Unit::Autocommit(sql) => sql.contains(text),
        }
    }
}

/// Units per watched database URL, in the order they ended.
static WATCHED: Mutex<Option<HashMap<String, Vec<Unit>>>> = Mutex::new(None);

fn watched() -> MutexGuard<'static, Option<HashMap<String, Vec<Unit>>>> {
    WATCHED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The log of one database, by the URL payport connects with.
pub struct SqlLog {
    url: String,
}

impl SqlLog {
    /// Starts recording what connections opened to `url` from now on do.
    pub fn watch(url: &str) -> SqlLog {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            set_default_instrumentation(|| Some(Box::new(Recorder::default())))
                .expect("install the instrumentation");
        });
        watched()
            .get_or_insert_with(HashMap::new)
            .insert(url.to_owned(), Vec::new());
        SqlLog {
            url: url.to_owned(),
        }
    }

    /// How many units ended so far: a mark for [`SqlLog::since`].
    pub fn mark(&self) -> usize {
        self.units().len()
    }

    /// The units that ended after `mark`.
    pub fn since(&self, mark: usize) -> Vec<Unit> {
        self.units().split_off(mark)
    }

    fn units(&self) -> Vec<Unit> {
        watched()
            .as_ref()
            .and_then(|all| all.get(&self.url).cloned())
            .unwrap_or_default()
    }
}

impl Drop for SqlLog {
    fn drop(&mut self) {
        if let Some(all) = watched().as_mut() {
            all.remove(&self.url);
        }
    }
}

/// One connection's instrumentation: silent unless its URL is watched.
#[derive(Default)]
struct Recorder {
    url: Option<String>,
    open: Option<Vec<String>>,
}

impl Recorder {
    fn push(&self, unit: Unit) {
        let Some(url) = &self.url else { return };
        if let Some(units) = watched().as_mut().and_then(|all| all.get_mut(url)) {
            units.push(unit);
        }
    }
}

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartEstablishConnection { url, .. } = event {
            let is_watched = watched().as_ref().is_some_and(|all| all.contains_key(url));
            self.url = is_watched.then(|| url.to_owned());
            return;
        }
        // Other tests' connections: not even their SQL is formatted.
        if self.url.is_none() {
            return;
        }
        match event {
            InstrumentationEvent::BeginTransaction { depth, .. } if depth.get() == 1 => {
                self.open = Some(Vec::new());
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                let sql = query.to_string();
                // Transaction control: already told by the events around it.
                if matches!(sql.trim(), "BEGIN" | "COMMIT" | "ROLLBACK") {
                    return;
                }
                match &mut self.open {
                    Some(statements) => statements.push(sql),
                    None => self.push(Unit::Autocommit(sql)),
                }
            }
            InstrumentationEvent::CommitTransaction { depth, .. } if depth.get() == 1 => {
                let statements = self.open.take().unwrap_or_default();
                self.push(Unit::Transaction {
                    statements,
                    committed: true,
                });
            }
            InstrumentationEvent::RollbackTransaction { depth, .. } if depth.get() == 1 => {
                let statements = self.open.take().unwrap_or_default();
                self.push(Unit::Transaction {
                    statements,
                    committed: false,
                });
            }
            _ => {}
        }
    }
}
