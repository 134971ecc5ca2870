//! The merchant's MD5 key: a shared secret, so it is wrapped where it cannot be printed.
//!
//! `Debug` is redacted, there is no `Display`, and the bytes are zeroed when the key is
//! dropped. The only way to use it is [`crate::md5`], which appends it to a string to
//! sign and hashes the result.

use std::fmt;

use zeroize::Zeroizing;

/// Why a text is not a usable MD5 key. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the MD5 key is empty")]
    Empty,
    #[error("the MD5 key has whitespace or non-ASCII characters (Alipay's keys are 32 letters and digits; was a line break copied in?)")]
    BadCharacters,
}

/// Alipay's MD5 key for a partner (32 letters and digits, from the merchant portal).
#[derive(Clone)]
pub struct Md5Key(Zeroizing<String>);

impl Md5Key {
    /// Takes the key exactly as given: surrounding whitespace is an error, not trimmed,
    /// so a key that differs from Alipay's by a stray space fails here and not later as
    /// ILLEGAL_SIGN. Callers reading a file trim its line ending first.
    ///
    /// # Errors
    /// [`KeyError`] when the text is empty or has whitespace or non-ASCII characters.
    pub fn new(key: impl Into<String>) -> Result<Md5Key, KeyError> {
        let key = Zeroizing::new(key.into());
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::BadCharacters);
        }
        Ok(Md5Key(key))
    }

    /// Crate-private on purpose: nothing outside signing should see the key.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Md5Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Md5Key(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = Md5Key::new("k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4").unwrap();
        assert_eq!(format!("{key:?}"), "Md5Key(<redacted>)");
        assert_eq!(
            format!("{:?}", Some(key.clone())),
            "Some(Md5Key(<redacted>))"
        );
    }

    #[test]
    fn refuses_what_cannot_be_a_key() {
        assert_eq!(Md5Key::new("").unwrap_err(), KeyError::Empty);
        for bad in ["abc\n", " abc", "a b", "密钥"] {
            assert_eq!(Md5Key::new(bad).unwrap_err(), KeyError::BadCharacters);
        }
    }
}
