//! Where the legacy gateway is, who the merchant is on it, and which flow to use.

use std::time::Duration;

use payport_domain::GatewayError;

use crate::key::Md5Key;

/// The two legacy refund services (PROTOCOL.md B3, B4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapiMode {
    /// `refund_fastpay_by_platform_nopwd`: server to server; the result arrives by
    /// `batch_refund_notify`.
    NoPassword,
    /// `refund_fastpay_by_platform_pwd`: payport hands an operator an auto-submitting
    /// form; they confirm on Alipay's page with the payment password.
    Password,
}

impl MapiMode {
    pub fn service(self) -> &'static str {
        match self {
            MapiMode::NoPassword => "refund_fastpay_by_platform_nopwd",
            MapiMode::Password => "refund_fastpay_by_platform_pwd",
        }
    }
}

/// The merchant on the legacy gateway.
#[derive(Debug, Clone)]
pub struct MapiConfig {
    /// e.g. [`MapiConfig::PRODUCTION_GATEWAY`], or the simulator's `…/mapi/gateway.do`.
    pub gateway_url: String,
    /// The partner id (PID): `2088` + 12 digits.
    pub partner: String,
    pub md5_key: Md5Key,
    /// One of the seller fields is required (B3); `seller_user_id` wins when both are
    /// set, and only it is sent then.
    pub seller_email: Option<String>,
    pub seller_user_id: Option<String>,
    /// Where `batch_refund_notify` goes. Required: the legacy gateway has no refund
    /// query, so without it no refund result would ever arrive (PROTOCOL.md C).
    pub notify_url: String,
    pub connect_timeout: Duration,
    /// The whole request, connect included.
    pub timeout: Duration,
}

impl MapiConfig {
    pub const PRODUCTION_GATEWAY: &'static str = "https://mapi.alipay.com/gateway.do";

    /// With 3 s to connect and 15 s in all, like the OpenAPI client; no seller yet.
    pub fn new(
        gateway_url: impl Into<String>,
        partner: impl Into<String>,
        md5_key: Md5Key,
        notify_url: impl Into<String>,
    ) -> MapiConfig {
        MapiConfig {
            gateway_url: gateway_url.into(),
            partner: partner.into(),
            md5_key,
            seller_email: None,
            seller_user_id: None,
            notify_url: notify_url.into(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(15),
        }
    }

    /// The seller parameter to send: `seller_user_id` when set, else `seller_email`.
    pub(crate) fn seller(&self) -> Option<(&'static str, &str)> {
        fn set(v: &Option<String>) -> Option<&str> {
            v.as_deref().filter(|s| !s.is_empty())
        }
        set(&self.seller_user_id)
            .map(|id| ("seller_user_id", id))
            .or_else(|| set(&self.seller_email).map(|email| ("seller_email", email)))
    }

    /// Refuses what would make every request fail.
    pub(crate) fn check(&self) -> Result<(), GatewayError> {
        let config = |why: &str| Err(GatewayError::Config(format!("mapi: {why}")));
        let partner_ok = self.partner.len() == 16
            && self.partner.starts_with("2088")
            && self.partner.bytes().all(|b| b.is_ascii_digit());
        if !partner_ok {
            return config("partner must be 2088 followed by 12 digits");
        }
        if !self.gateway_url.starts_with("http://") && !self.gateway_url.starts_with("https://") {
            return config("gateway_url must be an http(s) URL");
        }
        if self.seller().is_none() {
            return config("set seller_email or seller_user_id");
        }
        if self.notify_url.is_empty() {
            return config("notify_url is required: refund results arrive only there");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MapiConfig {
        let mut c = MapiConfig::new(
            MapiConfig::PRODUCTION_GATEWAY,
            "2088101568338364",
            Md5Key::new("k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4").unwrap(),
            "https://shop.example/alipay/batch-refund-notify",
        );
        c.seller_email = Some("refund-test@example.com".into());
        c
    }

    #[test]
    fn user_id_wins_over_email() {
        let mut c = config();
        assert_eq!(
            c.seller(),
            Some(("seller_email", "refund-test@example.com"))
        );
        c.seller_user_id = Some("2088101568338364".into());
        assert_eq!(c.seller(), Some(("seller_user_id", "2088101568338364")));
    }

    #[test]
    fn refuses_unusable_settings() {
        assert!(config().check().is_ok());
        let mut c = config();
        c.partner = "2088".into();
        assert!(c.check().is_err());
        let mut c = config();
        c.seller_email = Some(String::new());
        assert!(c.check().is_err());
        let mut c = config();
        c.notify_url.clear();
        assert!(c.check().is_err());
        let mut c = config();
        c.gateway_url = "mapi.alipay.com/gateway.do".into();
        assert!(c.check().is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        assert!(format!("{:?}", config()).contains("Md5Key(<redacted>)"));
        assert!(!format!("{:?}", config()).contains("k3v9"));
    }
}
