//! The simulator itself: the books, the keys, the faults, and the notifier.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use payport_alipay_crypto::{CertSn, PublicKey, SignType, Signer, Verifier};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::SimConfig;
use crate::faults::Faults;
use crate::ledger::{Event, Ledger, Trade};
use crate::notify::{self, Outgoing};

/// One attempt to deliver a notification, with the merchant's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub notify_id: String,
    pub notify_type: String,
    pub out_trade_no: Option<String>,
    pub trade_status: Option<String>,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// The HTTP status, or the transport error.
    pub outcome: String,
    /// The merchant's body, as answered.
    pub answer: Option<String>,
    /// Only an exact `success` ends the retries.
    pub acknowledged: bool,
}

pub(crate) struct Inner {
    pub config: SimConfig,
    /// Signs answers and notifications; replaced at a certificate rotation.
    pub signer: Mutex<Signer>,
    /// Certificate mode: the current Alipay certificate and those issued so far.
    pub alipay_certs: Mutex<AlipayCerts>,
    pub merchant: Verifier,
    pub clock: Arc<dyn Clock>,
    /// How far the control API moved time on from `clock` (bills of a day are only
    /// served once the day is over: tests move a day on instead of waiting one).
    offset: Mutex<chrono::Duration>,
    ledger: Mutex<Ledger>,
    pub faults: Mutex<Faults>,
    pub deliveries: Mutex<Vec<Delivery>>,
    pub held: Mutex<Vec<Outgoing>>,
    /// notify_ids of legacy `batch_refund_notify` sent, for the `notify_verify` service.
    pub mapi_notify_ids: Mutex<Vec<String>>,
    pub http: reqwest::Client,
    pub notify_seq: AtomicU64,
}

/// An offline Alipay. Cheap to clone; serve it with [`Simulator::endpoint`].
#[derive(Clone)]
pub struct Simulator {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Simulator {
    /// # Errors
    /// The keys cannot be used, or the state file cannot be read.
    pub fn new(config: SimConfig, clock: Arc<dyn Clock>) -> Result<Simulator, String> {
        let signer = Signer::new(&config.alipay_private_key, SignType::Rsa2)
            .map_err(|e| format!("simulator key: {e}"))?;
        let merchant = merchant_verifier(&config.merchant_public_key)?;
        let ledger = match &config.state_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not a simulator state file: {e}", path.display()))?
            }
            // A loaded ledger goes on from its own counter; a fresh one starts where
            // the seed says, not at 1, so a restart does not repeat trade_nos.
            _ => Ledger {
                sequence: crate::ids::sequence_start(config.seed),
                ..Ledger::default()
            },
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let faults = Mutex::new(config.faults.clone());
        Ok(Simulator {
            inner: Arc::new(Inner {
                alipay_certs: Mutex::new(AlipayCerts::of(&config)),
                config,
                signer: Mutex::new(signer),
                merchant,
                clock,
                offset: Mutex::new(chrono::Duration::zero()),
                ledger: Mutex::new(ledger),
                faults,
                deliveries: Mutex::new(Vec::new()),
                held: Mutex::new(Vec::new()),
                mapi_notify_ids: Mutex::new(Vec::new()),
                http,
                notify_seq: AtomicU64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now() + *lock(&self.inner.offset)
    }

    /// Moves the simulator's time on by `by` (never back: Alipay's time only grows).
    pub fn advance(&self, by: chrono::Duration) {
        *lock(&self.inner.offset) += by.max(chrono::Duration::zero());
    }

    /// A copy of the books.
    pub fn ledger(&self) -> Ledger {
        lock(&self.inner.ledger).clone()
    }

    /// One trade as it stands, by `out_trade_no`: a copy of it alone, where
    /// [`Simulator::ledger`] copies every trade and refund.
    pub fn trade(&self, out_trade_no: &str) -> Option<Trade> {
        lock(&self.inner.ledger).trade(out_trade_no).cloned()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.inner.deliveries).clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.inner.faults) = faults;
    }

    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).clone()
    }

    /// Changes the books under the lock: time passes first (expiry, refund window),
    /// then `change` runs; every resulting event is notified and the state saved.
    pub(crate) fn with_ledger<T>(
        &self,
        change: impl FnOnce(&mut Ledger, DateTime<Utc>) -> (T, Vec<Event>),
    ) -> T {
        let now = self.now();
        let (result, events) = {
            let mut ledger = lock(&self.inner.ledger);
            let mut events = ledger.tick(now, self.inner.config.refund_window);
            let (result, more) = change(&mut ledger, now);
            events.extend(more);
            self.save(&ledger);
            (result, events)
        };
        for event in events {
            self.notify(event);
        }
        result
    }

    /// Lets time pass (expiries, refund windows) and notifies what it caused.
    pub fn tick(&self) {
        self.with_ledger(|_, _| ((), Vec::new()));
    }

    fn save(&self, ledger: &Ledger) {
        let Some(path) = &self.inner.config.state_file else {
            return;
        };
        let written = serde_json::to_string_pretty(ledger)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, text)
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "could not save the simulator state");
        }
    }

    /// Sends the trade notification for `event` (if the trade has a notify_url).
    pub(crate) fn notify(&self, event: Event) {
        if let Some(outgoing) = notify::trade_notification(self, &event) {
            self.dispatch(outgoing);
        }
    }

    pub(crate) fn next_notify_id(&self) -> String {
        let n = self.inner.notify_seq.fetch_add(1, Ordering::SeqCst) + 1;
        crate::ids::derived_hex(self.inner.config.seed, "notify", n, 32)
    }

    /// Delivers now (in the background), or holds it when notifications are held.
    pub(crate) fn dispatch(&self, outgoing: Outgoing) {
        let faults = lock(&self.inner.faults).notify.clone();
        if faults.hold {
            lock(&self.inner.held).push(outgoing);
            return;
        }
        let copies = if faults.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            notify::spawn_delivery(self.clone(), outgoing.clone());
        }
    }

    /// Sends the held notifications, newest first when `reverse`.
    pub fn release_held(&self, reverse: bool) -> usize {
        let mut held = std::mem::take(&mut *lock(&self.inner.held));
        if reverse {
            held.reverse();
        }
        let count = held.len();
        let mut faults = lock(&self.inner.faults);
        faults.notify.hold = false;
        drop(faults);
        for outgoing in held {
            self.dispatch(outgoing);
        }
        count
    }

    /// Signs `content` with the simulator's Alipay key.
    pub(crate) fn sign(&self, content: &str) -> String {
        // Signing a string with a loaded key cannot fail short of a broken backend;
        // an empty signature then makes the merchant refuse the answer, as it should.
        lock(&self.inner.signer)
            .sign(content.as_bytes())
            .unwrap_or_default()
    }

    /// Certificate mode: the SN of the certificate answers are signed under.
    pub fn alipay_cert_sn(&self) -> Option<String> {
        lock(&self.inner.alipay_certs).current.clone()
    }

    /// The PEM of an Alipay certificate this simulator issued, by SN.
    pub(crate) fn alipay_cert_pem(&self, sn: &str) -> Option<String> {
        let certs = lock(&self.inner.alipay_certs);
        certs
            .issued
            .iter()
            .find(|(s, _)| s == sn)
            .map(|(_, pem)| pem.clone())
    }

    /// Switches to the next Alipay key pair and certificate: from now on answers and
    /// notifications are signed with the new key and name the new SN.
    ///
    /// # Errors
    /// Not in certificate mode, or no next certificate (one rotation per run).
    pub fn rotate_alipay_cert(&self) -> Result<String, String> {
        let mut certs = lock(&self.inner.alipay_certs);
        let next = certs
            .next
            .take()
            .ok_or("no next Alipay certificate to rotate to (certificate mode only, once)")?;
        let sn = CertSn::of_pem(&next.cert_pem)
            .map_err(|e| format!("the next certificate: {e}"))?
            .sn()
            .to_owned();
        let signer = Signer::new(&next.private_key, SignType::Rsa2)
            .map_err(|e| format!("the next key: {e}"))?;
        *lock(&self.inner.signer) = signer;
        certs.issued.push((sn.clone(), next.cert_pem));
        certs.current = Some(sn.clone());
        Ok(sn)
    }
}

/// The Alipay certificates of certificate mode.
pub(crate) struct AlipayCerts {
    current: Option<String>,
    /// `(sn, pem)` of every certificate issued so far.
    issued: Vec<(String, String)>,
    next: Option<crate::config::NextAlipayCert>,
}

impl AlipayCerts {
    fn of(config: &SimConfig) -> AlipayCerts {
        match &config.certs {
            None => AlipayCerts {
                current: None,
                issued: Vec::new(),
                next: None,
            },
            Some(certs) => AlipayCerts {
                current: Some(certs.alipay_cert_sn.clone()),
                issued: vec![(certs.alipay_cert_sn.clone(), certs.alipay_cert_pem.clone())],
                next: certs.next.clone(),
            },
        }
    }
}

fn merchant_verifier(key: &PublicKey) -> Result<Verifier, String> {
    Verifier::new(key, SignType::Rsa2).map_err(|e| format!("merchant public key: {e}"))
}
