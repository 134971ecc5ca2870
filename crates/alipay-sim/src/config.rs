//! What the simulator needs to know: whom it serves (the merchant's app id and public
//! key, the mapi partner and MD5 key) and its own Alipay key pair.

use std::path::{Path, PathBuf};
use std::time::Duration;

use payport_alipay_crypto::{PrivateKey, PublicKey};

#[derive(Clone)]
pub struct MapiConfig {
    pub partner: String,
    /// The shared MD5 secret. Never printed.
    pub md5_key: String,
    pub seller_email: String,
}

impl std::fmt::Debug for MapiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapiConfig")
            .field("partner", &self.partner)
            .field("md5_key", &"<redacted>")
            .field("seller_email", &self.seller_email)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The merchant's app, whose requests are accepted.
    pub app_id: String,
    /// Verifies the merchant's requests.
    pub merchant_public_key: PublicKey,
    /// Signs the simulator's answers, notifications and returns.
    pub alipay_private_key: PrivateKey,
    /// The seller's Alipay user id (`2088…`).
    pub seller_id: String,
    pub seller_email: String,
    pub mapi: MapiConfig,
    /// How long after payment refunds are accepted before TRADE_FINISHED.
    pub refund_window: chrono::Duration,
    /// What one minute of Alipay's notification retry schedule lasts here
    /// (60 s for realism, milliseconds in tests).
    pub notify_minute: Duration,
    /// Seeds every generated id. Fresh at every start by default, so ids never repeat
    /// across restarts; set it to replay a run exactly (tests), knowing that a
    /// restart with the same seed and no state file repeats its ids.
    pub seed: u64,
    /// When set, the books are loaded from and saved to this JSON file.
    pub state_file: Option<PathBuf>,
    /// Faults in force from the start (the control API changes them later).
    pub faults: crate::faults::Faults,
}

/// The dev app id the simulator and payport's defaults share.
pub const DEV_APP_ID: &str = "2021000000000001";
pub const DEV_SELLER_ID: &str = "2088102000000001";
pub const DEV_PARTNER: &str = "2088101568338364";
/// The vectors' public test MD5 key: DEV ONLY (keys/README.md).
pub const DEV_MD5_KEY: &str = "k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4";
pub const DEV_SELLER_EMAIL: &str = "refund-test@example.com";

impl SimConfig {
    /// The DEV setup from a `keys/` folder: the dev app key pair for the merchant, the
    /// dev "Alipay" key pair for the simulator.
    ///
    /// # Errors
    /// A key file is missing or not a key, with the file named.
    pub fn dev(keys_dir: &Path) -> Result<SimConfig, String> {
        let read = |name: &str| {
            let path = keys_dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let merchant_public_key = PublicKey::parse(&read("dev_app_public_spki.pem")?)
            .map_err(|e| format!("dev_app_public_spki.pem: {e}"))?;
        let alipay_private_key = PrivateKey::parse(&read("dev_alipay_private_pkcs8.pem")?)
            .map_err(|e| format!("dev_alipay_private_pkcs8.pem: {e}"))?;
        Ok(SimConfig {
            app_id: DEV_APP_ID.to_owned(),
            merchant_public_key,
            alipay_private_key,
            seller_id: DEV_SELLER_ID.to_owned(),
            seller_email: DEV_SELLER_EMAIL.to_owned(),
            mapi: MapiConfig {
                partner: DEV_PARTNER.to_owned(),
                md5_key: DEV_MD5_KEY.to_owned(),
                seller_email: DEV_SELLER_EMAIL.to_owned(),
            },
            refund_window: chrono::Duration::days(90),
            notify_minute: Duration::from_secs(60),
            seed: crate::ids::fresh_seed(),
            state_file: None,
            faults: crate::faults::Faults::default(),
        })
    }
}
