//! Fuzzing configuration loading (`payport.toml` and `PAYPORT_*`), on stable Rust with
//! proptest.
//!
//! `Config::load` must answer every file and every environment with a configuration or
//! an error, never a panic: random text, TOML with known keys holding values of every
//! type, random variables. A valid setting reads back as written, the same from the
//! file as from the environment, and an environment value reaches a string setting
//! verbatim.
//!
//! Each case runs in a `figment::Jail` (its own directory and environment).
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset).

// figment's Jail fixes the closure's error type; its size is not ours to choose.
#![allow(clippy::result_large_err)]

use figment::Jail;
use payport_server::config::{ApprovalPolicy, Config};
use proptest::prelude::*;

/// Every setting, as `(section, key)`; `""` is the top level.
const KEYS: [(&str, &str); 24] = [
    ("", "listen"),
    ("", "public_url"),
    ("", "database_url"),
    ("", "keys_dir"),
    ("", "worker_interval_secs"),
    ("", "heartbeat_secs"),
    ("", "shutdown_timeout_secs"),
    ("alipay", "mode"),
    ("alipay", "gateway_url"),
    ("alipay", "app_id"),
    ("alipay", "app_private_key"),
    ("alipay", "alipay_public_key"),
    ("alipay", "seller_id"),
    ("alipay", "sign_type"),
    ("alipay", "connect_timeout_ms"),
    ("alipay", "timeout_ms"),
    ("mapi", "partner"),
    ("mapi", "md5_key"),
    ("mapi", "seller_email"),
    ("mapi", "gateway_url"),
    ("refunds", "approval"),
    ("refunds", "window_days"),
    ("refunds", "default_gateway"),
    ("auth", "merchant_tokens"),
];

/// Settings whose value is any text, as `(section, key)`.
const STRING_KEYS: [(&str, &str); 4] = [
    ("", "listen"),
    ("", "database_url"),
    ("alipay", "app_id"),
    ("mapi", "seller_email"),
];

/// Text without NUL, which no environment variable can hold.
fn env_text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.replace('\0', ""))
}

/// A TOML basic string: JSON's escapes are TOML's, once DEL (which TOML wants
/// escaped and JSON does not) is left out.
fn toml_string(text: &str) -> String {
    serde_json::to_string(&text.replace('\u{7f}', "")).expect("a string")
}

fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<String>().prop_map(|s| toml_string(&s)),
        "\"(simulator|sandbox|production|custom|Simulator|moon|RSA2|RSA|rsa2|auto|manual|openapi|mapi_pwd|mapi_nopwd|[0-9]{1,10}(\\.[0-9]{1,3})?|-1|)\"",
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1.5".to_owned()),
        Just("-0.0".to_owned()),
        Just("nan".to_owned()),
        Just("true".to_owned()),
        Just("1979-05-27T07:32:00Z".to_owned()),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3).prop_map(|v| {
                let members: Vec<String> = v.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", members.join(", "))
            }),
        ]
    })
}

/// A `payport.toml` of known sections and keys (plus a few unknown ones) with values of
/// every TOML type.
fn toml_file() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        9 => prop::sample::select(KEYS.to_vec()).prop_map(|(s, k)| (s.to_owned(), k.to_owned())),
        1 => ("[a-z]{0,6}", "[a-z_]{1,10}"),
    ];
    prop::collection::vec((entry, toml_value()), 0..8).prop_map(|entries| {
        // Top-level keys first: after a [section] header they would belong to it.
        let mut text = String::new();
        for ((_, key), value) in entries.iter().filter(|((s, _), _)| s.is_empty()) {
            text += &format!("{key} = {value}\n");
        }
        let mut sections: Vec<&String> = entries
            .iter()
            .map(|((s, _), _)| s)
            .filter(|s| !s.is_empty())
            .collect();
        sections.sort();
        sections.dedup();
        for section in sections {
            text += &format!("[{section}]\n");
            for ((_, key), value) in entries.iter().filter(|((s, _), _)| s == section) {
                text += &format!("{key} = {value}\n");
            }
        }
        text
    })
}

fn env_name(section: &str, key: &str) -> String {
    if section.is_empty() {
        format!("PAYPORT_{}", key.to_ascii_uppercase())
    } else {
        format!(
            "PAYPORT_{}__{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        )
    }
}

/// Loads in a fresh jail with this file (if any) and these variables.
fn load(file: Option<&str>, env: &[(String, String)]) -> Result<Config, String> {
    let mut out = None;
    Jail::expect_with(|jail| {
        jail.clear_env();
        if let Some(file) = file {
            jail.create_file("payport.toml", file)?;
        }
        for (name, value) in env {
            jail.set_env(name, value);
        }
        out = Some(Config::load());
        Ok(())
    });
    out.expect("the jail ran")
}

/// Valid settings, written once as TOML and once as environment variables.
#[derive(Debug, Clone)]
struct Valid {
    app_id: String,
    window_days: i64,
    approval: String,
    merchant_tokens: Vec<String>,
    worker_interval_secs: u64,
}

fn valid() -> impl Strategy<Value = Valid> {
    (
        "[0-9]{16}",
        1i64..=3650,
        "auto|manual|[1-9][0-9]{0,6}\\.[0-9]{2}",
        prop::collection::vec("[A-Za-z0-9_-]{32,40}", 1..3),
        1u64..3600,
    )
        .prop_map(
            |(app_id, window_days, approval, merchant_tokens, worker_interval_secs)| Valid {
                app_id,
                window_days,
                approval,
                merchant_tokens,
                worker_interval_secs,
            },
        )
}

fn check_valid(config: &Config, valid: &Valid) {
    assert_eq!(config.alipay.app_id, valid.app_id);
    assert_eq!(config.refunds.window_days, valid.window_days);
    let approval = match valid.approval.as_str() {
        "auto" => ApprovalPolicy::Auto,
        "manual" => ApprovalPolicy::Manual,
        amount => ApprovalPolicy::ManualAbove(amount.parse().expect("an amount")),
    };
    assert_eq!(config.refunds.approval, approval);
    assert_eq!(config.auth.merchant_tokens, valid.merchant_tokens);
    assert_eq!(config.worker_interval_secs, valid.worker_interval_secs);
}

/// proptest's configuration, read inside a jail: the jails of other tests clear the
/// environment, and `PROPTEST_CASES` must not be read while one of them holds it.
fn proptest_config() -> ProptestConfig {
    let mut cases = 0;
    Jail::expect_with(|_| {
        cases = ProptestConfig::default().cases;
        Ok(())
    });
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn fuzz_config_any_file_text(text in prop_oneof![any::<String>(), "[\\[\\]a-z_=\"' .0-9\n{},#]{0,80}"]) {
        let _ = load(Some(&text), &[]);
    }

    #[test]
    fn fuzz_config_toml_of_known_keys(text in toml_file()) {
        let _ = load(Some(&text), &[]);
    }

    #[test]
    fn fuzz_config_any_environment(
        vars in prop::collection::vec(
            (prop_oneof![
                prop::sample::select(KEYS.to_vec()).prop_map(|(s, k)| env_name(s, k)),
                "PAYPORT_[A-Z_]{0,16}",
            ], env_text()),
            0..6,
        ),
    ) {
        let _ = load(None, &vars);
    }

    #[test]
    fn fuzz_config_environment_strings_are_verbatim(
        key in prop::sample::select(STRING_KEYS.to_vec()),
        value in env_text(),
    ) {
        let (section, name) = key;
        if let Ok(config) = load(None, &[(env_name(section, name), value.clone())]) {
            let got = match key {
                ("", "listen") => config.listen,
                ("", "database_url") => config.database_url,
                ("alipay", "app_id") => config.alipay.app_id,
                _ => config.mapi.seller_email.unwrap_or_default(),
            };
            prop_assert_eq!(got, value);
        }
    }

    #[test]
    fn fuzz_config_valid_settings_read_back_from_file_and_environment(v in valid()) {
        let tokens: Vec<String> = v.merchant_tokens.iter().map(|t| toml_string(t)).collect();
        let file = format!(
            "worker_interval_secs = {}\n[alipay]\napp_id = \"{}\"\n[refunds]\nwindow_days = {}\napproval = \"{}\"\n[auth]\nmerchant_tokens = [{}]\n",
            v.worker_interval_secs, v.app_id, v.window_days, v.approval, tokens.join(", ")
        );
        let from_file = load(Some(&file), &[]).map_err(TestCaseError::fail)?;
        check_valid(&from_file, &v);
        let env = vec![
            ("PAYPORT_WORKER_INTERVAL_SECS".to_owned(), v.worker_interval_secs.to_string()),
            ("PAYPORT_ALIPAY__APP_ID".to_owned(), v.app_id.clone()),
            ("PAYPORT_REFUNDS__WINDOW_DAYS".to_owned(), v.window_days.to_string()),
            ("PAYPORT_REFUNDS__APPROVAL".to_owned(), v.approval.clone()),
            ("PAYPORT_AUTH__MERCHANT_TOKENS".to_owned(), v.merchant_tokens.join(",")),
        ];
        let from_env = load(None, &env).map_err(TestCaseError::fail)?;
        prop_assert_eq!(from_env, from_file);
    }
}
