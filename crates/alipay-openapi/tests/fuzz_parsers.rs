//! Fuzzing the parsers of what Alipay (or anyone posing as Alipay) sends, on stable
//! Rust with proptest: form bodies, the response JSON span scanner, notifications.
//!
//! Each parser must never panic on any input. Beyond that:
//! - a form encoded any legal way decodes to exactly the pairs encoded, and agrees with
//!   the `form_urlencoded` crate whenever payport's stricter decoder accepts a body;
//! - a response body built here (nested objects, escapes, braces inside strings,
//!   whitespace, members in any order) gives back exactly the node text it was built
//!   with, and that text is what a JSON parser reads as the node;
//! - a response signed here verifies, over exactly that text.
//!
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset); the RSA signing
//! target runs a sixteenth of that. CI runs 10,000; see the README's Tests section.

// The shared test helpers unwrap: a failed unwrap there is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use payport_alipay_openapi::{
    extract_response, parse_form_at_most, parse_form_urlencoded, verify_notify, verify_response,
    FormError, ResponseCheck, ResponseError, ResponseNode, SignType, Signer, Verifier,
};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

const METHOD: &str = "alipay.trade.refund";
const NODE: &str = "alipay_trade_refund_response";

// ---------- form bodies ----------

/// A tiny deterministic choice stream, so one generated seed picks every encoding choice.
struct Choices(u64);

impl Choices {
    fn pick(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Encodes one name or value, choosing per byte among the legal spellings.
fn encode_component(text: &str, choices: &mut Choices, out: &mut Vec<u8>) {
    for b in text.bytes() {
        let must_escape = matches!(b, b'&' | b'=' | b'+' | b'%');
        match (b, choices.pick(3)) {
            (b' ', 0) => out.push(b'+'),
            (_, 1) if !must_escape => out.push(b),
            (_, upper) => {
                let hex = if upper == 2 {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                };
                out.extend_from_slice(hex.as_bytes());
            }
        }
    }
}

fn encode_form(pairs: &[(String, String)], seed: u64) -> Vec<u8> {
    let mut choices = Choices(seed | 1);
    let mut out = Vec::new();
    if choices.pick(4) == 0 {
        out.push(b'&');
    }
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            // Empty pieces between pairs are skipped by the contract.
            out.extend_from_slice(if choices.pick(4) == 0 { b"&&" } else { b"&" });
        }
        encode_component(name, &mut choices, &mut out);
        // `name` alone means an empty value, unless the name is empty too.
        if !(value.is_empty() && !name.is_empty() && choices.pick(2) == 0) {
            out.push(b'=');
        }
        encode_component(value, &mut choices, &mut out);
    }
    out
}

fn form_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        "[a-z0-9=&%+A-F]{0,80}".prop_map(String::into_bytes),
        prop::collection::vec(
            prop_oneof![
                Just(b'%'),
                Just(b'&'),
                Just(b'='),
                Just(b'+'),
                Just(0xE6),
                Just(0x80),
                Just(0xFF),
                any::<u8>()
            ],
            0..60
        ),
    ]
}

fn check_form(body: &[u8]) {
    match parse_form_urlencoded(body) {
        Ok(pairs) => {
            // Every escape was valid and every field UTF-8, so the lenient standard
            // decoder must read exactly the same.
            let standard: Vec<(String, String)> =
                form_urlencoded::parse(body).into_owned().collect();
            assert_eq!(pairs, standard, "{body:?}");
        }
        Err(FormError::BadPercentEscape { offset }) => {
            assert_eq!(body.get(offset), Some(&b'%'), "{body:?} offset {offset}");
        }
        Err(FormError::NotUtf8 { index }) => {
            let pieces = body.split(|b| *b == b'&').filter(|p| !p.is_empty());
            assert!(index < pieces.count(), "{body:?} index {index}");
        }
        Err(FormError::TooManyFields { max }) => {
            panic!("the uncapped parser refused a form for its size ({max}): {body:?}")
        }
    }
    // The callbacks' capped parser reads the same, or refuses a form over its cap.
    const CAP: usize = 4;
    match (parse_form_at_most(body, CAP), parse_form_urlencoded(body)) {
        (Ok(capped), Ok(all)) => assert_eq!(capped, all, "{body:?}"),
        (Err(FormError::TooManyFields { max }), Ok(all)) => {
            assert_eq!(max, CAP);
            assert!(all.len() > CAP, "{body:?}");
        }
        (Err(_), Err(_)) => {}
        (capped, all) => panic!("{body:?}: capped {capped:?}, uncapped {all:?}"),
    }
}

// ---------- response bodies ----------

// Generators pick from fixed pieces rather than regexes: it keeps 10,000 cases quick.
fn ws() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "", " ", "\n", "\t ", "\r\n"]).prop_map(String::from)
}

/// A JSON string literal (with its quotes) full of what trips scanners: escaped
/// quotes and backslashes, `\/`, braces and brackets, `\u` escapes, multi-byte text.
/// With `node_name`, it may also hold the node's name, which is legal only inside the
/// node's own span.
fn json_string(node_name: bool) -> impl Strategy<Value = String> {
    let plain = vec![
        "a", "Z", "0", "9", " ", "{", "}", "[", "]", ",", ":", ".", "code", "10000",
    ];
    let tricky = vec![
        "\\\"",
        "\\\\",
        "\\/",
        "\\ud83d\\ude00",
        "退款 } 右",
        "\\n\\t",
    ];
    let piece = prop_oneof![
        6 => prop::sample::select(plain).prop_map(String::from),
        3 => prop::sample::select(tricky).prop_map(String::from),
        1 => (0u32..0x80).prop_map(|c| format!("\\u{c:04x}")),
        1 => Just(if node_name { NODE } else { "x" }.to_owned()),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

fn json_value(node_name: bool) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        json_string(node_name),
        any::<i32>().prop_map(|n| n.to_string()),
        (any::<i16>(), 0u16..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        prop::sample::select(vec!["true", "false", "null", "1e3", "-2.5E-2", "-0"])
            .prop_map(String::from),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            json_object_of(inner.clone(), node_name),
            (prop::collection::vec((ws(), inner), 0..4), ws()).prop_map(|(items, end)| {
                let items: Vec<String> = items.into_iter().map(|(w, v)| w + &v).collect();
                format!("[{}{end}]", items.join(","))
            }),
        ]
    })
}

fn json_object_of(
    values: impl Strategy<Value = String>,
    node_name: bool,
) -> impl Strategy<Value = String> {
    (
        prop::collection::vec((ws(), json_string(node_name), ws(), values), 0..4),
        ws(),
    )
        .prop_map(|(members, end)| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(w1, k, w2, v)| format!("{w1}{k}{w2}:{v}"))
                .collect();
            format!("{{{}{end}}}", members.join(","))
        })
}

/// The node's object: may mention its own name anywhere inside.
fn node_object() -> impl Strategy<Value = String> {
    json_object_of(json_value(true), true)
}

/// A response body and what extraction must find in it.
#[derive(Debug, Clone)]
struct Built {
    body: String,
    node: ResponseNode,
    content: String,
    sign: Option<String>,
    cert_sn: Option<String>,
}

/// Writes a base64 signature as a JSON string, `/` as `\/` or not (Alipay does both).
fn sign_literal(sign: &str, escape_slashes: bool) -> String {
    let text = if escape_slashes {
        sign.replace('/', "\\/")
    } else {
        sign.to_owned()
    };
    format!("\"{text}\"")
}

prop_compose! {
    fn built_response(content: BoxedStrategy<String>)(
        content in content,
        error_node in prop::bool::weighted(0.2),
        sign in prop::option::of("[A-Za-z0-9+/]{0,40}={0,2}"),
        escape_slashes in any::<bool>(),
        cert_sn in prop::option::of("[0-9a-f]{0,16}"),
        extras in prop::collection::vec(("[a-z]{1,8}", json_value(false)), 0..3),
        order_seed in any::<u64>(),
        spacing in prop::collection::vec(ws(), 16),
    ) -> Built {
        let name = if error_node { "error_response" } else { NODE };
        let mut members = vec![format!("\"{name}\"{}:{}{content}", spacing[0], spacing[1])];
        if let Some(sign) = &sign {
            members.push(format!("\"sign\":{}", sign_literal(sign, escape_slashes)));
        }
        if let Some(sn) = &cert_sn {
            members.push(format!("\"alipay_cert_sn\":\"{sn}\""));
        }
        for (key, value) in &extras {
            if key != "sign" {
                members.push(format!("\"{key}\"{}:{value}", spacing[2]));
            }
        }
        let mut choices = Choices(order_seed | 1);
        for i in (1..members.len()).rev() {
            let j = usize::try_from(choices.pick(i as u64 + 1)).expect("small");
            members.swap(i, j);
        }
        let mut body = spacing[3].clone() + "{" + &spacing[4];
        for (i, member) in members.iter().enumerate() {
            if i > 0 {
                body.push_str(&spacing[5 + i % 8]);
                body.push(',');
            }
            body.push_str(member);
        }
        body.push_str(&spacing[13]);
        body.push('}');
        body.push_str(&spacing[14]);
        Built {
            body,
            node: if error_node { ResponseNode::Error } else { ResponseNode::Method },
            content,
            sign: sign.filter(|s| !s.is_empty()),
            cert_sn,
        }
    }
}

fn check_extracted(built: &Built) {
    let got =
        extract_response(&built.body, METHOD).unwrap_or_else(|e| panic!("{e}: {}", built.body));
    assert_eq!(got.node, built.node);
    assert_eq!(got.content, built.content, "{}", built.body);
    assert_eq!(got.sign, built.sign);
    assert_eq!(got.alipay_cert_sn, built.cert_sn);
    // What a JSON parser later reads as the node is exactly the verified span.
    let whole: Value = serde_json::from_str(&built.body).expect("built as JSON");
    let node: Value = serde_json::from_str(got.content).expect("node is JSON");
    let name = match built.node {
        ResponseNode::Method => NODE,
        ResponseNode::Error => "error_response",
    };
    assert_eq!(whole[name], node);
}

/// If extraction accepts a body a JSON parser can also read, both see the same node.
fn check_agrees_with_json(body: &str) {
    let Ok(got) = extract_response(body, METHOD) else {
        return;
    };
    let Ok(Value::Object(whole)) = serde_json::from_str::<Value>(body) else {
        return;
    };
    let name = match got.node {
        ResponseNode::Method => NODE,
        ResponseNode::Error => "error_response",
    };
    let node: Value = serde_json::from_str(got.content).expect("a parseable body's node");
    assert_eq!(whole.get(name), Some(&node), "{body}");
    let other = match got.node {
        ResponseNode::Method => "error_response",
        ResponseNode::Error => NODE,
    };
    assert!(whole.get(other).is_none(), "both nodes: {body}");
    let sign = whole
        .get("sign")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    assert_eq!(got.sign.as_deref(), sign, "{body}");
}

/// `name` with one character written as a `\u` escape: a JSON parser reads it as `name`.
fn escaped_key(name: &str, at: prop::sample::Index, upper: bool) -> String {
    let i = at.index(name.len());
    let c = name.as_bytes()[i];
    let escape = if upper {
        format!("\\u{c:04X}")
    } else {
        format!("\\u{c:04x}")
    };
    format!("{}{escape}{}", &name[..i], &name[i + 1..])
}

/// Loaded once: loading a key costs more than a case.
fn alipay_signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        Signer::new(
            &common::private_key("alipay_private_pkcs8.pem"),
            SignType::Rsa2,
        )
        .expect("key")
    })
}

fn alipay_verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        Verifier::new(
            &common::public_key("alipay_public_spki.pem"),
            SignType::Rsa2,
        )
        .expect("key")
    })
}

fn rsa_config() -> Config {
    let cases = Config::default().cases;
    Config::with_cases((cases / 16).max(8))
}

proptest! {
    #[test]
    fn fuzz_form_parse_any_bytes(body in form_like_bytes()) {
        check_form(&body);
    }

    #[test]
    fn fuzz_form_encode_then_parse_round_trips(
        pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..6),
        seed in any::<u64>(),
    ) {
        let body = encode_form(&pairs, seed);
        prop_assert_eq!(parse_form_urlencoded(&body), Ok(pairs));
        check_form(&body);
    }

    #[test]
    fn fuzz_response_extract_any_text(body in any::<String>(), method in "[a-z._\"]{0,24}") {
        let _ = extract_response(&body, &method);
        check_agrees_with_json(&body);
    }

    #[test]
    fn fuzz_response_extract_finds_exactly_the_node(
        built in built_response(node_object().boxed()),
    ) {
        check_extracted(&built);
    }

    #[test]
    fn fuzz_response_extract_survives_cut_and_spliced_bodies(
        built in built_response(node_object().boxed()),
        at in any::<prop::sample::Index>(),
        insert in prop_oneof!["[{}\\[\\]\",:\\\\ ]", any::<char>().prop_map(String::from), Just(String::new())],
        cut in any::<bool>(),
    ) {
        let mut body = built.body.clone();
        let mut i = at.index(body.len() + 1);
        while !body.is_char_boundary(i) {
            i -= 1;
        }
        if cut {
            body.truncate(i);
        }
        body.insert_str(i, &insert);
        check_agrees_with_json(&body);
    }

    #[test]
    fn fuzz_response_repeated_node_is_refused(
        built in built_response(node_object().boxed()),
        second in node_object(),
        before in any::<bool>(),
    ) {
        let name = match built.node {
            ResponseNode::Method => NODE,
            ResponseNode::Error => "error_response",
        };
        let trimmed = built.body.trim();
        let body = if before {
            format!("{{\"{name}\":{second},{}", &trimmed[1..])
        } else {
            format!("{},\"{name}\":{second}}}", &trimmed[..trimmed.len() - 1])
        };
        prop_assert!(
            matches!(extract_response(&body, METHOD), Err(ResponseError::RepeatedNode { .. })),
            "{}", body
        );
    }

    #[test]
    fn fuzz_response_keys_spelled_with_escapes_are_the_same_keys(
        built in built_response(node_object().boxed()),
        second in node_object(),
        which in prop::sample::select(vec![NODE, "error_response", "sign"]),
        at in any::<prop::sample::Index>(),
        upper in any::<bool>(),
        before in any::<bool>(),
    ) {
        let value = if which == "sign" { "\"eA==\"".to_owned() } else { second };
        let member = format!("\"{}\":{value}", escaped_key(which, at, upper));
        let trimmed = built.body.trim();
        let body = if before {
            format!("{{{member},{}", &trimmed[1..])
        } else {
            format!("{},{member}}}", &trimmed[..trimmed.len() - 1])
        };
        check_agrees_with_json(&body);
    }

    #[test]
    fn fuzz_notify_verify_any_fields(
        fields in prop::collection::vec(
            (prop_oneof!["sign|sign_type|notify_id|[a-z_]{1,10}", any::<String>()], any::<String>()),
            0..8,
        ),
    ) {
        let check = verify_notify(alipay_verifier(), &fields);
        prop_assert!(!check.is_valid(), "nothing unsigned is valid");
    }
}

proptest! {
    #![proptest_config(rsa_config())]

    #[test]
    fn fuzz_response_signed_by_alipay_verifies_over_exactly_the_node(
        built in built_response(node_object().boxed()),
        escape_slashes in any::<bool>(),
    ) {
        let signature = alipay_signer().sign(built.content.as_bytes()).expect("signs");
        let body = format!(
            "{{\"{NODE}\":{},\"sign\":{}}}",
            built.content,
            sign_literal(&signature, escape_slashes)
        );
        let check = verify_response(alipay_verifier(), &body, METHOD).expect("takes apart");
        prop_assert_eq!(
            check,
            ResponseCheck::Verified { node: ResponseNode::Method, content: &built.content, slashes_unescaped: false }
        );
        // The same signature over any other node text is refused.
        let tampered = body.replacen(&format!(":{}", built.content), &format!(":{}", built.content.replacen('{', "{\"x\":1,", 1)), 1);
        let check = verify_response(alipay_verifier(), &tampered, METHOD).expect("takes apart");
        prop_assert!(!check.is_verified());
    }
}
