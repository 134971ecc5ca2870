//! What the simulator needs to know: whom it serves (the merchant's app id and public
//! key, the mapi partner and MD5 key), its own Alipay key pair, and in certificate
//! mode the certificates' SNs.

use std::path::PathBuf;
use std::time::Duration;

use payport_alipay_crypto::{CertSn, PrivateKey, PublicKey, RootCertSn};

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
    /// Certificate mode (PROTOCOL.md A9); `None`: public key mode, SNs ignored.
    pub certs: Option<SimCerts>,
}

/// Certificate mode: the SNs every OpenAPI request must carry, and the one answers
/// carry. The keys stay those of [`SimConfig`]: the certificates hold them.
#[derive(Clone, Debug)]
pub struct SimCerts {
    /// The merchant app's certificate, as `app_cert_sn` must name it.
    pub app_cert_sn: String,
    /// Alipay's root bundle, as `alipay_root_cert_sn` must name it.
    pub alipay_root_cert_sn: String,
    /// The certificate of the simulator's signing key, sent as `alipay_cert_sn`.
    pub alipay_cert_sn: String,
    /// That certificate's PEM, served by `alipay.open.app.alipaycert.download`.
    pub alipay_cert_pem: String,
    /// What `POST /control/alipay-cert/rotate` switches to: a key pair and its
    /// certificate, signed by the root. `None`: no rotation.
    pub next: Option<NextAlipayCert>,
}

/// The simulator's next Alipay key and certificate (rotation).
#[derive(Clone, Debug)]
pub struct NextAlipayCert {
    pub private_key: PrivateKey,
    pub cert_pem: String,
}

impl SimCerts {
    /// The DEV certificates built into the binary ([`dev_keys`]).
    pub fn dev() -> SimCerts {
        // Checked by this crate's tests: the built-in certificates always give SNs.
        let mut certs = Self::from_pems(
            dev_keys::APP_CERT_PEM,
            dev_keys::ALIPAY_CERT_PEM,
            dev_keys::ROOT_BUNDLE_PEM,
        )
        .unwrap_or_else(|e| unreachable!("the built-in DEV certificates: {e}"));
        certs.next = Some(NextAlipayCert {
            private_key: PrivateKey::parse(dev_keys::ALIPAY_ROTATED_PRIVATE_PEM)
                .unwrap_or_else(|e| unreachable!("the built-in rotated DEV key: {e}")),
            cert_pem: dev_keys::ALIPAY_ROTATED_CERT_PEM.to_owned(),
        });
        certs
    }

    /// The SNs of other certificates (PEM text).
    ///
    /// # Errors
    /// A text gives no SN, with the certificate named.
    pub fn from_pems(
        app_cert: &str,
        alipay_cert: &str,
        root_bundle: &str,
    ) -> Result<SimCerts, String> {
        let sn = |what: &str, pem: &str| {
            CertSn::of_pem(pem)
                .map(|c| c.sn().to_owned())
                .map_err(|e| format!("the {what} certificate: {e}"))
        };
        Ok(SimCerts {
            app_cert_sn: sn("app", app_cert)?,
            alipay_cert_sn: sn("Alipay", alipay_cert)?,
            alipay_cert_pem: alipay_cert.to_owned(),
            next: None,
            alipay_root_cert_sn: RootCertSn::of_bundle(root_bundle)
                .and_then(|r| r.sn())
                .map_err(|e| format!("the root bundle: {e}"))?,
        })
    }
}

/// The dev app id the simulator and payport's defaults share.
pub const DEV_APP_ID: &str = "2021000000000001";
pub const DEV_SELLER_ID: &str = "2088102000000001";
pub const DEV_PARTNER: &str = "2088101568338364";
/// The vectors' public test MD5 key: DEV ONLY (keys/README.md).
pub const DEV_MD5_KEY: &str = "k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4";
pub const DEV_SELLER_EMAIL: &str = "refund-test@example.com";

/// The DEV-ONLY key pairs of `keys/`, built into the binary so that the default run
/// reads no key file and works from any directory. They are public test keys
/// (keys/README.md): anyone can sign with them, so production refuses them.
pub mod dev_keys {
    /// The merchant app's private key: the default app key in simulator mode.
    pub const APP_PRIVATE_PEM: &str = include_str!("../../../keys/dev_app_private_pkcs8.pem");
    /// Its public key: the simulator verifies the merchant's requests with it.
    pub const APP_PUBLIC_PEM: &str = include_str!("../../../keys/dev_app_public_spki.pem");
    /// The simulator's "Alipay" private key: it signs answers and notifications.
    pub const ALIPAY_PRIVATE_PEM: &str = include_str!("../../../keys/dev_alipay_private_pkcs8.pem");
    /// Its public key: the default Alipay public key in simulator mode.
    pub const ALIPAY_PUBLIC_PEM: &str = include_str!("../../../keys/dev_alipay_public_spki.pem");
    /// The DEV root bundle (an EC root, then the DEV root CA): `alipay_root_cert_sn`.
    pub const ROOT_BUNDLE_PEM: &str = include_str!("../../../keys/dev_alipay_root_bundle.pem");
    /// The simulator's "Alipay" certificate (of `ALIPAY_PUBLIC_PEM`), then the DEV
    /// intermediate CA that issued it, as in Alipay's file.
    pub const ALIPAY_CERT_PEM: &str = include_str!("../../../keys/dev_alipay_cert.pem");
    /// The simulator's next "Alipay" key pair and certificate, which a rotation
    /// switches to (scripts/dev-certs.sh).
    pub const ALIPAY_ROTATED_PRIVATE_PEM: &str =
        include_str!("../../../keys/dev_alipay_rotated_private_pkcs8.pem");
    pub const ALIPAY_ROTATED_CERT_PEM: &str =
        include_str!("../../../keys/dev_alipay_rotated_cert.pem");
    /// The merchant app's certificate (of `APP_PUBLIC_PEM`).
    pub const APP_CERT_PEM: &str = include_str!("../../../keys/dev_app_cert.pem");
}

impl SimConfig {
    /// The DEV setup, with the DEV keys built into the binary ([`dev_keys`]): the dev
    /// app key pair for the merchant, the dev "Alipay" key pair for the simulator.
    pub fn dev() -> SimConfig {
        // Checked by this crate's tests: the built-in keys always parse.
        Self::dev_with_keys(dev_keys::APP_PUBLIC_PEM, dev_keys::ALIPAY_PRIVATE_PEM)
            .unwrap_or_else(|e| unreachable!("the built-in DEV keys: {e}"))
    }

    /// The DEV setup with other keys: the merchant's public key and the simulator's
    /// own private key, as PEM or bare base64 text.
    ///
    /// # Errors
    /// A text is not a key of its kind, with the key named.
    pub fn dev_with_keys(
        merchant_public_key: &str,
        alipay_private_key: &str,
    ) -> Result<SimConfig, String> {
        let merchant_public_key = PublicKey::parse(merchant_public_key)
            .map_err(|e| format!("the merchant public key: {e}"))?;
        let alipay_private_key = PrivateKey::parse(alipay_private_key)
            .map_err(|e| format!("the simulator's private key: {e}"))?;
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
            certs: None,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_dev_keys_are_two_key_pairs() {
        use payport_alipay_crypto::{PrivateKey, PublicKey};
        let private = |pem| PrivateKey::parse(pem).map(|k| k.modulus());
        let public = |pem| PublicKey::parse(pem).map(|k| k.modulus());
        let app = private(super::dev_keys::APP_PRIVATE_PEM);
        assert_eq!(app, public(super::dev_keys::APP_PUBLIC_PEM));
        let alipay = private(super::dev_keys::ALIPAY_PRIVATE_PEM);
        assert_eq!(alipay, public(super::dev_keys::ALIPAY_PUBLIC_PEM));
        assert_ne!(app, alipay);
        assert_eq!(super::SimConfig::dev().app_id, super::DEV_APP_ID);
    }

    #[test]
    fn the_built_in_dev_certificates_give_three_distinct_sns() {
        let certs = super::SimCerts::dev();
        assert_ne!(certs.app_cert_sn, certs.alipay_cert_sn);
        assert_eq!(
            certs.alipay_root_cert_sn.len(),
            32,
            "one RSA root: {certs:?}"
        );
    }
}
