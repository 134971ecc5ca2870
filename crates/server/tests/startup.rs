//! payport refuses to start in production mode with the DEV keys (in any encoding,
//! from any path), the DEV legacy partner or MD5 key, or without tokens, and says
//! which setting to fix.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use payport_server::config::{AlipayConfig, AlipayMode, Config};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

const MERCHANT_TOKEN: &str = "merchant-0123456789abcdef0123456789abcdef";
const OPERATOR_TOKEN: &str = "operator-0123456789abcdef0123456789abcdef";

fn production(dir: &Path, private_key: &str, public_key: &str) -> Config {
    let defaults = Config::default();
    Config {
        database_url: format!("sqlite://{}", dir.join("p.db").display()),
        public_url: Some("https://payport.example".into()),
        alipay: AlipayConfig {
            mode: AlipayMode::Production,
            app_private_key: Some(repo(private_key)),
            alipay_public_key: Some(repo(public_key)),
            ..defaults.alipay.clone()
        },
        ..defaults
    }
}

/// Production settings that start: the vectors' "forger" keys stand in for real
/// ones, with a real-looking app, seller and long distinct tokens.
fn ready(dir: &Path) -> Config {
    let mut config = production(
        dir,
        "testdata/vectors/keys/forger_private_pkcs8.pem",
        "testdata/vectors/keys/forger_public_spki.pem",
    );
    config.alipay.app_id = "2021004100000042".into();
    config.alipay.seller_id = Some("2088621000000042".into());
    config.auth.merchant_tokens = vec![MERCHANT_TOKEN.into()];
    config.auth.operator_tokens = vec![OPERATOR_TOKEN.into()];
    config
}

async fn refusal(config: &Config) -> String {
    match payport_server::wiring::wire(config, "https://payport.example").await {
        Ok(_) => panic!("production mode started"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn production_settings_that_are_not_dev_start() {
    let dir = tempfile::tempdir().unwrap();
    payport_server::wiring::wire(&ready(dir.path()), "https://payport.example")
        .await
        .unwrap();
}

#[tokio::test]
async fn production_mode_refuses_the_dev_app_key_in_every_encoding() {
    for key in [
        "keys/dev_app_private_pkcs8.pem",
        "testdata/vectors/keys/app_private_pkcs1.pem",
        "testdata/vectors/keys/app_private_pkcs8.b64",
        "testdata/vectors/keys/app_private_pkcs1.b64",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ready(dir.path());
        assert!(repo(key).is_absolute());
        config.alipay.app_private_key = Some(repo(key));
        let err = refusal(&config).await;
        assert!(
            err.contains("alipay.app_private_key") && err.contains("DEV"),
            "{key}: {err}"
        );
        assert!(
            !dir.path().join("p.db").exists(),
            "{key}: refused before the database"
        );
    }
}

#[tokio::test]
async fn production_mode_refuses_the_dev_alipay_public_key_in_every_encoding() {
    for key in [
        "keys/dev_alipay_public_spki.pem",
        "testdata/vectors/keys/alipay_public_spki.b64",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ready(dir.path());
        config.alipay.alipay_public_key = Some(repo(key));
        let err = refusal(&config).await;
        assert!(
            err.contains("alipay.alipay_public_key") && err.contains("DEV"),
            "{key}: {err}"
        );
    }
}

#[tokio::test]
async fn production_mode_refuses_the_dev_legacy_partner_and_md5_key() {
    use payport_alipay_sim::config::{DEV_MD5_KEY, DEV_PARTNER};
    let dir = tempfile::tempdir().unwrap();
    let mut config = ready(dir.path());
    config.mapi.partner = Some("2088621000000042".into());
    config.mapi.md5_key = Some(DEV_MD5_KEY.into());
    let err = refusal(&config).await;
    assert!(err.contains("mapi.md5_key") && err.contains("DEV"), "{err}");
    assert!(
        !err.contains(DEV_MD5_KEY),
        "the key is never printed: {err}"
    );

    config.mapi.partner = Some(DEV_PARTNER.into());
    config.mapi.md5_key = Some("q8w4e7r1t6y5u0i9o3p2a8s4k3v9x0m2".into());
    let err = refusal(&config).await;
    assert!(err.contains("mapi.partner") && err.contains("DEV"), "{err}");
}

#[tokio::test]
async fn production_mode_refuses_to_run_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ready(dir.path());
    config.auth.merchant_tokens.clear();
    config.auth.operator_tokens.clear();
    let err = refusal(&config).await;
    assert!(err.contains("without tokens"), "{err}");
}

#[tokio::test]
async fn production_mode_refuses_the_dev_app_and_seller() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ready(dir.path());
    config.alipay.app_id = payport_alipay_sim::config::DEV_APP_ID.into();
    let err = refusal(&config).await;
    assert!(err.contains("DEV app id"), "{err}");
}

#[tokio::test]
async fn a_missing_key_file_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ready(dir.path());
    config.alipay.app_private_key = Some(repo("keys/nope.pem"));
    let err = refusal(&config).await;
    assert!(err.contains("alipay.app_private_key"), "{err}");
    assert!(
        !dir.path().join("p.db").exists(),
        "a bad key is found before the database is created"
    );
}
