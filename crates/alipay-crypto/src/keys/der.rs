//! What a DER blob holds: an RSA private key (PKCS#1 or PKCS#8), an RSA public key
//! (X.509 SubjectPublicKeyInfo or PKCS#1), a key of another algorithm, or nothing known.
//!
//! Contract: pure ASN.1 structure checks (no arithmetic on key material), so the
//! loaders can say in one sentence what is wrong before any backend sees the key.
//! The crypto backends still parse and validate the key themselves.

use rsa::pkcs1;
use rsa::pkcs8::spki::SubjectPublicKeyInfoRef;
use rsa::pkcs8::PrivateKeyInfo;

/// The result of [`classify`]. `bits` is the RSA modulus length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DerKind {
    Pkcs1Private {
        bits: usize,
    },
    Pkcs8Private {
        bits: usize,
    },
    SpkiPublic {
        bits: usize,
    },
    Pkcs1Public {
        bits: usize,
    },
    /// A well-formed PKCS#8 or SPKI structure for a non-RSA algorithm (EC, Ed25519, ...).
    OtherAlgorithm,
    Unknown,
}

pub(crate) fn classify(der: &[u8]) -> DerKind {
    if let Ok(info) = PrivateKeyInfo::try_from(der) {
        if info.algorithm.oid != pkcs1::ALGORITHM_OID {
            return DerKind::OtherAlgorithm;
        }
        return match pkcs1::RsaPrivateKey::try_from(info.private_key) {
            Ok(key) => DerKind::Pkcs8Private {
                bits: bit_len(key.modulus.as_bytes()),
            },
            Err(_) => DerKind::Unknown,
        };
    }
    if let Ok(spki) = SubjectPublicKeyInfoRef::try_from(der) {
        if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
            return DerKind::OtherAlgorithm;
        }
        let Some(inner) = spki.subject_public_key.as_bytes() else {
            return DerKind::Unknown;
        };
        return match pkcs1::RsaPublicKey::try_from(inner) {
            Ok(key) => DerKind::SpkiPublic {
                bits: bit_len(key.modulus.as_bytes()),
            },
            Err(_) => DerKind::Unknown,
        };
    }
    if let Ok(key) = pkcs1::RsaPrivateKey::try_from(der) {
        return DerKind::Pkcs1Private {
            bits: bit_len(key.modulus.as_bytes()),
        };
    }
    if let Ok(key) = pkcs1::RsaPublicKey::try_from(der) {
        return DerKind::Pkcs1Public {
            bits: bit_len(key.modulus.as_bytes()),
        };
    }
    DerKind::Unknown
}

/// The RSA modulus of any of the four layouts, big-endian without leading zeros: the
/// same bytes for both halves of a key pair, whatever their encoding.
pub(crate) fn modulus(der: &[u8]) -> Option<Vec<u8>> {
    let strip = |be: &[u8]| be.iter().skip_while(|b| **b == 0).copied().collect();
    if let Ok(info) = PrivateKeyInfo::try_from(der) {
        let key = pkcs1::RsaPrivateKey::try_from(info.private_key).ok()?;
        return Some(strip(key.modulus.as_bytes()));
    }
    if let Ok(spki) = SubjectPublicKeyInfoRef::try_from(der) {
        let key = pkcs1::RsaPublicKey::try_from(spki.subject_public_key.as_bytes()?).ok()?;
        return Some(strip(key.modulus.as_bytes()));
    }
    if let Ok(key) = pkcs1::RsaPrivateKey::try_from(der) {
        return Some(strip(key.modulus.as_bytes()));
    }
    pkcs1::RsaPublicKey::try_from(der)
        .ok()
        .map(|key| strip(key.modulus.as_bytes()))
}

/// Bit length of a big-endian unsigned integer.
fn bit_len(be: &[u8]) -> usize {
    let zeros = be.iter().take_while(|b| **b == 0).count();
    let significant = &be[zeros..];
    match significant.first() {
        Some(first) => significant.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_len_counts_from_the_top_set_bit() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
        assert_eq!(bit_len(&[0x7f, 0xff]), 15);
    }

    #[test]
    fn garbage_is_unknown() {
        assert_eq!(classify(&[]), DerKind::Unknown);
        assert_eq!(classify(b"hello"), DerKind::Unknown);
    }
}
