//! The spec's hand-kept lists (`OPERATOR_ONLY`, the operations that list 502) checked
//! against the handlers' source, so that a new handler cannot drift from them. A
//! source scan rather than requests: no request reliably makes every path fail at
//! Alipay, while the source says which handlers could. It is deliberately coarse: a
//! handler "reaches Alipay" if a use case it calls, or any of the use cases' own
//! methods and functions that one calls by name, touches a gateway port, the bill
//! source, or reports a gateway mismatch; a false positive fails here and is looked
//! at by hand.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What in a use case's body means it can reach Alipay (and so answer 502).
const REACHES_ALIPAY: &[&str] = &[
    "ports.payments",
    "refund_gateways",
    "self.bills",
    "GatewayDataMismatch",
];

fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Each handler's operation id and its body (up to the next operation), squeezed.
fn handlers() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    sources(&Path::new(ROOT).join("src/api"), &mut files);
    let mut found = BTreeMap::new();
    for file in files {
        let text = squeeze(&file);
        let parts: Vec<&str> = text.split("operation_id=\"").collect();
        for part in &parts[1..] {
            let (id, body) = part.split_once('"').unwrap();
            found.insert(id.to_owned(), body.to_owned());
        }
    }
    found
}

/// Every function in the domain's use cases by name, with its squeezed body (bodies
/// of functions sharing a name are joined: coarse on purpose).
fn use_cases() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    sources(&Path::new(ROOT).join("../domain/src/usecases"), &mut files);
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let parts: Vec<&str> = file.split("fn ").collect();
        for part in &parts[1..] {
            let name: String = part
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.entry(name).or_default().push_str(&squeeze(part));
        }
    }
    found
}

/// Whether `body` calls `name` as a use case's own method (`self.name(`) or a free
/// function; `x.name(` on anything else (a port, a value) is another thing.
fn calls(body: &str, name: &str) -> bool {
    body.match_indices(&format!("{name}(")).any(|(at, _)| {
        let before = &body[..at];
        match before.chars().next_back() {
            Some('.') => before.ends_with("self.") && !before.ends_with(".self."),
            Some(c) => !(c.is_alphanumeric() || c == '_'),
            None => true,
        }
    })
}

fn reaches_alipay(handler: &str, fns: &BTreeMap<String, String>) -> bool {
    let mut todo: Vec<String> = handler
        .split("state.")
        .skip(1)
        .filter_map(|call| {
            let call = call.split_once('(')?.0;
            Some(call.rsplit('.').next()?.to_owned())
        })
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        let Some(body) = fns.get(&name) else { continue };
        if !seen.insert(name) {
            continue;
        }
        if REACHES_ALIPAY.iter().any(|m| body.contains(m)) {
            return true;
        }
        todo.extend(fns.keys().filter(|f| calls(body, f)).cloned());
    }
    false
}

#[test]
fn operator_only_is_exactly_the_handlers_that_require_an_operator() {
    let requiring: BTreeSet<String> = handlers()
        .into_iter()
        .filter(|(_, body)| body.contains("require_operator()"))
        .map(|(id, _)| id)
        .collect();
    let listed: BTreeSet<String> = payport_server::api::spec::OPERATOR_ONLY
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert!(
        requiring.len() >= 5,
        "the scan found too little: {requiring:?}"
    );
    assert_eq!(requiring, listed);
}

#[test]
fn every_operation_that_can_reach_alipay_lists_502_and_no_other_does() {
    let spec: serde_json::Value = serde_json::from_str(&payport_server::api::spec_json()).unwrap();
    let mut lists_502 = BTreeMap::new();
    for operations in spec["paths"].as_object().unwrap().values() {
        for op in operations.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            lists_502.insert(id, op["responses"].get("502").is_some());
        }
    }
    let fns = use_cases();
    let handlers = handlers();
    assert_eq!(
        handlers.keys().collect::<Vec<_>>(),
        lists_502.keys().collect::<Vec<_>>()
    );
    let reaching: BTreeSet<&String> = handlers
        .iter()
        .filter(|(_, body)| reaches_alipay(body, &fns))
        .map(|(id, _)| id)
        .collect();
    assert!(
        reaching.contains(&"startPayment".to_owned()),
        "{reaching:?}"
    );
    let listing: BTreeSet<&String> = lists_502
        .iter()
        .filter(|(_, listed)| **listed)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(reaching, listing);
}
