//! Crash points: named places where a test build of payport can be told to die, to
//! prove that what a crash leaves behind ends correct after a restart.
//!
//! They are `fail` crate fail points whose only action is [`std::process::abort`]
//! (like SIGKILL: no destructor runs, nothing is flushed). Without the `failpoints`
//! feature, off by default and turned on only by the test build, [`crash_point`] is
//! an empty function: release builds cannot stop at one. With it, the `payport`
//! binary arms those named in `FAILPOINTS` at start (`FAILPOINTS=refund.after_reservation=return`;
//! `return` is the action that stops; `1*return` stops at the first pass only).

/// After a refund's reservation committed (`processing`), before the gateway call.
pub const REFUND_AFTER_RESERVATION: &str = "refund.after_reservation";
/// After the gateway answered a refund (or the call failed), before the outcome is saved.
pub const REFUND_BEFORE_OUTCOME: &str = "refund.before_outcome";
/// Inside a payment notification's one transaction (inbox record and order change),
/// just before it commits: the closest that path has to "recorded, not applied".
pub const NOTIFICATION_BEFORE_COMMIT: &str = "notification.before_commit";
/// After a payment notification's transaction committed, before Alipay is answered.
pub const NOTIFICATION_AFTER_COMMIT: &str = "notification.after_commit";
/// On the three-step path (a notification that settles refunds, a legacy batch
/// notification): after the inbox record, before anything is applied.
pub const NOTIFICATION_RECORDED: &str = "notification.recorded";
/// After the worker's claim of due refund syncs committed, before any is synced: the
/// rows stay leased to a dead process.
pub const WORKER_AFTER_CLAIM: &str = "worker.after_claim";

/// Every crash point, for the docs and the tests.
pub const ALL: [&str; 6] = [
    REFUND_AFTER_RESERVATION,
    REFUND_BEFORE_OUTCOME,
    NOTIFICATION_BEFORE_COMMIT,
    NOTIFICATION_AFTER_COMMIT,
    NOTIFICATION_RECORDED,
    WORKER_AFTER_CLAIM,
];

/// Stops the process here if `name` is armed; otherwise (always, in a build without
/// the `failpoints` feature) does nothing.
#[inline]
pub fn crash_point(name: &str) {
    #[cfg(feature = "failpoints")]
    let _ = fail::eval(name, |_| std::process::abort());
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Arms the crash points named in `FAILPOINTS`; they stay armed while the value lives.
///
/// # Panics
/// `FAILPOINTS` is malformed: a test build that cannot arm what it was asked to must
/// not run as if it had.
#[cfg(feature = "failpoints")]
pub fn arm_from_env() -> fail::FailScenario<'static> {
    fail::FailScenario::setup()
}
