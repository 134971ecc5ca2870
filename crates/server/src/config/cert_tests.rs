//! Certificate mode's settings: all three files or none, never with a public key, and
//! what they give (the SNs, Alipay's key).

// figment's Jail fixes the closure's error type; its size is not ours to choose.
#![allow(clippy::result_large_err)]

use super::tests::{problems, production_env_but_alipay_key, repo};
use super::*;

/// The DEV certificates (keys/README.md) in the jail's environment.
fn dev_certs(jail: &mut figment::Jail) {
    jail.set_env("PAYPORT_ALIPAY__APP_CERT", repo("keys/dev_app_cert.pem"));
    jail.set_env(
        "PAYPORT_ALIPAY__ALIPAY_CERT",
        repo("keys/dev_alipay_cert.pem"),
    );
    jail.set_env(
        "PAYPORT_ALIPAY__ALIPAY_ROOT_CERT",
        repo("keys/dev_alipay_root_bundle.pem"),
    );
}

#[test]
fn the_three_certificates_give_the_sns_the_simulator_expects() {
    figment::Jail::expect_with(|jail| {
        dev_certs(jail);
        let config = Config::load().map_err(figment::Error::from)?;
        assert!(config.is_cert_mode());
        let keys = checks::check(&config, None, &str::to_owned)
            .map_err(|p| figment::Error::from(p.join("\n")))?;
        let certs = keys.certs.expect("certificate mode");
        let sim = payport_alipay_sim::SimCerts::dev();
        assert_eq!(certs.app_cert_sn, sim.app_cert_sn);
        assert_eq!(certs.alipay_cert_sn, sim.alipay_cert_sn);
        assert_eq!(certs.alipay_root_cert_sn, sim.alipay_root_cert_sn);
        Ok(())
    });
}

#[test]
fn public_key_mode_has_no_sns() {
    figment::Jail::expect_with(|_| {
        let config = Config::load().map_err(figment::Error::from)?;
        assert!(!config.is_cert_mode());
        let keys = checks::check(&config, None, &str::to_owned)
            .map_err(|p| figment::Error::from(p.join("\n")))?;
        assert!(keys.certs.is_none());
        Ok(())
    });
}

#[test]
fn some_of_the_three_is_an_error_naming_what_is_missing() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PAYPORT_ALIPAY__APP_CERT", repo("keys/dev_app_cert.pem"));
        let lines = problems();
        assert_eq!(
            lines,
            ["certificate mode needs all three certificate files: PAYPORT_ALIPAY__APP_CERT set, alipay.alipay_cert (PAYPORT_ALIPAY__ALIPAY_CERT), alipay.alipay_root_cert (PAYPORT_ALIPAY__ALIPAY_ROOT_CERT) missing"],
        );
        Ok(())
    });
}

#[test]
fn a_public_key_and_certificates_together_are_refused() {
    figment::Jail::expect_with(|jail| {
        dev_certs(jail);
        jail.set_env(
            "PAYPORT_ALIPAY__ALIPAY_PUBLIC_KEY",
            repo("keys/dev_alipay_public_spki.pem"),
        );
        let lines = problems();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "PAYPORT_ALIPAY__ALIPAY_PUBLIC_KEY and the certificate settings are both set"
            ),
            "{lines:?}"
        );
        Ok(())
    });
}

#[test]
fn unusable_certificates_and_an_app_certificate_of_another_key_are_named() {
    figment::Jail::expect_with(|jail| {
        dev_certs(jail);
        // A certificate of another key as the app's; a key file as Alipay's
        // certificate; a root bundle without an RSA root.
        jail.set_env(
            "PAYPORT_ALIPAY__APP_CERT",
            repo("testdata/cert-sn/alipay_like.pem"),
        );
        jail.set_env(
            "PAYPORT_ALIPAY__ALIPAY_CERT",
            repo("keys/dev_alipay_public_spki.pem"),
        );
        jail.set_env(
            "PAYPORT_ALIPAY__ALIPAY_ROOT_CERT",
            repo("testdata/cert-sn/ecdsa_sha384.pem"),
        );
        let lines = problems();
        for start in [
            "PAYPORT_ALIPAY__APP_CERT does not hold the public half of alipay.app_private_key",
            "PAYPORT_ALIPAY__ALIPAY_CERT is not usable: no certificate found",
            "PAYPORT_ALIPAY__ALIPAY_ROOT_CERT is not usable: no certificate of the bundle is signed with RSA",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(start)),
                "{start}: {lines:?}"
            );
        }
        assert_eq!(lines.len(), 3, "{lines:?}");
        Ok(())
    });
}

#[test]
fn production_refuses_the_dev_alipay_certificate() {
    figment::Jail::expect_with(|jail| {
        production_env_but_alipay_key(jail);
        dev_certs(jail);
        let lines = problems();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("PAYPORT_ALIPAY__ALIPAY_CERT is a DEV key")),
            "{lines:?}"
        );
        Ok(())
    });
}

/// A production configuration with the three certificates of `dev_certs`, and
/// `alipay_cert`/`root` instead of the DEV ones when given.
fn production_problems(jail: &mut figment::Jail, alipay_cert: &str, root: &str) -> Vec<String> {
    production_env_but_alipay_key(jail);
    dev_certs(jail);
    jail.set_env("PAYPORT_ALIPAY__ALIPAY_CERT", repo(alipay_cert));
    jail.set_env("PAYPORT_ALIPAY__ALIPAY_ROOT_CERT", repo(root));
    problems()
}

#[test]
fn production_refuses_the_simulators_rotated_alipay_certificate() {
    figment::Jail::expect_with(|jail| {
        let lines = production_problems(
            jail,
            "keys/dev_alipay_rotated_cert.pem",
            "testdata/cert-sn/root_bundle.pem",
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("PAYPORT_ALIPAY__ALIPAY_CERT is a DEV key")),
            "{lines:?}"
        );
        Ok(())
    });
}

#[test]
fn production_refuses_a_root_file_holding_the_dev_root() {
    figment::Jail::expect_with(|jail| {
        // Another Alipay certificate, and the DEV root alone: only the root is DEV.
        let lines = production_problems(
            jail,
            "testdata/cert-sn/alipay_like.pem",
            "keys/dev_root_ca.pem",
        );
        assert!(
            lines
                .iter()
                .any(|l| l
                    .starts_with("PAYPORT_ALIPAY__ALIPAY_ROOT_CERT holds a DEV root certificate")),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("is a DEV key")),
            "{lines:?}"
        );
        Ok(())
    });
}
