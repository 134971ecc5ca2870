//! `payport mapi sign | verify-notify` against every case of `mapi_md5.json`, calling
//! the tool functions directly, and their one-sentence refusals of unusable input.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;

use payport_server::cli::mapi;
use payport_server::cli::ToolOutcome;
use serde_json::Value;

fn vectors() -> Value {
    let path = format!(
        "{}/../../testdata/vectors/mapi_md5.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cases(kind: &str) -> Vec<Value> {
    let all = vectors()["cases"].as_array().unwrap().clone();
    all.into_iter().filter(|c| c["kind"] == kind).collect()
}

/// A key file as an operator would save it: the key and a line ending.
fn key_file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

fn vector_key() -> String {
    vectors()["keys"]["md5_key"].as_str().unwrap().to_owned()
}

/// (exit code, stdout JSON or Null, stderr sentence) as `ToolOutcome::finish` prints.
fn run(outcome: ToolOutcome) -> (i32, Value, String) {
    match outcome {
        ToolOutcome::Done(json) => (0, json, String::new()),
        ToolOutcome::Invalid(json) => (1, json, String::new()),
        ToolOutcome::Unusable(why) => (2, Value::Null, why),
    }
}

fn form_body(params: &Value) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.as_object().unwrap() {
        body.append_pair(k, v.as_str().unwrap());
    }
    body.finish()
}

#[test]
fn sign_reproduces_every_request_vector() {
    for ending in ["\n", "\r\n", ""] {
        let key = key_file(&format!("{}{ending}", vector_key()));
        let requests = cases("request");
        assert_eq!(requests.len(), 5);
        for case in requests {
            let params = serde_json::to_vec(&case["params"]).unwrap();
            let (code, out, err) = run(mapi::sign(key.path(), &params));
            assert_eq!(code, 0, "{}: {err}", case["id"]);
            assert_eq!(
                out["string_to_sign"], case["string_to_sign"],
                "{}",
                case["id"]
            );
            assert_eq!(out["sign"], case["sign"], "{}", case["id"]);
        }
    }
}

#[test]
fn verify_notify_gives_every_notify_vector_its_verdict() {
    let key = key_file(&format!("{}\n", vector_key()));
    let notifies = cases("notify_verify");
    assert_eq!(notifies.len(), 3);
    for case in notifies {
        // As piped from a saved body: with a trailing newline.
        let body = format!("{}\n", form_body(&case["params"]));
        let (code, out, err) = run(mapi::verify_notify(key.path(), body.as_bytes()));
        let expected = case["expected"].as_bool().unwrap();
        assert_eq!(out["valid"], expected, "{}: {err}", case["id"]);
        assert_eq!(code, if expected { 0 } else { 1 }, "{}", case["id"]);
        assert_eq!(
            out["string_to_verify"], case["verify_string"],
            "{}",
            case["id"]
        );
        let verdict = if expected { "valid" } else { "bad_sign" };
        assert_eq!(out["verdict"], verdict, "{}", case["id"]);
    }
}

#[test]
fn verify_notify_with_another_key_is_invalid() {
    let key = key_file("00000000000000000000000000000000\n");
    let case = &cases("notify_verify")[0];
    let (code, out, _) = run(mapi::verify_notify(
        key.path(),
        form_body(&case["params"]).as_bytes(),
    ));
    assert_eq!((code, &out["valid"]), (1, &Value::Bool(false)));
}

#[test]
fn unusable_input_exits_2_with_one_sentence() {
    let good_key = key_file(&format!("{}\n", vector_key()));
    let empty_key = key_file("\n");
    let spaced_key = key_file("k3v9 x0m2\n");
    let missing = Path::new("/nonexistent/md5.key");
    let params = br#"{"service":"refund_fastpay_by_platform_pwd","partner":"2088101568338364"}"#;
    let cases: Vec<(ToolOutcome, &str)> = vec![
        (
            mapi::sign(missing, params),
            "cannot read /nonexistent/md5.key",
        ),
        (mapi::sign(empty_key.path(), params), "the MD5 key is empty"),
        (mapi::sign(spaced_key.path(), params), "whitespace"),
        (
            mapi::sign(good_key.path(), b"not json"),
            "not a JSON object",
        ),
        (mapi::sign(good_key.path(), b"[1,2]"), "not a JSON object"),
        (
            mapi::sign(good_key.path(), br#"{"batch_num": 1}"#),
            "is not a string",
        ),
        (
            mapi::verify_notify(missing, b"a=1"),
            "cannot read /nonexistent/md5.key",
        ),
        (
            mapi::verify_notify(good_key.path(), b"a=%zz"),
            "not a form body",
        ),
        (
            mapi::verify_notify(good_key.path(), b"subject=%B2%E2"),
            "not a form body",
        ),
        (
            mapi::verify_notify(good_key.path(), b"\n"),
            "no form fields",
        ),
    ];
    for (outcome, message) in cases {
        let (code, out, err) = run(outcome);
        assert_eq!(code, 2, "{message}: {out}");
        assert_eq!(out, Value::Null, "nothing on stdout");
        assert!(err.contains(message), "{message}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
    }
}
