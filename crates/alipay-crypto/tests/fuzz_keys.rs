//! Fuzzing key loading, on stable Rust with proptest.
//!
//! Keys come from configuration files an operator pastes together, so `PrivateKey::parse`
//! and `PublicKey::parse` must never panic, whatever the text: random text, PEM blocks
//! around random or damaged DER, real keys with bytes flipped or cut off. A key that
//! does load must not make the backends panic either. And a real key reads the same
//! from every way of writing it (PEM with any line width, CRLF, indentation, bare
//! base64, DER).
//!
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset); the target that
//! hands damaged keys to the RSA backends runs a quarter of that.

// The shared test helpers unwrap: a failed unwrap there is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use common::key_text;
use payport_alipay_crypto::{Backend, KeyError, PrivateKey, PublicKey, SignType, Signer, Verifier};
use proptest::prelude::*;
use proptest::test_runner::Config;

const LABELS: [&str; 8] = [
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "PUBLIC KEY",
    "RSA PUBLIC KEY",
    "CERTIFICATE",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
];

/// `(file, private?)` of real keys in every layout the loaders read.
const REAL_KEYS: [(&str, bool); 4] = [
    ("app_private_pkcs8.pem", true),
    ("app_private_pkcs1.pem", true),
    ("alipay_public_spki.pem", false),
    ("forger_private_pkcs1.pem", true),
];

/// The DER of a vector key file: its PEM body, decoded.
fn der_of(file: &str) -> Vec<u8> {
    let body: String = key_text(file)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body.trim()).expect("vector PEM body")
}

/// Writes DER as key text: PEM with a line width, line ending and indent, or bare base64.
fn armour(
    der: &[u8],
    label: Option<&str>,
    width: usize,
    crlf: bool,
    indent: &str,
    pad: bool,
) -> String {
    let body = if pad {
        STANDARD.encode(der)
    } else {
        STANDARD_NO_PAD.encode(der)
    };
    let eol = if crlf { "\r\n" } else { "\n" };
    let lines: Vec<String> = body
        .as_bytes()
        .chunks(width.max(1))
        .map(|c| format!("{indent}{}", String::from_utf8_lossy(c)))
        .collect();
    match label {
        Some(label) => format!(
            "{indent}-----BEGIN {label}-----{eol}{}{eol}{indent}-----END {label}-----{eol}",
            lines.join(eol)
        ),
        None => lines.join(eol),
    }
}

/// Flips, overwrites, inserts or deletes bytes, or cuts the DER short.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1..=255u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(der: &mut Vec<u8>, mutation: &Mutation) {
    if der.is_empty() {
        return;
    }
    let len = der.len();
    match mutation {
        Mutation::Flip(i, b) => der[i.index(len)] ^= b,
        Mutation::Set(i, b) => der[i.index(len)] = *b,
        Mutation::Insert(i, b) => der.insert(i.index(len + 1), *b),
        Mutation::Remove(i) => {
            der.remove(i.index(len));
        }
        Mutation::Truncate(i) => der.truncate(i.index(len)),
    }
}

/// Loads text both ways; nothing may panic, and errors stay one short sentence.
fn load_both(text: &str) -> (Result<PrivateKey, KeyError>, Result<PublicKey, KeyError>) {
    let private = PrivateKey::parse(text);
    let public = PublicKey::parse(text);
    for err in [private.as_ref().err(), public.as_ref().err()]
        .into_iter()
        .flatten()
    {
        let shown = err.to_string();
        assert!(shown.len() < 160 && !shown.contains('\n'), "{shown}");
    }
    (private, public)
}

/// What a loaded key does on the backends: it may be refused, never panic.
fn use_on_backends(private: Option<&PrivateKey>, public: Option<&PublicKey>) {
    for backend in Backend::ALL {
        if let Some(key) = private {
            if let Ok(signer) = Signer::with_backend(key, SignType::Rsa2, *backend) {
                let _ = signer.sign(b"payport");
            }
        }
        if let Some(key) = public {
            if let Ok(verifier) = Verifier::with_backend(key, SignType::Rsa2, *backend) {
                assert!(!verifier.verify(b"payport", "AAAA"));
            }
        }
    }
}

fn backend_config() -> Config {
    Config::with_cases((Config::default().cases / 4).max(8))
}

proptest! {
    #[test]
    fn fuzz_keys_any_text(text in any::<String>()) {
        let _ = load_both(&text);
    }

    #[test]
    fn fuzz_keys_pem_around_random_der(
        der in prop::collection::vec(any::<u8>(), 0..300),
        label in prop_oneof![prop::sample::select(LABELS.to_vec()).prop_map(String::from), "[A-Z ]{0,20}"],
        width in 1usize..80,
        crlf in any::<bool>(),
        pem in any::<bool>(),
    ) {
        let text = armour(&der, pem.then_some(label.as_str()), width, crlf, "", true);
        let _ = load_both(&text);
    }

    #[test]
    fn fuzz_keys_damaged_pem_text(
        key in prop::sample::select(REAL_KEYS.to_vec()),
        at in any::<prop::sample::Index>(),
        insert in prop_oneof!["[-A-Z: \n=]{0,6}", any::<String>()],
        cut in any::<bool>(),
    ) {
        let mut text = key_text(key.0);
        let mut i = at.index(text.len() + 1);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        if cut {
            text.truncate(i);
        }
        text.insert_str(i, &insert);
        let _ = load_both(&text);
    }

    #[test]
    fn fuzz_keys_read_the_same_however_written(
        key in prop::sample::select(REAL_KEYS.to_vec()),
        width in 1usize..100,
        crlf in any::<bool>(),
        indent in "[ \t]{0,3}",
        pad in any::<bool>(),
        pem in any::<bool>(),
        junk in "[a-z ]{0,12}\n?",
    ) {
        let (file, private) = key;
        let der = der_of(file);
        let label = match (private, file.contains("pkcs1")) {
            (true, true) => "RSA PRIVATE KEY",
            (true, false) => "PRIVATE KEY",
            (false, _) => "PUBLIC KEY",
        };
        let mut text = armour(&der, pem.then_some(label), width, crlf, &indent, pad);
        if pem {
            // Text before the BEGIN line is ignored.
            text.insert_str(0, &junk);
        }
        let (got_private, got_public) = load_both(&text);
        if private {
            let got = got_private.expect("a real private key loads");
            let want = PrivateKey::from_der(&der).expect("from DER");
            prop_assert_eq!((got.format(), got.bits()), (want.format(), want.bits()));
            prop_assert_eq!(got_public.err(), Some(KeyError::PrivateKeyForVerifying));
        } else {
            let got = got_public.expect("a real public key loads");
            prop_assert_eq!(&got, &PublicKey::from_der(&der).expect("from DER"));
            prop_assert_eq!(got.der(), der.as_slice());
            prop_assert_eq!(got_private.err(), Some(KeyError::PublicKeyForSigning));
        }
    }
}

proptest! {
    #![proptest_config(backend_config())]

    #[test]
    fn fuzz_keys_damaged_der_never_panics_a_backend(
        key in prop::sample::select(REAL_KEYS.to_vec()),
        mutations in prop::collection::vec(mutation(), 1..4),
        pem in any::<bool>(),
    ) {
        let (file, private) = key;
        let mut der = der_of(file);
        for m in &mutations {
            mutate(&mut der, m);
        }
        let label = if private { "PRIVATE KEY" } else { "PUBLIC KEY" };
        let text = armour(&der, pem.then_some(label), 64, false, "", true);
        let (got_private, got_public) = load_both(&text);
        use_on_backends(got_private.as_ref().ok(), got_public.as_ref().ok());
        let _ = (PrivateKey::from_der(&der), PublicKey::from_der(&der));
    }
}
