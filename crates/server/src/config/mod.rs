//! Configuration: defaults, then an optional `payport.toml`, then `PAYPORT_*`
//! environment variables with `__` for nesting (`PAYPORT_ALIPAY__APP_ID`).
//!
//! With nothing set at all, payport runs on SQLite `payport.db` against the in-process
//! simulator under `/sim` with the DEV keys from `keys/`.

pub mod auth;
pub mod values;

use std::fmt;
use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
pub use payport_alipay_openapi::SignType;
pub use payport_domain::policy::ApprovalPolicy;
pub use payport_domain::refund::RefundGatewayKind;
use serde::{Deserialize, Serialize};

pub use self::auth::{AuthConfig, Role, Tokens};

/// Which Alipay payport talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlipayMode {
    /// The in-process simulator under `/sim` (the default).
    Simulator,
    Sandbox,
    Production,
    /// Any gateway URL (`gateway_url`), e.g. a standalone `payport sim`.
    Custom,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlipayConfig {
    pub mode: AlipayMode,
    pub gateway_url: Option<String>,
    pub app_id: String,
    /// A file path: PEM or Alipay's one-line base64, PKCS#1 or PKCS#8.
    pub app_private_key: PathBuf,
    /// A file path.
    pub alipay_public_key: PathBuf,
    pub seller_id: Option<String>,
    #[serde(with = "values::sign_type")]
    pub sign_type: SignType,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
}

impl Default for AlipayConfig {
    fn default() -> Self {
        AlipayConfig {
            mode: AlipayMode::Simulator,
            gateway_url: None,
            app_id: payport_alipay_sim::config::DEV_APP_ID.to_owned(),
            app_private_key: PathBuf::from("keys/dev_app_private_pkcs8.pem"),
            alipay_public_key: PathBuf::from("keys/dev_alipay_public_spki.pem"),
            seller_id: Some(payport_alipay_sim::config::DEV_SELLER_ID.to_owned()),
            sign_type: SignType::Rsa2,
            connect_timeout_ms: 3_000,
            timeout_ms: 15_000,
        }
    }
}

impl fmt::Debug for AlipayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlipayConfig")
            .field("mode", &self.mode)
            .field("gateway_url", &self.gateway_url)
            .field("app_id", &self.app_id)
            .field("app_private_key", &self.app_private_key)
            .field("alipay_public_key", &self.alipay_public_key)
            .field("seller_id", &self.seller_id)
            .field("sign_type", &self.sign_type)
            .finish_non_exhaustive()
    }
}

/// The legacy mapi gateway; configured when `partner` and `md5_key` are set.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MapiConfig {
    pub partner: Option<String>,
    pub md5_key: Option<String>,
    pub seller_email: Option<String>,
    pub gateway_url: Option<String>,
}

impl fmt::Debug for MapiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapiConfig")
            .field("partner", &self.partner)
            .field("md5_key", &self.md5_key.as_ref().map(|_| "<redacted>"))
            .field("seller_email", &self.seller_email)
            .field("gateway_url", &self.gateway_url)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundsConfig {
    /// `auto`, `manual`, or an amount above which an operator must approve.
    #[serde(with = "values::approval")]
    pub approval: ApprovalPolicy,
    pub window_days: i64,
    /// `openapi`, `mapi_nopwd` or `mapi_pwd`.
    #[serde(with = "values::gateway_kind")]
    pub default_gateway: RefundGatewayKind,
}

impl Default for RefundsConfig {
    fn default() -> Self {
        RefundsConfig {
            approval: ApprovalPolicy::Auto,
            window_days: payport_domain::policy::RefundPolicy::DEFAULT_WINDOW_DAYS,
            default_gateway: RefundGatewayKind::OpenApi,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: String,
    /// The base of the notify/return URLs Alipay calls back (default: `http://{listen}`).
    pub public_url: Option<String>,
    pub database_url: String,
    /// Where the DEV keys live (the simulator's own key pair, and the default app key).
    pub keys_dir: PathBuf,
    pub alipay: AlipayConfig,
    pub mapi: MapiConfig,
    pub refunds: RefundsConfig,
    pub auth: AuthConfig,
    /// Seconds between background passes (refund syncs, order expiry).
    pub worker_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: None,
            database_url: "sqlite://payport.db".to_owned(),
            keys_dir: PathBuf::from("keys"),
            alipay: AlipayConfig::default(),
            mapi: MapiConfig::default(),
            refunds: RefundsConfig::default(),
            auth: AuthConfig::default(),
            worker_interval_secs: 5,
        }
    }
}

impl Config {
    /// Defaults, `payport.toml` in the working directory if present, then `PAYPORT_*`.
    ///
    /// # Errors
    /// A value of the wrong type, with the key that holds it.
    pub fn load() -> Result<Config, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file("payport.toml"));
        // Values go in as raw strings: figment's own Env provider guesses types, which
        // turns an all-digit app id into a number and could strip a token's leading
        // zeros. Numeric settings still parse from strings.
        for (key, value) in Env::prefixed("PAYPORT_").split("__").iter() {
            figment = figment.merge((key.as_str().to_ascii_lowercase(), value));
        }
        Self::from_figment(figment)
    }

    /// # Errors
    /// As [`Config::load`].
    pub fn from_figment(figment: Figment) -> Result<Config, String> {
        figment
            .extract_lossy()
            .map_err(|e| format!("configuration: {e}"))
    }

    pub fn is_simulator(&self) -> bool {
        self.alipay.mode == AlipayMode::Simulator
    }
}

#[cfg(test)]
// figment's Jail fixes the closure's error type; its size is not ours to choose.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

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
                ApprovalPolicy::ManualAbove(
                    payport_domain::Amount::parse("100.00").expect("amount")
                )
            );
            assert_eq!(config.alipay.mode, AlipayMode::Simulator);
            Ok(())
        });
    }

    #[test]
    fn no_config_at_all_means_sqlite_and_the_simulator() {
        figment::Jail::expect_with(|_| {
            let config = Config::load().map_err(figment::Error::from)?;
            assert_eq!(config, Config::default());
            assert!(config.is_simulator());
            assert_eq!(config.database_url, "sqlite://payport.db");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key_and_secrets_are_not_printed() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PAYPORT_ALIPAY__MODE", "moon");
            let err = Config::load().unwrap_err();
            assert!(err.to_lowercase().contains("alipay.mode"), "{err}");
            Ok(())
        });
        let mut config = Config::default();
        config.auth.merchant_tokens = vec!["very-secret".into()];
        config.mapi.md5_key = Some("md5-secret".into());
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("md5-secret"),
            "{shown}"
        );
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
        for (variable, value, key) in [
            ("PAYPORT_ALIPAY__SIGN_TYPE", "rsa2", "alipay.sign_type"),
            ("PAYPORT_REFUNDS__APPROVAL", "sometimes", "refunds.approval"),
            ("PAYPORT_REFUNDS__APPROVAL", "1.005", "refunds.approval"),
            (
                "PAYPORT_REFUNDS__DEFAULT_GATEWAY",
                "mapi",
                "refunds.default_gateway",
            ),
        ] {
            figment::Jail::expect_with(|jail| {
                jail.set_env(variable, value);
                let err = Config::load().unwrap_err();
                assert!(err.to_lowercase().contains(key), "{err}");
                Ok(())
            });
        }
    }
}
