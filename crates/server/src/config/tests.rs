// figment's Jail fixes the closure's error type; its size is not ours to choose.
#![allow(clippy::result_large_err)]

use super::*;

/// Loads in a jail; the error's lines.
pub(super) fn problems() -> Vec<String> {
    match Config::load() {
        Ok(config) => panic!("loaded: {config:?}"),
        Err(e) => e.lines().map(str::to_owned).collect(),
    }
}

pub(super) fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

const LONG_M: &str = "m-0123456789abcdef0123456789abcdef";
const LONG_OP: &str = "o-0123456789abcdef0123456789abcdef";

/// Production settings that load, in the jail's environment.
fn production_env(jail: &mut figment::Jail) {
    production_env_but_alipay_key(jail);
    jail.set_env(
        "PAYPORT_ALIPAY__ALIPAY_PUBLIC_KEY",
        repo("testdata/vectors/keys/forger_public_spki.pem"),
    );
}

/// Production settings but Alipay's key (a public key or certificates), for the
/// caller to choose.
pub(super) fn production_env_but_alipay_key(jail: &mut figment::Jail) {
    jail.set_env("PAYPORT_ALIPAY__MODE", "production");
    jail.set_env("PAYPORT_PUBLIC_URL", "https://pay.example.com");
    jail.set_env("PAYPORT_ALIPAY__APP_ID", "2021004100000042");
    jail.set_env("PAYPORT_ALIPAY__SELLER_ID", "2088621000000042");
    jail.set_env(
        "PAYPORT_ALIPAY__APP_PRIVATE_KEY",
        repo("testdata/vectors/keys/forger_private_pkcs8.pem"),
    );
    jail.set_env("PAYPORT_AUTH__MERCHANT_TOKENS", LONG_M);
    jail.set_env("PAYPORT_AUTH__OPERATOR_TOKENS", LONG_OP);
}

#[test]
fn environment_overrides_the_file_and_nests_with_double_underscores() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "payport.toml",
            "listen = \"0.0.0.0:9000\"\n[alipay]\napp_id = \"2021000000000777\"\n[auth]\noperator_tokens = [\"op1\"]\n",
        )?;
        jail.set_env("PAYPORT_ALIPAY__APP_ID", "2021000000000999");
        jail.set_env("PAYPORT_AUTH__MERCHANT_TOKENS", "m1, m2,");
        jail.set_env("PAYPORT_REFUNDS__APPROVAL", "100.00");
        jail.set_env("PAYPORT_REFUNDS__WINDOW_DAYS", "30");
        jail.set_env("PAYPORT_AUTH__OPERATOR_TOKENS", "007");
        let config = Config::load().map_err(figment::Error::from)?;
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.alipay.app_id, "2021000000000999");
        assert_eq!(config.auth.merchant_tokens, vec!["m1", "m2"]);
        assert_eq!(
            config.auth.operator_tokens,
            vec!["007"],
            "env wins, verbatim"
        );
        assert_eq!(config.refunds.window_days, 30);
        assert_eq!(
            config.refunds.approval,
            ApprovalPolicy::ManualAbove(payport_domain::Amount::parse("100.00").expect("amount"))
        );
        assert_eq!(config.alipay.mode, AlipayMode::Simulator);
        Ok(())
    });
}

#[test]
fn no_config_at_all_means_sqlite_the_simulator_and_no_key_file() {
    figment::Jail::expect_with(|_| {
        let config = Config::load().map_err(figment::Error::from)?;
        assert_eq!(config, Config::default());
        assert!(config.is_simulator());
        assert_eq!(config.database_url, "sqlite://payport.db");
        assert_eq!(config.alipay.app_private_key, None, "the built-in DEV key");
        Ok(())
    });
}

#[test]
fn secrets_are_not_printed() {
    let mut config = Config::default();
    config.auth.merchant_tokens = vec!["very-secret".into()];
    config.mapi.md5_key = Some("md5-secret".into());
    config.database_url = "postgres://payport:db-secret@db/payport".into();
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("very-secret") && !shown.contains("md5-secret"),
        "{shown}"
    );
    assert!(!shown.contains("db-secret"), "{shown}");
}

#[test]
fn a_toml_syntax_error_does_not_quote_the_line_it_is_on() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "payport.toml",
            "[auth]\nmerchant_tokens = \"tok-secret-0123456789abcdef0123456789\n",
        )?;
        let problems = problems();
        let shown = problems.join("\n");
        assert!(shown.contains("payport.toml is not valid TOML"), "{shown}");
        assert!(shown.contains("line 2"), "{shown}");
        assert!(!shown.contains("tok-secret"), "{shown}");
        Ok(())
    });
}

#[test]
fn a_mode_typo_names_the_key_and_the_choices() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("payport.toml", "[alipay]\nmode = \"prodution\"\n")?;
        assert_eq!(
            problems(),
            vec![
                r#"payport.toml: alipay.mode must be one of simulator, sandbox, production, custom; got "prodution""#
            ]
        );
        jail.set_env("PAYPORT_ALIPAY__MODE", "moon");
        let lines = problems();
        assert!(
            lines.contains(&r#"PAYPORT_ALIPAY__MODE must be one of simulator, sandbox, production, custom; got "moon""#.to_owned()),
            "{lines:?}"
        );
        assert!(!lines.concat().contains("alloc::"), "{lines:?}");
        Ok(())
    });
}

#[test]
fn typed_values_load_from_toml_and_environment_and_bad_ones_name_their_key() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "payport.toml",
            "[refunds]\napproval = \"manual\"\ndefault_gateway = \"mapi_pwd\"\n",
        )?;
        jail.set_env("PAYPORT_ALIPAY__SIGN_TYPE", "RSA");
        let config = Config::load().map_err(figment::Error::from)?;
        assert_eq!(config.alipay.sign_type, SignType::Rsa);
        assert_eq!(config.refunds.approval, ApprovalPolicy::Manual);
        assert_eq!(config.refunds.default_gateway, RefundGatewayKind::MapiPwd);
        Ok(())
    });
    for (variable, value) in [
        ("PAYPORT_ALIPAY__SIGN_TYPE", "rsa2"),
        ("PAYPORT_REFUNDS__APPROVAL", "sometimes"),
        ("PAYPORT_REFUNDS__APPROVAL", "1.005"),
        ("PAYPORT_REFUNDS__DEFAULT_GATEWAY", "mapi"),
        ("PAYPORT_REFUNDS__WINDOW_DAYS", "ninety"),
    ] {
        figment::Jail::expect_with(|jail| {
            jail.set_env(variable, value);
            let lines = problems();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].starts_with(variable), "{lines:?}");
            Ok(())
        });
    }
}

#[test]
fn unknown_keys_and_variables_are_refused_by_name() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "payport.toml",
            "listn = \"127.0.0.1:1\"\n[alipay]\napp_idd = \"x\"\n[nope]\na = 1\n",
        )?;
        jail.set_env("PAYPORT_ALIPAY__APPID", "2021000000000777");
        jail.set_env("PAYPORT_DATABASE", "sqlite://x.db");
        jail.set_env("PAYPORT_ALIPAY", "x");
        // Documented variables that are not settings stay allowed.
        jail.set_env(
            "PAYPORT_TEST_PG_URL",
            "postgres://postgres@127.0.0.1/postgres",
        );
        let lines = problems();
        for name in [
            "payport.toml: listn ",
            "payport.toml: alipay.app_idd ",
            "payport.toml: nope ",
            "PAYPORT_ALIPAY__APPID ",
            "PAYPORT_DATABASE ",
            "PAYPORT_ALIPAY ",
        ] {
            assert_eq!(
                lines.iter().filter(|l| l.starts_with(name)).count(),
                1,
                "{name}: {lines:?}"
            );
        }
        assert_eq!(lines.len(), 6, "{lines:?}");
        Ok(())
    });
}

#[test]
fn the_refund_window_must_be_positive() {
    for days in ["0", "-1", "36501"] {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PAYPORT_REFUNDS__WINDOW_DAYS", days);
            let lines = problems();
            assert_eq!(
                lines,
                vec![format!("PAYPORT_REFUNDS__WINDOW_DAYS must be a number of days from 1 to 36500; got {days}")]
            );
            Ok(())
        });
    }
}

#[test]
fn production_settings_that_are_safe_load() {
    figment::Jail::expect_with(|jail| {
        production_env(jail);
        let config = Config::load().map_err(figment::Error::from)?;
        assert_eq!(config.alipay.mode, AlipayMode::Production);
        Ok(())
    });
}

#[test]
fn production_needs_a_public_https_url() {
    for (url, ok) in [
        ("http://pay.example.com", false),
        ("https://127.0.0.1:8443", false),
        ("https://localhost", false),
        ("https://[::1]/", false),
        ("https://0.0.0.0", false),
        ("not a url", false),
        ("https://pay.example.com/payport", true),
    ] {
        figment::Jail::expect_with(|jail| {
            production_env(jail);
            jail.set_env("PAYPORT_PUBLIC_URL", url);
            match Config::load() {
                Ok(_) => assert!(ok, "{url} loaded"),
                Err(e) => {
                    assert!(!ok, "{url}: {e}");
                    assert!(e.starts_with("PAYPORT_PUBLIC_URL must be"), "{e}");
                }
            }
            Ok(())
        });
    }
    figment::Jail::expect_with(|jail| {
        production_env(jail);
        std::env::remove_var("PAYPORT_PUBLIC_URL");
        let lines = problems();
        assert!(lines[0].starts_with("public_url must be"), "{lines:?}");
        Ok(())
    });
}

#[test]
fn production_needs_long_distinct_tokens_and_never_prints_them() {
    figment::Jail::expect_with(|jail| {
        production_env(jail);
        jail.set_env(
            "PAYPORT_AUTH__MERCHANT_TOKENS",
            format!("short-secret,{LONG_M}"),
        );
        let lines = problems();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("PAYPORT_AUTH__MERCHANT_TOKENS has 1 token(s) shorter than 32"),
            "{lines:?}"
        );
        assert!(!lines[0].contains("short-secret"), "{lines:?}");

        jail.set_env("PAYPORT_AUTH__MERCHANT_TOKENS", LONG_OP);
        let lines = problems();
        assert_eq!(
            lines,
            vec!["PAYPORT_AUTH__MERCHANT_TOKENS and PAYPORT_AUTH__OPERATOR_TOKENS share a token; each role needs its own"]
        );
        Ok(())
    });
}

#[test]
fn production_refuses_the_dev_keys_from_the_file_too() {
    figment::Jail::expect_with(|jail| {
        production_env(jail);
        std::env::remove_var("PAYPORT_ALIPAY__ALIPAY_PUBLIC_KEY");
        jail.create_file(
            "payport.toml",
            &format!(
                "[alipay]\nalipay_public_key = \"{}\"\n",
                repo("testdata/vectors/keys/alipay_public_spki.b64")
            ),
        )?;
        let lines = problems();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("payport.toml: alipay.alipay_public_key is a DEV key"),
            "{lines:?}"
        );
        Ok(())
    });
}

#[test]
fn every_problem_is_listed_at_once() {
    figment::Jail::expect_with(|jail| {
        production_env(jail);
        jail.set_env("PAYPORT_PUBLIC_URL", "http://127.0.0.1:8080");
        jail.set_env("PAYPORT_REFUNDS__WINDOW_DAYS", "0");
        jail.set_env("PAYPORT_AUTH__OPERATOR_TOKENS", "op");
        jail.set_env(
            "PAYPORT_ALIPAY__APP_PRIVATE_KEY",
            repo("testdata/vectors/keys/app_private_pkcs1.pem"),
        );
        let lines = problems();
        for start in [
            "PAYPORT_PUBLIC_URL must be",
            "PAYPORT_REFUNDS__WINDOW_DAYS must be",
            "PAYPORT_AUTH__OPERATOR_TOKENS has 1 token(s)",
            "PAYPORT_ALIPAY__APP_PRIVATE_KEY is a DEV key",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(start)),
                "{start}: {lines:?}"
            );
        }
        assert_eq!(lines.len(), 4, "{lines:?}");
        Ok(())
    });
}

#[test]
fn keys_are_required_outside_the_simulator_and_bad_ones_are_named() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PAYPORT_ALIPAY__MODE", "sandbox");
        let lines = problems();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("alipay.app_private_key must be set in sandbox mode"));
        jail.set_env("PAYPORT_ALIPAY__APP_PRIVATE_KEY", "nope.pem");
        jail.set_env(
            "PAYPORT_ALIPAY__ALIPAY_PUBLIC_KEY",
            repo("testdata/vectors/keys/app_private_pkcs8.pem"),
        );
        let lines = problems();
        assert!(
            lines[0].starts_with("PAYPORT_ALIPAY__APP_PRIVATE_KEY cannot be read from nope.pem"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with(
                "PAYPORT_ALIPAY__ALIPAY_PUBLIC_KEY is not usable: this is a private key"
            ),
            "{lines:?}"
        );
        Ok(())
    });
}

#[test]
fn reconciliation_settings_load_and_bad_ones_name_their_key() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "payport.toml",
            "[reconciliation]\ndaily_at = \"10:30\"\nstranded_after_days = 0\n",
        )?;
        jail.set_env("PAYPORT_RECONCILIATION__ENABLED", "false");
        let config = Config::load().map_err(figment::Error::from)?;
        let r = &config.reconciliation;
        assert!(!r.enabled);
        assert_eq!(
            r.daily_at,
            chrono::NaiveTime::from_hms_opt(10, 30, 0).unwrap()
        );
        assert_eq!(r.stranded_after_days, 0);
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.set_env("PAYPORT_RECONCILIATION__DAILY_AT", "9am");
        jail.set_env("PAYPORT_RECONCILIATION__STRANDED_AFTER_DAYS", "40000");
        let problems = problems();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("PAYPORT_RECONCILIATION__DAILY_AT") && p.contains("HH:MM")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("PAYPORT_RECONCILIATION__STRANDED_AFTER_DAYS")),
            "{problems:?}"
        );
        Ok(())
    });
}
