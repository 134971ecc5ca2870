//! The RSA backend's raw speed on this machine, now: RSA2 signs and verifies per
//! second on 1 and 2 threads, the yardsticks every HTTP figure is divided by.

use std::time::{Duration, Instant};

use payport_alipay_crypto::{Backend, PrivateKey, PublicKey, SignType, Signer, Verifier};

use crate::instant::{ALIPAY_PRIVATE_PEM, ALIPAY_PUBLIC_PEM};

/// Signs and verifies per second.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub sign_1: f64,
    pub sign_2: f64,
    pub verify_1: f64,
    pub verify_2: f64,
}

impl Rates {
    /// The backend payport is built with (the same crate and features as this bench).
    pub fn backend() -> &'static str {
        Backend::DEFAULT.name()
    }

    /// Measures each rate for `each`.
    pub fn measure(each: Duration) -> anyhow::Result<Rates> {
        let signer = Signer::new(&PrivateKey::parse(ALIPAY_PRIVATE_PEM)?, SignType::Rsa2)?;
        // A notification's string to sign is about this long.
        let content = "app_id=2021000000000001&".repeat(24);
        let sign = signer.sign(content.as_bytes())?;
        let verifier = Verifier::new(&PublicKey::parse(ALIPAY_PUBLIC_PEM)?, SignType::Rsa2)?;
        anyhow::ensure!(
            verifier.verify(content.as_bytes(), &sign),
            "the DEV keys do not match"
        );
        let sign_once = || {
            let _ = signer.sign(content.as_bytes());
        };
        let verify_once = || {
            let _ = verifier.verify(content.as_bytes(), &sign);
        };
        Ok(Rates {
            sign_1: rate(1, each, &sign_once),
            sign_2: rate(2, each, &sign_once),
            verify_1: rate(1, each, &verify_once),
            verify_2: rate(2, each, &verify_once),
        })
    }
}

/// Calls of `op` per second over `threads` threads for `each`.
fn rate(threads: usize, each: Duration, op: &(dyn Fn() + Sync)) -> f64 {
    let started = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0u64;
                    while started.elapsed() < each {
                        op();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    total as f64 / started.elapsed().as_secs_f64()
}
