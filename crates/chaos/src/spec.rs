//! Which HTTP statuses the committed OpenAPI document gives each operation the harness
//! calls, so that every answer can be checked against it.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use serde_json::Value;

/// The operations the harness calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    CreateOrder,
    StartPayment,
    GetOrder,
    CreateRefund,
    ListRefunds,
}

impl Op {
    /// The method and path template as the spec writes them.
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Op::CreateOrder => ("post", "/v1/orders"),
            Op::StartPayment => ("post", "/v1/orders/{out_trade_no}/payments"),
            Op::GetOrder => ("get", "/v1/orders/{out_trade_no}"),
            Op::CreateRefund => ("post", "/v1/orders/{out_trade_no}/refunds"),
            Op::ListRefunds => ("get", "/v1/orders/{out_trade_no}/refunds"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::CreateOrder => "create order",
            Op::StartPayment => "start payment",
            Op::GetOrder => "get order",
            Op::CreateRefund => "refund",
            Op::ListRefunds => "list refunds",
        }
    }

    const ALL: [Op; 5] = [
        Op::CreateOrder,
        Op::StartPayment,
        Op::GetOrder,
        Op::CreateRefund,
        Op::ListRefunds,
    ];
}

/// The documented statuses of each operation.
pub struct Spec(HashMap<Op, HashSet<u16>>);

const DOCUMENT: &str = include_str!("../../../openapi/payport.json");

impl Spec {
    pub fn committed() -> anyhow::Result<Spec> {
        let doc: Value = serde_json::from_str(DOCUMENT)?;
        let mut map = HashMap::new();
        for op in Op::ALL {
            let (method, path) = op.route();
            let responses = doc["paths"][path][method]["responses"]
                .as_object()
                .with_context(|| format!("openapi/payport.json has no {method} {path}"))?;
            let statuses = responses
                .keys()
                .filter_map(|s| s.parse().ok())
                .collect::<HashSet<u16>>();
            map.insert(op, statuses);
        }
        Ok(Spec(map))
    }

    pub fn documents(&self, op: Op, status: u16) -> bool {
        self.0.get(&op).is_some_and(|s| s.contains(&status))
    }
}

/// Every answer, counted by operation and status, and the ones that broke the spec.
#[derive(Debug, Default)]
pub struct Tally {
    pub answers: BTreeMap<(Op, u16), usize>,
    /// Requests that got no HTTP answer (the instance was killed or down).
    pub no_answer: usize,
    pub undocumented: usize,
    /// The first few undocumented answers, to say what they were.
    pub examples: Vec<String>,
}

impl Tally {
    pub fn record(&mut self, spec: &Spec, op: Op, status: u16, body: &str) {
        *self.answers.entry((op, status)).or_default() += 1;
        let problem = if !spec.documents(op, status) {
            Some("an undocumented status")
        } else if status >= 400 && !is_error_body(body) {
            Some("no error body")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.undocumented += 1;
            if self.examples.len() < 5 {
                let body: String = body.chars().take(160).collect();
                self.examples
                    .push(format!("{}: {status} ({problem}): {body}", op.name()));
            }
        }
    }

    /// The refund answers by status, as `201 x, 202 y, ...`.
    pub fn refund_statuses(&self) -> String {
        self.answers
            .iter()
            .filter(|((op, _), _)| *op == Op::CreateRefund)
            .map(|((_, status), n)| format!("{status} x{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `{"code": "...", "message": "..."}`, as every error is.
fn is_error_body(body: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .is_ok_and(|v| v["code"].is_string() && v["message"].is_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_spec_documents_a_refund_s_statuses_and_not_others() {
        let spec = Spec::committed().unwrap();
        assert!(spec.documents(Op::CreateRefund, 202));
        assert!(spec.documents(Op::CreateRefund, 422));
        assert!(!spec.documents(Op::CreateRefund, 500));
        assert!(!spec.documents(Op::ListRefunds, 202));
    }

    #[test]
    fn an_error_without_its_body_is_counted_as_undocumented() {
        let spec = Spec::committed().unwrap();
        let mut tally = Tally::default();
        let error = r#"{"code":"X","message":"m"}"#;
        tally.record(&spec, Op::CreateRefund, 422, error);
        assert_eq!(tally.undocumented, 0);
        tally.record(&spec, Op::CreateRefund, 409, "busy");
        tally.record(&spec, Op::CreateRefund, 500, error);
        assert_eq!(tally.undocumented, 2);
        assert_eq!(tally.refund_statuses(), "409 x1, 422 x1, 500 x1");
    }
}
