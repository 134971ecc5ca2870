//! The committed OpenAPI document is what the server serves; frontends integrate from
//! the committed file, so it must never drift.

#[test]
fn the_committed_spec_matches_the_served_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/payport.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let served = payport_server::api::spec_json();
    assert!(
        committed.trim_end() == served.trim_end(),
        "openapi/payport.json is out of date; regenerate it with:\n\n    cargo run -q -p payport-server -- openapi > openapi/payport.json\n"
    );
}

#[test]
fn every_operation_is_documented() {
    let spec: serde_json::Value = serde_json::from_str(&payport_server::api::spec_json()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 9, "{:?}", paths.keys().collect::<Vec<_>>());
    for (path, operations) in paths {
        for (method, op) in operations.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: no summary"
            );
            assert!(
                !op["tags"].as_array().unwrap().is_empty(),
                "{name}: no tags"
            );
            let responses = op["responses"].as_object().unwrap();
            for status in ["400", "401", "404", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{name}: {status} not documented"
                );
            }
            if method == "post" {
                if let Some(body) = op.get("requestBody") {
                    let content = &body["content"]["application/json; charset=utf-8"];
                    let schema = content["schema"]["$ref"]
                        .as_str()
                        .unwrap_or_default()
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let example = &spec["components"]["schemas"][&schema]["example"];
                    assert!(
                        !example.is_null(),
                        "{name}: request {schema} has no example"
                    );
                }
            }
        }
    }
}
