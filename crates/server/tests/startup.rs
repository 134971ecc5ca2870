//! payport refuses to start in production mode with the DEV keys or without tokens,

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]
//! and says which setting to fix.

use std::path::{Path, PathBuf};

use payport_server::config::{AlipayConfig, AlipayMode, Config};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn production(dir: &Path, private_key: &str, public_key: &str) -> Config {
    let defaults = Config::default();
    Config {
        database_url: format!("sqlite://{}", dir.join("p.db").display()),
        keys_dir: repo("keys"),
        alipay: AlipayConfig {
            mode: AlipayMode::Production,
            app_private_key: repo(private_key),
            alipay_public_key: repo(public_key),
            ..defaults.alipay.clone()
        },
        ..defaults
    }
}

async fn refusal(config: &Config) -> String {
    match payport_server::wiring::wire(config, "https://payport.example").await {
        Ok(_) => panic!("production mode started"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn production_mode_refuses_the_dev_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = production(
        dir.path(),
        "keys/dev_app_private_pkcs8.pem",
        "keys/dev_alipay_public_spki.pem",
    );
    config.auth.merchant_tokens = vec!["m".into()];
    let err = refusal(&config).await;
    assert!(err.contains("DEV keys"), "{err}");
}

#[tokio::test]
async fn production_mode_refuses_to_run_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    // Not the DEV pair: keys of the vectors' "forger", standing in for real ones.
    let config = production(
        dir.path(),
        "testdata/vectors/keys/forger_private_pkcs8.pem",
        "testdata/vectors/keys/forger_public_spki.pem",
    );
    let err = refusal(&config).await;
    assert!(err.contains("without tokens"), "{err}");
}

#[tokio::test]
async fn production_mode_refuses_the_dev_app_and_seller() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = production(
        dir.path(),
        "testdata/vectors/keys/forger_private_pkcs8.pem",
        "testdata/vectors/keys/forger_public_spki.pem",
    );
    config.auth.merchant_tokens = vec!["m".into()];
    let err = refusal(&config).await;
    assert!(err.contains("DEV app id"), "{err}");
}

#[tokio::test]
async fn a_missing_key_file_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = production(
        dir.path(),
        "keys/nope.pem",
        "keys/dev_alipay_public_spki.pem",
    );
    config.auth.merchant_tokens = vec!["m".into()];
    let err = refusal(&config).await;
    assert!(err.contains("alipay.app_private_key"), "{err}");
}
