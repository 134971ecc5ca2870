//! Fault injection: what can go wrong between a merchant and Alipay, on demand.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What goes wrong with a gateway method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MethodFault {
    /// Do the work at once but answer only after this long: a timeout when longer
    /// than the merchant's read timeout, and then the merchant does not know it happened.
    Delay { ms: u64 },
    /// HTTP 500 with an HTML body; nothing is done.
    Http500,
    /// `20000 isp.unknow-error`; nothing is done.
    Unavailable,
    /// `40004 ACQ.SYSTEM_ERROR`. With `performed`, the refund (or other change) is
    /// made anyway, as happens for real.
    SystemError { performed: bool },
    /// The answer's signature is made with the wrong key.
    BadSignature,
    /// The answer carries no signature.
    MissingSignature,
}

/// A fault and how many more calls it applies to (`None`: until cleared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub fault: MethodFault,
    #[serde(default)]
    pub times: Option<u32>,
}

/// What goes wrong with notifications.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFaults {
    /// Every notification is delivered twice.
    #[serde(default)]
    pub duplicate: bool,
    /// Notifications are held until released (then in the order asked), so that they
    /// can arrive out of order.
    #[serde(default)]
    pub hold: bool,
    /// This many delivery attempts fail as if the network dropped them.
    #[serde(default)]
    pub drop_attempts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// By method name, e.g. `alipay.trade.refund`.
    #[serde(default)]
    pub methods: HashMap<String, FaultRule>,
    #[serde(default)]
    pub notify: NotifyFaults,
}

impl Faults {
    /// The fault for this call, counting it down.
    pub fn take(&mut self, method: &str) -> Option<MethodFault> {
        let rule = self.methods.get_mut(method)?;
        let fault = rule.fault.clone();
        match &mut rule.times {
            Some(0) => {
                self.methods.remove(method);
                return None;
            }
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    self.methods.remove(method);
                }
            }
            None => {}
        }
        Some(fault)
    }
}
