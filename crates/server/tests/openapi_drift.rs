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
            for status in ["401", "413", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{name}: {status} not documented"
                );
            }
            let params = op["parameters"].as_array().map_or(&[][..], Vec::as_slice);
            if !params.is_empty() || op.get("requestBody").is_some() {
                assert!(responses.contains_key("400"), "{name}: 400 not documented");
            }
            if params.iter().any(|p| p["in"] == "path") {
                assert!(responses.contains_key("404"), "{name}: 404 not documented");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("415"), "{name}: 415 not documented");
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

#[test]
fn every_operation_has_a_unique_verb_first_id_and_says_who_may_call_it() {
    let spec: serde_json::Value = serde_json::from_str(&payport_server::api::spec_json()).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, op) in operations.as_object().unwrap() {
            let name = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{name}: operationId {id:?}"
            );
            assert!(ids.insert(id.to_owned()), "{name}: {id} is used twice");
            let roles = op["x-payport-roles"].as_array().unwrap();
            let operator_only = roles == &[serde_json::json!("operator")];
            assert!(
                operator_only
                    || roles == &[serde_json::json!("merchant"), serde_json::json!("operator")],
                "{name}: {roles:?}"
            );
            let says_so = op["description"]
                .as_str()
                .is_some_and(|d| d.contains("Operators only"));
            assert_eq!(
                operator_only, says_so,
                "{name}: its description and its roles"
            );
            // Only operator operations, and the one that refuses merchants a gateway,
            // can answer 403.
            let forbids = op["responses"].get("403").is_some();
            assert_eq!(
                forbids,
                operator_only || id == "createRefund",
                "{name}: 403"
            );
            // Only POSTs are told of a clash (a key in use, a changed record).
            let clashes = op["responses"].get("409").is_some();
            assert_eq!(clashes, method == "post", "{name}: 409");
        }
    }
    for id in payport_server::api::spec::OPERATOR_ONLY {
        assert!(ids.contains(*id), "{id} is not an operation");
    }
    assert_eq!(ids.len(), 22, "{ids:?}");
    assert_eq!(spec["servers"][0]["url"], "http://127.0.0.1:8080");
}

#[test]
fn the_spec_lists_every_error_code_and_the_readme_explains_each() {
    let spec: serde_json::Value = serde_json::from_str(&payport_server::api::spec_json()).unwrap();
    let listed: Vec<&str> = spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(listed, payport_server::api::error::ERROR_CODES);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for code in listed {
        assert!(
            readme.contains(&format!("| `{code}` |")),
            "README.md's error table does not explain {code}"
        );
    }
    let required = spec["components"]["schemas"]["ErrorBody"]["required"]
        .as_array()
        .unwrap();
    assert!(
        required.contains(&serde_json::json!("request_id")),
        "{required:?}"
    );
    assert!(
        !required.contains(&serde_json::json!("param")),
        "{required:?}"
    );
}
