//! Counting and timing calls to Alipay, alike for both gateways: one vocabulary of
//! outcomes, so that `payport_alipay_calls_total` reads the same whichever gateway
//! made the call (README, Monitoring).

use std::time::Duration;

use payport_domain::GatewayError;

/// What became of one call, as a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// An answer, verified and believed, that the call did what it asked.
    Success,
    /// A definitive refusal: nothing happened.
    Rejected,
    /// An answer whose signature did not verify.
    BadSignature,
    /// An answer that says nothing definite: a system error, a non-200 status, a code
    /// or body not understood.
    Unknown,
    /// No answer at all: connect, timeout, a body cut short.
    TransportError,
}

impl CallOutcome {
    /// The stable label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Success => "success",
            CallOutcome::Rejected => "rejected",
            CallOutcome::BadSignature => "bad_signature",
            CallOutcome::Unknown => "unknown",
            CallOutcome::TransportError => "transport_error",
        }
    }

    /// The outcome of a call whose result the adapter has made of the answer;
    /// `answered` is false when no answer came back at all.
    #[must_use]
    pub fn of<T>(result: &Result<T, GatewayError>, answered: bool) -> CallOutcome {
        match result {
            _ if !answered => CallOutcome::TransportError,
            Ok(_) => CallOutcome::Success,
            Err(GatewayError::Rejected(_)) => CallOutcome::Rejected,
            Err(GatewayError::BadSignature(_)) => CallOutcome::BadSignature,
            Err(GatewayError::Unknown(_) | GatewayError::Config(_)) => CallOutcome::Unknown,
        }
    }
}

/// Counts and times one call (`payport_alipay_calls_total`,
/// `payport_alipay_call_duration_seconds`) and logs it at debug, inside the caller's
/// `alipay_call` span.
pub fn record(method: &'static str, outcome: CallOutcome, elapsed: Duration) {
    let outcome = outcome.as_str();
    // Bounded labels only: the method is one of the adapters' constants.
    metrics::counter!("payport_alipay_calls_total", "method" => method, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("payport_alipay_call_duration_seconds", "method" => method, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
    tracing::debug!(
        outcome,
        ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "alipay call"
    );
}

#[cfg(test)]
mod tests {
    use payport_domain::GatewayFailure;

    use super::*;

    #[test]
    fn no_answer_is_a_transport_error_whatever_the_result_says() {
        let unknown: Result<(), _> = Err(GatewayError::Unknown("timeout".into()));
        assert_eq!(
            CallOutcome::of(&unknown, false),
            CallOutcome::TransportError
        );
        assert_eq!(CallOutcome::of(&unknown, true), CallOutcome::Unknown);
    }

    #[test]
    fn answers_are_named_by_what_the_adapter_made_of_them() {
        let cases: [(Result<(), GatewayError>, &str); 5] = [
            (Ok(()), "success"),
            (
                Err(GatewayError::Rejected(GatewayFailure {
                    code: "40004".into(),
                    sub_code: None,
                    message: "refused".into(),
                })),
                "rejected",
            ),
            (
                Err(GatewayError::BadSignature(String::new())),
                "bad_signature",
            ),
            (Err(GatewayError::Unknown(String::new())), "unknown"),
            (Err(GatewayError::Config(String::new())), "unknown"),
        ];
        for (result, label) in cases {
            assert_eq!(CallOutcome::of(&result, true).as_str(), label, "{result:?}");
        }
    }
}
