//! The real clock and id source behind the domain's ports.

use chrono::{DateTime, Timelike, Utc};
use payport_domain::ports::{Clock, IdSource};
use payport_domain::webhook::WebhookSecret;
use payport_domain::{EndpointId, EventId, OutRequestNo, OutTradeNo, RefundId};

/// The system clock, to the microsecond: the finest both stores keep, so what is read
/// back equals what was written.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        let micros = now.nanosecond() / 1_000 * 1_000;
        now.with_nanosecond(micros).unwrap_or(now)
    }
}

/// Random (UUID v4) identifiers: unique across instances without coordination.
pub struct RandomIds;

fn hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl IdSource for RandomIds {
    // A 32-hex-digit suffix always satisfies the id rules, so these cannot fail; the
    // fallbacks only keep the types honest.
    fn out_trade_no(&self) -> OutTradeNo {
        OutTradeNo::parse(format!("pp{}", hex_id())).unwrap_or_else(|_| self.out_trade_no())
    }

    fn refund_id(&self) -> RefundId {
        RefundId::parse(format!("rf_{}", hex_id())).unwrap_or_else(|_| self.refund_id())
    }

    fn out_request_no(&self) -> OutRequestNo {
        OutRequestNo::parse(format!("rq{}", hex_id())).unwrap_or_else(|_| self.out_request_no())
    }

    fn event_id(&self) -> EventId {
        EventId::parse(format!("evt_{}", hex_id())).unwrap_or_else(|_| self.event_id())
    }

    fn endpoint_id(&self) -> EndpointId {
        EndpointId::parse(format!("we_{}", hex_id())).unwrap_or_else(|_| self.endpoint_id())
    }

    /// Two UUID v4s: 244 bits from the operating system's random source.
    fn webhook_secret(&self) -> WebhookSecret {
        WebhookSecret::new(format!("whsec_{}{}", hex_id(), hex_id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct_and_time_is_whole_microseconds() {
        let ids = RandomIds;
        assert_ne!(ids.refund_id(), ids.refund_id());
        assert!(ids.out_trade_no().as_str().starts_with("pp"));
        assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
    }
}
