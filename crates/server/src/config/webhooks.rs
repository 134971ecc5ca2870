//! The `webhooks` settings: the configured endpoint (`url` and `secret`), how long an
//! attempt may take, the retry schedule and how many deliveries go out at once.

use std::fmt;
use std::time::Duration;

use payport_domain::webhook::{RetrySchedule, WebhookSecret};
use serde::{Deserialize, Serialize};

/// A configured secret shorter than this is refused: it is the HMAC key.
pub const MIN_SECRET_CHARS: usize = 16;
/// The longest timeout of one attempt; a claim lasts longer than this.
pub const MAX_TIMEOUT_SECS: u64 = 300;
/// The most deliveries one instance sends at once.
pub const MAX_CONCURRENCY: u32 = 256;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhooksConfig {
    /// Where every event is POSTed (http or https); set with `secret`.
    pub url: Option<String>,
    /// The HMAC-SHA256 key of `url`'s signatures; never printed.
    pub secret: Option<String>,
    /// How long one attempt may take, connecting included.
    pub timeout_secs: u64,
    /// The first retry's delay; each next one doubles, up to `retry_cap_secs`.
    pub retry_first_secs: u64,
    pub retry_cap_secs: u64,
    /// A delivery not answered 2xx by then is marked failed.
    pub give_up_after_secs: u64,
    /// How many deliveries one instance sends at once.
    pub concurrency: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        let schedule = RetrySchedule::default();
        let secs = |d: chrono::Duration| u64::try_from(d.num_seconds()).unwrap_or_default();
        WebhooksConfig {
            url: None,
            secret: None,
            timeout_secs: 5,
            retry_first_secs: secs(schedule.first),
            retry_cap_secs: secs(schedule.cap),
            give_up_after_secs: secs(schedule.give_up_after),
            concurrency: 8,
        }
    }
}

impl fmt::Debug for WebhooksConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhooksConfig")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .field("retry_first_secs", &self.retry_first_secs)
            .field("retry_cap_secs", &self.retry_cap_secs)
            .field("give_up_after_secs", &self.give_up_after_secs)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

fn seconds(secs: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1_000))
}

impl WebhooksConfig {
    /// The configured endpoint, when there is one.
    pub fn endpoint(&self) -> Option<(String, WebhookSecret)> {
        match (&self.url, &self.secret) {
            (Some(url), Some(secret)) => Some((url.clone(), WebhookSecret::new(secret.clone()))),
            _ => None,
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub fn schedule(&self) -> RetrySchedule {
        RetrySchedule {
            first: seconds(self.retry_first_secs),
            cap: seconds(self.retry_cap_secs),
            give_up_after: seconds(self.give_up_after_secs),
        }
    }

    /// Every problem, one sentence each naming the key as written (`name`).
    pub fn check(&self, name: &dyn Fn(&str) -> String, problems: &mut Vec<String>) {
        let (url, secret) = ("webhooks.url", "webhooks.secret");
        match (&self.url, &self.secret) {
            (Some(_), None) | (None, Some(_)) => problems.push(format!(
                "{} and {} must be set together (the endpoint and the key its deliveries are signed with)",
                name(url),
                name(secret)
            )),
            _ => {}
        }
        if let Some(text) = &self.url {
            if !is_webhook_url(text) {
                let shown: String = text.chars().take(80).collect();
                problems.push(format!(
                    "{} must be an http or https URL; got {shown:?}",
                    name(url)
                ));
            }
        }
        if let Some(text) = &self.secret {
            // Only the length is said: the value is the signing key.
            let chars = text.chars().count();
            if chars < MIN_SECRET_CHARS || text.trim() != text {
                problems.push(format!(
                    "{} must be at least {MIN_SECRET_CHARS} characters without surrounding spaces; got {chars} characters",
                    name(secret)
                ));
            }
        }
        let mut range = |key: &str, value: u64, low: u64, high: u64, unit: &str| {
            if !(low..=high).contains(&value) {
                problems.push(format!(
                    "{} must be {unit} from {low} to {high}; got {value}",
                    name(key)
                ));
            }
        };
        let year = 366 * 86_400;
        range(
            "webhooks.timeout_secs",
            self.timeout_secs,
            1,
            MAX_TIMEOUT_SECS,
            "seconds",
        );
        range(
            "webhooks.retry_first_secs",
            self.retry_first_secs,
            1,
            year,
            "seconds",
        );
        range(
            "webhooks.retry_cap_secs",
            self.retry_cap_secs,
            1,
            year,
            "seconds",
        );
        range(
            "webhooks.give_up_after_secs",
            self.give_up_after_secs,
            1,
            10 * year,
            "seconds",
        );
        range(
            "webhooks.concurrency",
            u64::from(self.concurrency),
            1,
            u64::from(MAX_CONCURRENCY),
            "a number",
        );
        if self.retry_cap_secs < self.retry_first_secs {
            problems.push(format!(
                "{} must be at least {} ({} < {})",
                name("webhooks.retry_cap_secs"),
                name("webhooks.retry_first_secs"),
                self.retry_cap_secs,
                self.retry_first_secs
            ));
        }
    }
}

/// An absolute http(s) URL with a host: what an endpoint must be, from configuration or
/// the API (a URL that cannot be sent to would only fail for three days).
pub fn is_webhook_url(text: &str) -> bool {
    matches!(
        reqwest::Url::parse(text),
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    )
}

#[cfg(test)]
mod tests {
    // figment's Jail fixes the closure's error type; its size is not ours to choose.
    #![allow(clippy::result_large_err)]

    use super::super::Config;

    fn problems(jail_env: &[(&str, &str)]) -> Vec<String> {
        let mut lines = Vec::new();
        figment::Jail::expect_with(|jail| {
            for (name, value) in jail_env {
                jail.set_env(name, value);
            }
            if let Err(e) = Config::load() {
                lines = e.lines().map(str::to_owned).collect();
            }
            Ok(())
        });
        lines
    }

    #[test]
    fn the_configured_endpoint_loads_from_the_environment_with_its_schedule() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "PAYPORT_WEBHOOKS__URL",
                "https://shop.example/hooks/payport",
            );
            jail.set_env("PAYPORT_WEBHOOKS__SECRET", "whsec_0123456789abcdef");
            jail.set_env("PAYPORT_WEBHOOKS__RETRY_FIRST_SECS", "1");
            jail.set_env("PAYPORT_WEBHOOKS__CONCURRENCY", "2");
            let config = Config::load().map_err(figment::Error::from)?;
            let (url, secret) = config.webhooks.endpoint().expect("configured");
            assert_eq!(url, "https://shop.example/hooks/payport");
            assert_eq!(secret.expose(), "whsec_0123456789abcdef");
            assert_eq!(
                config.webhooks.schedule().first,
                chrono::Duration::seconds(1)
            );
            assert_eq!(config.webhooks.schedule().cap, chrono::Duration::hours(1));
            assert_eq!(config.webhooks.concurrency, 2);
            assert_eq!(config.webhooks.timeout_secs, 5);
            let shown = format!("{config:?}");
            assert!(!shown.contains("0123456789abcdef"), "{shown}");
            Ok(())
        });
    }

    #[test]
    fn the_defaults_are_the_documented_schedule() {
        let schedule = Config::default().webhooks.schedule();
        assert_eq!(schedule, payport_domain::webhook::RetrySchedule::default());
        assert_eq!(Config::default().webhooks.endpoint(), None);
    }

    #[test]
    fn every_webhook_problem_is_named_and_the_secret_is_not_shown() {
        let lines = problems(&[
            ("PAYPORT_WEBHOOKS__URL", "ftp://shop.example/hooks"),
            ("PAYPORT_WEBHOOKS__SECRET", "tooshortkey"),
            ("PAYPORT_WEBHOOKS__TIMEOUT_SECS", "0"),
            ("PAYPORT_WEBHOOKS__RETRY_FIRST_SECS", "100"),
            ("PAYPORT_WEBHOOKS__RETRY_CAP_SECS", "10"),
            ("PAYPORT_WEBHOOKS__CONCURRENCY", "0"),
        ]);
        for start in [
            "PAYPORT_WEBHOOKS__URL must be an http or https URL",
            "PAYPORT_WEBHOOKS__SECRET must be at least 16 characters",
            "PAYPORT_WEBHOOKS__TIMEOUT_SECS must be seconds from 1 to 300; got 0",
            "PAYPORT_WEBHOOKS__RETRY_CAP_SECS must be at least PAYPORT_WEBHOOKS__RETRY_FIRST_SECS",
            "PAYPORT_WEBHOOKS__CONCURRENCY must be a number from 1 to 256; got 0",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(start)),
                "{start}: {lines:?}"
            );
        }
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(!lines.concat().contains("tooshortkey"), "{lines:?}");
    }

    #[test]
    fn url_and_secret_go_together() {
        let lines = problems(&[("PAYPORT_WEBHOOKS__URL", "http://127.0.0.1:9000/hooks")]);
        assert_eq!(
            lines,
            vec!["PAYPORT_WEBHOOKS__URL and webhooks.secret must be set together (the endpoint and the key its deliveries are signed with)"]
        );
    }
}
