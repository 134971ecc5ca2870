//! Whether a configuration can start, decided before anything is opened: the keys
//! load, the ids parse, the values are in range, and production mode has none of the
//! public DEV material (keys in any encoding, app, seller, legacy partner and MD5 key),
//! real tokens and a public https URL. Every problem is one sentence naming its key.

use std::net::IpAddr;

use payport_alipay_openapi::{
    certificate_keys, public_key_of_pem, CertMode, CertSn, PrivateKey, PublicKey, RootCertSn,
    Signer, Verifier,
};
use payport_alipay_sim::config::{self as dev, dev_keys};
use payport_domain::{AppId, SellerId};

use super::{AlipayMode, Config};

/// Production tokens are at least this long (about 190 bits of base64).
pub const MIN_PRODUCTION_TOKEN_CHARS: usize = 32;

/// Refund windows longer than this are a typo (and overflow the date arithmetic).
pub const MAX_WINDOW_DAYS: i64 = 36_500;

/// Three silent heartbeats free a dead instance's keys: at most 30 s after it died.
pub const MAX_HEARTBEAT_SECS: u64 = 10;

/// Longer than any request or background item takes (the gateway timeout is 15 s).
pub const MAX_SHUTDOWN_SECS: u64 = 600;

/// The app's keys, loaded and checked.
pub struct AppKeys {
    /// Signs requests.
    pub signer: Signer,
    /// Verifies Alipay's answers and notifications: Alipay's public key, or in
    /// certificate mode the key of Alipay's certificate.
    pub verifier: Verifier,
    /// Certificate mode's SNs; `None` in public key mode.
    pub certs: Option<CertMode>,
}

/// Checks `config` as served at `public_url` (when it differs from the configured
/// one); `name` spells a dotted key as the user wrote it.
///
/// # Errors
/// Every problem found, one sentence each.
pub fn check(
    config: &Config,
    public_url: Option<&str>,
    name: &dyn Fn(&str) -> String,
) -> Result<AppKeys, Vec<String>> {
    let mut problems = Vec::new();
    let keys = app_keys(config, name, &mut problems);
    values(config, name, &mut problems);
    if config.alipay.mode == AlipayMode::Production {
        production(
            config,
            public_url.or(config.public_url.as_deref()),
            name,
            &mut problems,
        );
    }
    match keys {
        Some(keys) if problems.is_empty() => Ok(keys),
        _ => Err(problems),
    }
}

/// A key file's text; `None` means the built-in DEV key, allowed only where the
/// other side is payport's own simulator.
fn key_text(
    config: &Config,
    key: &str,
    path: Option<&std::path::Path>,
    dev_pem: &'static str,
    name: &dyn Fn(&str) -> String,
    problems: &mut Vec<String>,
) -> Option<String> {
    match (path, config.alipay.mode) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| {
                problems.push(format!(
                    "{} cannot be read from {}: {e}",
                    name(key),
                    path.display()
                ));
            })
            .ok(),
        (None, AlipayMode::Simulator | AlipayMode::Custom) => Some(dev_pem.to_owned()),
        (None, mode) => {
            problems.push(format!(
                "{} must be set in {} mode (the path of a key file)",
                name(key),
                mode.as_str()
            ));
            None
        }
    }
}

fn app_keys(
    config: &Config,
    name: &dyn Fn(&str) -> String,
    problems: &mut Vec<String>,
) -> Option<AppKeys> {
    let alipay = &config.alipay;
    let (private_key, public_key) = ("alipay.app_private_key", "alipay.alipay_public_key");
    let private = key_text(
        config,
        private_key,
        alipay.app_private_key.as_deref(),
        dev_keys::APP_PRIVATE_PEM,
        name,
        problems,
    )
    .and_then(|text| {
        PrivateKey::parse(&text)
            .map_err(|e| problems.push(format!("{} is not usable: {e}", name(private_key))))
            .ok()
    });
    let (public_key, public, certs) = if config.is_cert_mode() {
        match certificates(config, name, problems) {
            Some(c) => {
                if let (Some(private), Some(app_cert_key)) = (&private, &c.app_cert_key) {
                    if private.modulus() != app_cert_key.modulus() {
                        problems.push(format!(
                            "{} does not hold the public half of {}: Alipay would refuse every request's signature",
                            name("alipay.app_cert"),
                            name(private_key)
                        ));
                    }
                }
                ("alipay.alipay_cert", c.alipay_key, c.sns)
            }
            None => ("alipay.alipay_cert", None, None),
        }
    } else {
        let public = key_text(
            config,
            public_key,
            alipay.alipay_public_key.as_deref(),
            dev_keys::ALIPAY_PUBLIC_PEM,
            name,
            problems,
        )
        .and_then(|text| {
            PublicKey::parse(&text)
                .map_err(|e| problems.push(format!("{} is not usable: {e}", name(public_key))))
                .ok()
        });
        (public_key, public, None)
    };
    if alipay.mode == AlipayMode::Production {
        // Compared by modulus: the same key in PKCS#1 or PKCS#8, PEM or bare base64,
        // from any path, is still the public DEV key.
        // The simulator's rotated key too: its private half is in keys/ as well.
        let dev_moduli = [
            PublicKey::parse(dev_keys::APP_PUBLIC_PEM).ok(),
            PublicKey::parse(dev_keys::ALIPAY_PUBLIC_PEM).ok(),
            public_key_of_pem(dev_keys::ALIPAY_ROTATED_CERT_PEM).ok(),
        ]
        .map(|key| key.map(|k| k.modulus()));
        let is_dev = |modulus: Vec<u8>| dev_moduli.contains(&Some(modulus));
        for (key, dev) in [
            (
                private_key,
                private.as_ref().is_some_and(|k| is_dev(k.modulus())),
            ),
            (
                public_key,
                public.as_ref().is_some_and(|k| is_dev(k.modulus())),
            ),
        ] {
            if dev {
                problems.push(format!(
                    "{} is a DEV key from payport's keys/ (public: anyone can sign with it); production needs your own",
                    name(key)
                ));
            }
        }
        if let Some(certs) = &certs {
            dev_root(&certs.root_bundle_pem, name, problems);
        }
    }
    let signer = Signer::new(&private?, alipay.sign_type)
        .map_err(|e| problems.push(format!("{} is not usable: {e}", name(private_key))))
        .ok();
    let verifier = Verifier::new(&public?, alipay.sign_type)
        .map_err(|e| problems.push(format!("{} is not usable: {e}", name(public_key))))
        .ok();
    if config.is_cert_mode() && certs.is_none() {
        return None;
    }
    Some(AppKeys {
        signer: signer?,
        verifier: verifier?,
        certs,
    })
}

/// Refuses a root file holding a DEV root (compared by key, so a re-issued DEV root
/// is refused too): the DEV root's private key is public in keys/, so anyone could issue
/// an "Alipay" certificate that a rotation would adopt.
fn dev_root(bundle: &str, name: &dyn Fn(&str) -> String, problems: &mut Vec<String>) {
    let dev = certificate_keys(dev_keys::ROOT_BUNDLE_PEM).unwrap_or_default();
    let keys = certificate_keys(bundle).unwrap_or_default();
    if keys.iter().any(|key| dev.contains(key)) {
        problems.push(format!(
            "{} holds a DEV root certificate from payport's keys/ (its private key is public: anyone can issue certificates under it); production needs Alipay's root certificate file",
            name("alipay.alipay_root_cert")
        ));
    }
}

/// What certificate mode reads from the three certificate files.
struct Certificates {
    /// The key of Alipay's certificate: it verifies answers and notifications.
    alipay_key: Option<PublicKey>,
    /// The key in the app's certificate, to compare with the app's private key.
    app_cert_key: Option<PublicKey>,
    /// Every SN, when all three files gave one.
    sns: Option<CertMode>,
}

/// Reads the certificates of certificate mode (PROTOCOL.md A9); `None` when their
/// settings are incomplete or clash with a public key. All three or none: half a
/// certificate setup is a typo, never a fallback to the DEV public key.
fn certificates(
    config: &Config,
    name: &dyn Fn(&str) -> String,
    problems: &mut Vec<String>,
) -> Option<Certificates> {
    let alipay = &config.alipay;
    let settings = [
        ("alipay.app_cert", &alipay.app_cert),
        ("alipay.alipay_cert", &alipay.alipay_cert),
        ("alipay.alipay_root_cert", &alipay.alipay_root_cert),
    ];
    let missing: Vec<String> = settings
        .iter()
        .filter(|(_, path)| path.is_none())
        .map(|(key, _)| format!("{} ({})", name(key), env_var(key)))
        .collect();
    if !missing.is_empty() {
        let set: Vec<String> = settings
            .iter()
            .filter(|(_, path)| path.is_some())
            .map(|(key, _)| name(key))
            .collect();
        problems.push(format!(
            "certificate mode needs all three certificate files: {} set, {} missing",
            set.join(", "),
            missing.join(", ")
        ));
    }
    if alipay.alipay_public_key.is_some() {
        problems.push(format!(
            "{} and the certificate settings are both set: an app uses Alipay's public key or its certificates, not both; unset one",
            name("alipay.alipay_public_key")
        ));
    }
    if !missing.is_empty() || alipay.alipay_public_key.is_some() {
        return None;
    }
    let mut read = |key: &str, path: &Option<std::path::PathBuf>| -> Option<String> {
        let path = path.as_deref()?;
        std::fs::read_to_string(path)
            .map_err(|e| {
                problems.push(format!(
                    "{} cannot be read from {}: {e}",
                    name(key),
                    path.display()
                ));
            })
            .ok()
    };
    let app = read("alipay.app_cert", &alipay.app_cert);
    let ali = read("alipay.alipay_cert", &alipay.alipay_cert);
    let root = read("alipay.alipay_root_cert", &alipay.alipay_root_cert);
    let mut unusable = |key: &str, e: &dyn std::fmt::Display| {
        problems.push(format!("{} is not usable: {e}", name(key)));
    };
    let app_cert_sn = app.as_deref().and_then(|t| {
        CertSn::of_pem(t)
            .map_err(|e| unusable("alipay.app_cert", &e))
            .ok()
    });
    let app_cert_key = app.as_deref().and_then(|t| public_key_of_pem(t).ok());
    let alipay_cert_sn = ali.as_deref().and_then(|t| {
        CertSn::of_pem(t)
            .map_err(|e| unusable("alipay.alipay_cert", &e))
            .ok()
    });
    // An unreadable certificate is named once, by its SN's error.
    let alipay_key = ali
        .as_deref()
        .filter(|_| alipay_cert_sn.is_some())
        .and_then(|t| {
            public_key_of_pem(t)
                .map_err(|e| unusable("alipay.alipay_cert", &e))
                .ok()
        });
    let root_sn = root.as_deref().and_then(|t| {
        RootCertSn::of_bundle(t)
            .and_then(|r| r.sn())
            .map_err(|e| unusable("alipay.alipay_root_cert", &e))
            .ok()
    });
    let sns = match (app_cert_sn, root_sn, alipay_cert_sn, root) {
        (Some(app), Some(root_sn), Some(ali), Some(root)) => Some(CertMode {
            app_cert_sn: app.sn().to_owned(),
            alipay_root_cert_sn: root_sn,
            alipay_cert_sn: ali.sn().to_owned(),
            root_bundle_pem: root,
        }),
        _ => None,
    };
    Some(Certificates {
        alipay_key,
        app_cert_key,
        sns,
    })
}

/// The environment variable that sets a dotted key: a missing setting is named both
/// ways, since it could be set either way.
fn env_var(key: &str) -> String {
    format!("PAYPORT_{}", key.to_uppercase().replace('.', "__"))
}

fn values(config: &Config, name: &dyn Fn(&str) -> String, problems: &mut Vec<String>) {
    let alipay = &config.alipay;
    if alipay.mode == AlipayMode::Custom && alipay.gateway_url.is_none() {
        problems.push(format!(
            "{} must be set when {} is custom",
            name("alipay.gateway_url"),
            name("alipay.mode")
        ));
    }
    if let Err(e) = AppId::parse(alipay.app_id.clone()) {
        problems.push(format!("{} is not an app id: {e}", name("alipay.app_id")));
    }
    if let Some(Err(e)) = alipay.seller_id.clone().map(SellerId::parse) {
        problems.push(format!(
            "{} is not a seller id: {e}",
            name("alipay.seller_id")
        ));
    }
    let days = config.refunds.window_days;
    if !(1..=MAX_WINDOW_DAYS).contains(&days) {
        problems.push(format!(
            "{} must be a number of days from 1 to {MAX_WINDOW_DAYS}; got {days}",
            name("refunds.window_days")
        ));
    }
    let stranded = config.reconciliation.stranded_after_days;
    if i64::from(stranded) > MAX_WINDOW_DAYS {
        problems.push(format!(
            "{} must be a number of days from 0 to {MAX_WINDOW_DAYS}; got {stranded}",
            name("reconciliation.stranded_after_days")
        ));
    }
    if !(1..=MAX_HEARTBEAT_SECS).contains(&config.heartbeat_secs) {
        problems.push(format!(
            "{} must be 1 to {MAX_HEARTBEAT_SECS} seconds (a dead instance's keys are freed after three); got {}",
            name("heartbeat_secs"),
            config.heartbeat_secs
        ));
    }
    if !(1..=MAX_SHUTDOWN_SECS).contains(&config.shutdown_timeout_secs) {
        problems.push(format!(
            "{} must be 1 to {MAX_SHUTDOWN_SECS} seconds; got {}",
            name("shutdown_timeout_secs"),
            config.shutdown_timeout_secs
        ));
    }
    if let Some(url) = &config.public_url {
        if !matches!(reqwest::Url::parse(url), Ok(u) if matches!(u.scheme(), "http" | "https")) {
            problems.push(format!(
                "{} must be an http or https URL; got {url:?}",
                name("public_url")
            ));
        }
    }
    config.webhooks.check(name, problems);
    config.payments.check(name, problems);
    let mapi = &config.mapi;
    match (&mapi.partner, &mapi.md5_key) {
        (Some(_), None) | (None, Some(_)) => problems.push(format!(
            "{} and {} must be set together (the legacy gateway needs both)",
            name("mapi.partner"),
            name("mapi.md5_key")
        )),
        (_, Some(key)) => {
            if let Err(e) = payport_alipay_mapi::Md5Key::new(key.clone()) {
                problems.push(format!("{} is not usable: {e}", name("mapi.md5_key")));
            }
        }
        (None, None) => {}
    }
}

fn production(
    config: &Config,
    public_url: Option<&str>,
    name: &dyn Fn(&str) -> String,
    problems: &mut Vec<String>,
) {
    let alipay = &config.alipay;
    if alipay.app_id == dev::DEV_APP_ID {
        problems.push(format!(
            "{} is the simulator's DEV app id; production needs your own",
            name("alipay.app_id")
        ));
    }
    if alipay.seller_id.as_deref() == Some(dev::DEV_SELLER_ID) {
        problems.push(format!(
            "{} is the simulator's DEV seller id; production needs your own",
            name("alipay.seller_id")
        ));
    }
    if config.mapi.partner.as_deref().map(str::trim) == Some(dev::DEV_PARTNER) {
        problems.push(format!(
            "{} is the simulator's DEV partner; production needs your own",
            name("mapi.partner")
        ));
    }
    if config.mapi.md5_key.as_deref().map(str::trim) == Some(dev::DEV_MD5_KEY) {
        problems.push(format!(
            "{} is the public DEV MD5 key (anyone can sign with it); production needs your own",
            name("mapi.md5_key")
        ));
    }
    tokens(config, name, problems);
    match public_url.map(|url| (url, reqwest::Url::parse(url))) {
        Some((_, Ok(u))) if u.scheme() == "https" && !is_loopback(&u) => {}
        Some((url, _)) => problems.push(format!(
            "{} must be the https URL Alipay reaches this instance at, not a loopback one, in production mode; got {url:?}",
            name("public_url")
        )),
        None => problems.push(format!(
            "{} must be set in production mode: the https URL Alipay reaches this instance at",
            name("public_url")
        )),
    }
}

fn tokens(config: &Config, name: &dyn Fn(&str) -> String, problems: &mut Vec<String>) {
    let auth = &config.auth;
    let (merchant, operator) = ("auth.merchant_tokens", "auth.operator_tokens");
    if auth.is_empty() {
        problems.push(format!(
            "{} and {} are empty: payport refuses to run in production mode without tokens",
            name(merchant),
            name(operator)
        ));
    }
    for (key, list) in [
        (merchant, &auth.merchant_tokens),
        (operator, &auth.operator_tokens),
    ] {
        // The tokens themselves are never printed, only how many are too short.
        let short = list
            .iter()
            .filter(|t| t.chars().count() < MIN_PRODUCTION_TOKEN_CHARS)
            .count();
        if short > 0 {
            problems.push(format!(
                "{} has {short} token(s) shorter than {MIN_PRODUCTION_TOKEN_CHARS} characters; production needs long random tokens",
                name(key)
            ));
        }
    }
    if auth
        .merchant_tokens
        .iter()
        .any(|t| auth.operator_tokens.contains(t))
    {
        problems.push(format!(
            "{} and {} share a token; each role needs its own",
            name(merchant),
            name(operator)
        ));
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return true;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => {
            let domain = host.trim_end_matches('.').to_ascii_lowercase();
            domain == "localhost" || domain.ends_with(".localhost")
        }
    }
}
