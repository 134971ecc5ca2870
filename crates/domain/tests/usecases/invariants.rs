//! Property: whatever operators, merchants and Alipay do, in whatever order,
//! (a) refunds not rejected or failed never exceed the order total,
//! (b) every saved refund status follows an edge of the state machine,
//! (c) the order's refunded amount is exactly its succeeded refunds,
//! (d) payport never believes a refund Alipay did not make, nor fails one it did, and
//!     Alipay never refunds more than the total or twice under one number,
//! (e) every save hands exactly the events of the status changes it makes, so the
//!     events stored tell each refund's and the order's story to the end
//!     ([`Recorder::check`](super::events::Recorder::check)),
//! (f) a refund Alipay made in its console is recorded, unless it may be one of
//!     payport's own under way (a legacy one, or one of the same amount): then nothing
//!     is stored. It is not checked against reservations (the money is gone), so once
//!     there is one, (a) narrows to payport's own refunds, and Alipay refuses what no
//!     longer fits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use proptest::prelude::*;

use super::support::*;
use payport_domain::error::GatewayError;
use payport_domain::ids::OutRequestNo;
use payport_domain::money::Amount;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::*;
use payport_domain::refund::{GatewayFailure, RefundStatus, RefundSuccess};
use payport_domain::usecases::{ExternalRecorded, ExternalRefund, RefundRequest, ServiceError};

const TOTAL_FEN: i64 = 1_000;

#[derive(Debug, Clone, Copy)]
enum Alipay {
    Succeed,
    Reject,
    /// The request never reached Alipay.
    TimeoutLost,
    /// Alipay refunded, but the answer was lost (or said ACQ.SYSTEM_ERROR).
    TimeoutApplied,
}

#[derive(Debug, Clone)]
enum Op {
    Request {
        fen: i64,
        reuse_number_of: Option<usize>,
    },
    Approve(usize),
    Reject(usize),
    Sync(usize),
    /// Alipay's notification for a refund it made.
    Notify(usize),
    /// A refund made in Alipay's merchant console, then recorded.
    Console(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..=TOTAL_FEN / 2, proptest::option::weighted(0.1, 0usize..8))
            .prop_map(|(fen, reuse_number_of)| Op::Request { fen, reuse_number_of }),
        2 => (0usize..8).prop_map(Op::Approve),
        1 => (0usize..8).prop_map(Op::Reject),
        2 => (0usize..8).prop_map(Op::Sync),
        1 => (0usize..8).prop_map(Op::Notify),
        1 => (1..=TOTAL_FEN / 2).prop_map(Op::Console),
    ]
}

fn alipay() -> impl Strategy<Value = Alipay> {
    prop_oneof![
        Just(Alipay::Succeed),
        Just(Alipay::Reject),
        Just(Alipay::TimeoutLost),
        Just(Alipay::TimeoutApplied),
    ]
}

/// An honest Alipay for one trade: at most one refund per out_request_no, never more
/// than the total, and the scripted behaviour for each new request.
struct FakeAlipay {
    script: Vec<Alipay>,
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    calls: usize,
    refunded: HashMap<String, Amount>,
    /// How many refunds were made in the console.
    console: usize,
    violations: Vec<String>,
}

impl FakeAlipay {
    fn refunded_total(&self) -> Amount {
        let state = self.state.lock().unwrap();
        Amount::sum(state.refunded.values().copied()).unwrap()
    }

    /// Refunds `fen` in the console when it fits: its number then.
    fn console_refund(&self, fen: i64) -> Option<OutRequestNo> {
        let mut state = self.state.lock().unwrap();
        let total = Amount::sum(state.refunded.values().copied()).unwrap();
        if total.fen() + fen > TOTAL_FEN {
            return None;
        }
        state.console += 1;
        let number = format!("console{}", state.console);
        state
            .refunded
            .insert(number.clone(), Amount::from_fen(fen).unwrap());
        Some(OutRequestNo::parse(number).unwrap())
    }
}

#[async_trait]
impl RefundSubmitter for FakeAlipay {
    async fn submit_refund(&self, r: &RefundSubmission) -> Result<RefundSubmitted, GatewayError> {
        let mut state = self.state.lock().unwrap();
        let key = r.out_request_no.to_string();
        if let Some(done) = state.refunded.get(&key).copied() {
            if done != r.amount {
                state
                    .violations
                    .push(format!("{key} resent with another amount"));
            }
            // Alipay answers a repeat with fund_change=N, which means "ask".
            return Err(GatewayError::Unknown("fund_change=N".into()));
        }
        let total = Amount::sum(state.refunded.values().copied()).unwrap();
        if state.console > 0 && total.fen() + r.amount.fen() > TOTAL_FEN {
            // Room payport had reserved went to a console refund: Alipay refuses.
            return Err(GatewayError::Rejected(GatewayFailure {
                code: "40004".into(),
                sub_code: Some("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL".into()),
                message: "Business Failed".into(),
            }));
        }
        let behaviour = self.script[state.calls % self.script.len()];
        state.calls += 1;
        let apply = |state: &mut FakeState| {
            let total = Amount::sum(state.refunded.values().copied()).unwrap();
            if total.fen() + r.amount.fen() > TOTAL_FEN {
                state
                    .violations
                    .push(format!("over-refund attempted with {key}"));
            }
            state.refunded.insert(key.clone(), r.amount);
        };
        match behaviour {
            Alipay::Succeed => {
                apply(&mut state);
                Ok(RefundSubmitted::Succeeded(RefundSuccess::default()))
            }
            Alipay::Reject => Err(GatewayError::Rejected(GatewayFailure {
                code: "40004".into(),
                sub_code: Some("ACQ.SELLER_BALANCE_NOT_ENOUGH".into()),
                message: "Business Failed".into(),
            })),
            Alipay::TimeoutLost => Err(GatewayError::Unknown("timeout".into())),
            Alipay::TimeoutApplied => {
                apply(&mut state);
                Err(GatewayError::Unknown("ACQ.SYSTEM_ERROR".into()))
            }
        }
    }
}

#[async_trait]
impl RefundQuery for FakeAlipay {
    async fn query_refund(&self, r: &RefundSubmission) -> Result<RefundLookup, GatewayError> {
        let state = self.state.lock().unwrap();
        Ok(if state.refunded.contains_key(r.out_request_no.as_str()) {
            RefundLookup::Succeeded(RefundSuccess::default())
        } else {
            RefundLookup::NotRefunded
        })
    }

    async fn find_refund(
        &self,
        _out_trade_no: &payport_domain::ids::OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<FoundRefund>, GatewayError> {
        let state = self.state.lock().unwrap();
        Ok(state
            .refunded
            .get(out_request_no.as_str())
            .map(|amount| FoundRefund {
                amount: *amount,
                refunded_at: None,
            }))
    }
}

fn run(ops: Vec<Op>, script: Vec<Alipay>, approval_above_fen: i64) -> Result<(), TestCaseError> {
    let fake = Arc::new(FakeAlipay {
        script,
        state: Mutex::default(),
    });
    let mut h = Harness::new();
    h.settings.refund_policy.approval =
        ApprovalPolicy::ManualAbove(Amount::from_fen(approval_above_fen).unwrap());
    h.store.put_order(paid_order("o1", "10.00"));
    h.openapi_override = Some(RefundRoute::new(fake.clone()).with_query(fake.clone()));
    let recorder = super::events::record(&mut h);
    let app = h.build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for op in ops {
            let refunds = app.store.refund_list();
            let pick = |i: usize| refunds.get(i % refunds.len().max(1)).cloned();
            // Errors are legitimate answers here (over-refund, wrong state, ...); the
            // properties below are what must hold whatever the answer was.
            match op {
                Op::Request {
                    fen,
                    reuse_number_of,
                } => {
                    let out_request_no = reuse_number_of.and_then(pick).map(|r| r.out_request_no);
                    let _ = app
                        .refunds
                        .request(RefundRequest {
                            out_trade_no: otn("o1"),
                            amount: Amount::from_fen(fen).unwrap(),
                            reason: None,
                            out_request_no,
                            gateway: None,
                        })
                        .await;
                }
                Op::Approve(i) => {
                    if let Some(r) = pick(i) {
                        let _ = app.refunds.approve(&r.refund_id).await;
                    }
                }
                Op::Reject(i) => {
                    if let Some(r) = pick(i) {
                        let _ = app.refunds.reject(&r.refund_id, "no".into()).await;
                    }
                }
                Op::Sync(i) => {
                    if let Some(r) = pick(i) {
                        let _ = app.refunds.sync(&r.refund_id).await;
                    }
                }
                Op::Console(fen) => {
                    if let Some(number) = fake.console_refund(fen) {
                        let amount = Amount::from_fen(fen).unwrap();
                        let before = app.store.refund_list();
                        let maybe_ours = before.iter().any(|r| {
                            !r.status.is_final() && (r.gateway.is_legacy() || r.amount == amount)
                        });
                        let recorded = app
                            .refunds
                            .record_external(&ExternalRefund {
                                out_trade_no: otn("o1"),
                                out_request_no: number,
                                amount,
                                refunded_at: None,
                            })
                            .await;
                        // (f)
                        if maybe_ours {
                            prop_assert!(
                                matches!(recorded, Err(ServiceError::GatewayDataMismatch(_))),
                                "{recorded:?}"
                            );
                            prop_assert_eq!(app.store.refund_list(), before);
                        } else {
                            prop_assert!(
                                matches!(recorded, Ok(ExternalRecorded::Recorded(_))),
                                "{recorded:?}"
                            );
                        }
                    }
                }
                Op::Notify(i) => {
                    let made = pick(i).filter(|r| {
                        fake.state
                            .lock()
                            .unwrap()
                            .refunded
                            .contains_key(r.out_request_no.as_str())
                    });
                    if let Some(r) = made {
                        let _ = app
                            .refunds
                            .apply_result(&RefundResult {
                                reference: RefundReference::OutRequestNo {
                                    out_trade_no: r.out_trade_no,
                                    out_request_no: r.out_request_no,
                                },
                                outcome: RefundResultOutcome::Succeeded(RefundSuccess::default()),
                            })
                            .await;
                    }
                }
            }
            check(&app.store, &fake)?;
        }
        // (e), once at the end: it reads every save made.
        recorder.check(&app);
        Ok(())
    })
}

fn check(store: &MemoryStore, fake: &FakeAlipay) -> Result<(), TestCaseError> {
    let refunds = store.refund_list();
    let order = store.order("o1");
    let sum = |keep: &dyn Fn(RefundStatus) -> bool| {
        Amount::sum(refunds.iter().filter(|r| keep(r.status)).map(|r| r.amount)).unwrap()
    };
    // (a)
    let console = fake.state.lock().unwrap().console;
    let own_held = Amount::sum(
        refunds
            .iter()
            .filter(|r| !r.external && r.status.holds_reservation())
            .map(|r| r.amount),
    )
    .unwrap();
    if console == 0 {
        prop_assert!(sum(&|s| s.holds_reservation()) <= order.total_amount);
    } else {
        prop_assert!(own_held <= order.total_amount);
        prop_assert!(sum(&|s| s == RefundStatus::Succeeded) <= order.total_amount);
    }
    // (b)
    for (id, statuses) in store.history.lock().unwrap().iter() {
        for pair in statuses.windows(2) {
            prop_assert!(
                pair[0] == pair[1] || pair[0].can_become(pair[1]),
                "{id}: {:?} -> {:?}",
                pair[0],
                pair[1]
            );
        }
    }
    // (c)
    prop_assert_eq!(
        order.refunded_amount,
        sum(&|s| s == RefundStatus::Succeeded)
    );
    // (d)
    let state = fake.state.lock().unwrap();
    prop_assert!(state.violations.is_empty(), "{:?}", state.violations);
    for r in &refunds {
        let made = state.refunded.contains_key(r.out_request_no.as_str());
        match r.status {
            RefundStatus::Succeeded => {
                prop_assert!(made, "{} believed without Alipay", r.refund_id)
            }
            RefundStatus::Failed | RefundStatus::Rejected => {
                prop_assert!(
                    !made,
                    "{} refunded at Alipay but recorded {:?}",
                    r.refund_id,
                    r.status
                )
            }
            _ => {}
        }
    }
    drop(state);
    prop_assert!(fake.refunded_total().fen() <= TOTAL_FEN);
    let mut numbers: Vec<_> = refunds.iter().map(|r| r.out_request_no.clone()).collect();
    numbers.sort();
    numbers.dedup();
    prop_assert_eq!(numbers.len(), refunds.len(), "out_request_no reused");
    Ok(())
}

proptest! {
    // 1,000 cases by default (CI); PROPTEST_CASES overrides for longer local runs.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn refunds_never_exceed_the_total_and_follow_the_state_machine(
        ops in proptest::collection::vec(op(), 1..40),
        script in proptest::collection::vec(alipay(), 1..8),
        approval_above_fen in 0..=TOTAL_FEN,
    ) {
        run(ops, script, approval_above_fen)?;
    }
}
