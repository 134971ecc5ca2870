//! The verdict: payport's books against the simulator's, and every answer against the
//! spec and against the other answers to the same request.

use std::collections::HashMap;

use serde_json::Value;

use crate::client::Outcome;
use crate::plan::{Attempt, TOTAL_FEN};

/// A refund that will not change any more (or waits for a person by design).
pub fn is_final(status: &str) -> bool {
    matches!(
        status,
        "succeeded" | "failed" | "rejected" | "awaiting_operator"
    )
}

/// What the checks found; all zero is a pass.
#[derive(Debug, Default)]
pub struct Findings {
    /// Orders whose succeeded refunds in payport do not add up to the simulator's
    /// refunded amount, or add up to more than the total.
    pub ledger_mismatches: usize,
    /// out_request_nos the simulator refunded more than once.
    pub double_refunds: usize,
    /// payport's succeeded refunds the simulator has no refund of (that number and amount).
    pub unbacked: usize,
    pub not_final: usize,
    /// Attempts under one key that ended differently (another refund, another answer).
    pub key_mismatches: usize,
    /// Refunds under one out_request_no that came back as different refunds.
    pub out_request_no_mismatches: usize,
    /// Answers naming a refund of another amount or out_request_no than asked.
    pub wrong_refunds: usize,
    /// Attempts still without an answer at the deadline.
    pub gave_up: usize,
    /// Refusals other than "exceeds the refundable amount", the only one this run's
    /// requests can rightly get.
    pub unexpected_refusals: usize,
    /// Attempts refused for want of room under an out_request_no that payport holds a
    /// refund of, on an order with no failed refund (which could have freed the room
    /// later): the same number must always get its refund back.
    pub refused_with_a_refund: usize,
    /// Refunds the simulator made under a number payport does not hold as succeeded,
    /// at that amount: money moved that payport's books do not show.
    pub unrecorded: usize,
    pub examples: Vec<String>,
    /// Figures, not failures.
    pub succeeded: usize,
    pub failed: usize,
    pub refunded_fen: i64,
    pub refused: usize,
    pub orders_with_refusals: usize,
    pub gateway_repeats: u64,
}

impl Findings {
    pub fn pass(&self, undocumented: usize) -> bool {
        undocumented
            + self.ledger_mismatches
            + self.double_refunds
            + self.unbacked
            + self.not_final
            + self.key_mismatches
            + self.out_request_no_mismatches
            + self.wrong_refunds
            + self.gave_up
            + self.unexpected_refusals
            + self.refused_with_a_refund
            + self.unrecorded
            == 0
    }

    fn note(&mut self, example: String) {
        if self.examples.len() < 10 {
            self.examples.push(example);
        }
    }
}

/// Fen of payport's amount text (`"2.43"`).
pub fn fen(amount: &str) -> Option<i64> {
    let (whole, part) = amount.split_once('.').unwrap_or((amount, "0"));
    let part = format!("{part:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + part.get(..2)?.parse::<i64>().ok()?)
}

/// `orders[i]` is order i's number, `finals[i]` its refunds in payport, `report` the
/// simulator's refund report.
pub fn check(
    orders: &[String],
    finals: &[Vec<Value>],
    report: &[Value],
    attempts: &[Attempt],
    outcomes: &[Outcome],
) -> Findings {
    let mut f = Findings::default();
    let trades: HashMap<&str, &Value> = report
        .iter()
        .filter_map(|t| Some((t["out_trade_no"].as_str()?, t)))
        .collect();
    for (order, refunds) in orders.iter().zip(finals) {
        check_order(&mut f, order, refunds, trades.get(order.as_str()).copied());
    }
    check_answers(&mut f, attempts, outcomes);
    check_refusals(&mut f, finals, attempts, outcomes);
    f
}

fn check_order(f: &mut Findings, order: &str, refunds: &[Value], trade: Option<&Value>) {
    let Some(trade) = trade else {
        f.ledger_mismatches += 1;
        f.note(format!("{order}: no trade at the simulator"));
        return;
    };
    let mut sim: HashMap<&str, (i64, u64)> = HashMap::new();
    for r in trade["refunds"].as_array().into_iter().flatten() {
        let number = r["out_request_no"].as_str().unwrap_or_default();
        let performed = r["performed"].as_u64().unwrap_or_default();
        f.gateway_repeats += r["repeats"].as_u64().unwrap_or_default();
        if performed > 1 {
            f.double_refunds += 1;
            f.note(format!("{order}: {number} refunded {performed} times"));
        }
        sim.insert(
            number,
            (r["amount_fen"].as_i64().unwrap_or_default(), performed),
        );
    }
    let mut sum = 0;
    for refund in refunds {
        let status = refund["status"].as_str().unwrap_or_default();
        let id = refund["refund_id"].as_str().unwrap_or_default();
        if !is_final(status) {
            f.not_final += 1;
            f.note(format!("{order}: refund {id} is still {status}"));
        }
        if status == "failed" {
            f.failed += 1;
        }
        if status != "succeeded" {
            continue;
        }
        f.succeeded += 1;
        let amount = fen(refund["amount"].as_str().unwrap_or_default()).unwrap_or(-1);
        sum += amount;
        let number = refund["out_request_no"].as_str().unwrap_or_default();
        if sim.get(number).map(|(at_sim, _)| *at_sim) != Some(amount) {
            f.unbacked += 1;
            f.note(format!(
                "{order}: succeeded {id} ({number}, {amount} fen) is not so at the simulator"
            ));
        }
    }
    for (number, (amount, _)) in &sim {
        let recorded = refunds.iter().any(|r| {
            r["status"] == "succeeded"
                && r["out_request_no"].as_str() == Some(*number)
                && fen(r["amount"].as_str().unwrap_or_default()) == Some(*amount)
        });
        if !recorded {
            f.unrecorded += 1;
            f.note(format!(
                "{order}: the simulator refunded {number} ({amount} fen), payport has no such succeeded refund"
            ));
        }
    }
    let refunded = trade["refunded_fen"].as_i64().unwrap_or(-1);
    f.refunded_fen += sum;
    if sum != refunded || sum > TOTAL_FEN {
        f.ledger_mismatches += 1;
        f.note(format!(
            "{order}: payport succeeded {sum} fen, the simulator refunded {refunded}"
        ));
    }
}

fn check_answers(f: &mut Findings, attempts: &[Attempt], outcomes: &[Outcome]) {
    let mut by_key: HashMap<&str, &Outcome> = HashMap::new();
    let mut by_number: HashMap<(usize, &str), &str> = HashMap::new();
    let mut refused_orders = std::collections::HashSet::new();
    for (attempt, outcome) in attempts.iter().zip(outcomes) {
        match outcome {
            Outcome::GaveUp(last) => {
                f.gave_up += 1;
                f.note(format!("{}: no final answer ({last})", attempt.key));
                continue;
            }
            Outcome::Refused { code, .. } if code == "REFUND_EXCEEDS_REFUNDABLE" => {
                f.refused += 1;
                refused_orders.insert(attempt.order);
            }
            Outcome::Refused { status, code } => {
                f.unexpected_refusals += 1;
                f.note(format!("{}: refused {status} {code}", attempt.key));
            }
            Outcome::Refund {
                refund_id,
                out_request_no,
                amount,
            } => {
                let number_differs = attempt
                    .out_request_no
                    .as_ref()
                    .is_some_and(|asked| asked != out_request_no);
                if number_differs || fen(amount) != Some(attempt.amount_fen) {
                    f.wrong_refunds += 1;
                    f.note(format!(
                        "{}: asked {:?} of {} fen, got {out_request_no} of {amount}",
                        attempt.key, attempt.out_request_no, attempt.amount_fen
                    ));
                }
                let first = by_number
                    .entry((attempt.order, out_request_no.as_str()))
                    .or_insert(refund_id.as_str());
                if *first != refund_id.as_str() {
                    f.out_request_no_mismatches += 1;
                    f.note(format!("{out_request_no}: refunds {first} and {refund_id}"));
                }
            }
        }
        let first = by_key.entry(attempt.key.as_str()).or_insert(outcome);
        if *first != outcome {
            f.key_mismatches += 1;
            f.note(format!("{}: {first:?} then {outcome:?}", attempt.key));
        }
    }
    // Retries under another key are not the same request: only the refund they name is
    // compared (above), since one may be refused before a failed refund freed room.
    f.orders_with_refusals = refused_orders.len();
}

/// Refusals for want of room under a number that has a refund in payport (see
/// [`Findings::refused_with_a_refund`]).
fn check_refusals(
    f: &mut Findings,
    finals: &[Vec<Value>],
    attempts: &[Attempt],
    outcomes: &[Outcome],
) {
    for (attempt, outcome) in attempts.iter().zip(outcomes) {
        let (Outcome::Refused { .. }, Some(number)) = (outcome, &attempt.out_request_no) else {
            continue;
        };
        let Some(refunds) = finals.get(attempt.order) else {
            continue;
        };
        let any_failed = refunds.iter().any(|r| r["status"] == "failed");
        let holds = refunds
            .iter()
            .any(|r| r["out_request_no"].as_str() == Some(number.as_str()));
        if holds && !any_failed {
            f.refused_with_a_refund += 1;
            f.note(format!(
                "{}: refused, yet payport holds a refund {number}",
                attempt.key
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_fen() {
        assert_eq!(fen("2.43"), Some(243));
        assert_eq!(fen("10.00"), Some(1000));
        assert_eq!(fen("0.5"), Some(50));
        assert_eq!(fen("7"), Some(700));
        assert_eq!(fen("x"), None);
    }
}
