//! The README's verification snippets, run on the committed signed example
//! (`testdata/webhook-signature.json`), which is checked against [`signature::sign`]:
//! what the README tells receivers to run accepts what payport sends, and refuses a
//! changed body, a wrong secret and an old time. (The Node snippet is checked in CI
//! by `scripts/webhook-snippets/check.mjs`.)

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use payport_webhooks::signature;
use serde_json::Value;

#[path = "snippets/verify_payport.rs"]
mod readme_rust;

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

struct Example {
    secret: String,
    body: String,
    t: i64,
    header: String,
}

fn example() -> Example {
    let text = std::fs::read_to_string(repo("testdata/webhook-signature.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let field = |name: &str| v[name].as_str().unwrap().to_owned();
    Example {
        secret: field("secret"),
        body: field("body"),
        t: v["t"].as_i64().unwrap(),
        header: field("header"),
    }
}

/// The first fenced block of `language` in the README that contains `marker`.
fn readme_block(language: &str, marker: &str) -> String {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let fence = format!("```{language}\n");
    readme
        .split(&fence)
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block.to_owned()))
        .find(|block| block.contains(marker))
        .unwrap_or_else(|| panic!("no {language} block with {marker} in the README"))
}

#[test]
fn the_example_is_what_payport_signs() {
    let e = example();
    assert_eq!(signature::sign(&e.secret, e.t, e.body.as_bytes()), e.header);
    signature::verify(&e.secret, &e.header, e.body.as_bytes(), e.t, Some(300)).unwrap();
}

#[test]
fn the_readme_rust_snippet_is_the_one_tested_here_and_checks_the_example() {
    let tested = include_str!("snippets/verify_payport.rs");
    let code = tested.split_once('\n').unwrap().1;
    assert_eq!(readme_block("rust", "fn verify_payport"), code);
    let e = example();
    let check = |secret: &str, body: &str, now: i64| {
        readme_rust::verify_payport(secret, &e.header, body.as_bytes(), now, 300)
    };
    assert!(check(&e.secret, &e.body, e.t + 10));
    assert!(!check(&e.secret, &e.body.replace("88.88", "8.88"), e.t));
    assert!(!check("whsec_not_the_secret", &e.body, e.t));
    assert!(!check(&e.secret, &e.body, e.t + 301));
}

#[test]
fn the_readme_python_snippet_checks_the_example() {
    let snippet = readme_block("python", "def verify_payport");
    let script = format!(
        r#"{snippet}
import json, sys
v = json.load(open(sys.argv[1]))
secret, header, body, t = v["secret"], v["header"], v["body"].encode(), v["t"]
results = [
    verify_payport(secret, header, body, now=t + 10),
    not verify_payport(secret, header, body.replace(b"88.88", b"8.88"), now=t),
    not verify_payport("whsec_not_the_secret", header, body, now=t),
    not verify_payport(secret, header, body, now=t + 301),
    not verify_payport(secret, "v1=" + header.split("v1=")[1], body, now=t),
]
print(results)
sys.exit(0 if all(results) else 1)
"#
    );
    let dir = std::env::temp_dir().join(format!("payport-snippet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("verify_payport.py");
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new("python3")
        .arg(&path)
        .arg(repo("testdata/webhook-signature.json"))
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
