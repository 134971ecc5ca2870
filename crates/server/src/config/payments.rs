//! The `payments` settings: when payport asks Alipay whether a pending order was paid,
//! in case its payment notification never comes.

use payport_domain::payment_check;
use serde::{Deserialize, Serialize};

use super::values;

/// The first check comes at most this long after the payment started: a lost
/// notification is caught while the buyer still waits.
pub const MAX_FIRST_CHECK_SECS: u64 = 30;
/// No order stays payable longer (Alipay's 15 days): a later check finds nothing.
pub const MAX_CHECK_SECS: u64 = 15 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentsConfig {
    /// Seconds after the payment started; after the last, its gap repeats until the
    /// order expires.
    #[serde(with = "values::seconds_list")]
    pub check_after_secs: Vec<u64>,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig {
            check_after_secs: payment_check::default_offsets()
                .iter()
                .map(|d| u64::try_from(d.num_seconds()).unwrap_or_default())
                .collect(),
        }
    }
}

impl PaymentsConfig {
    /// The schedule the domain runs ([`payment_check`]).
    pub fn checks(&self) -> Vec<chrono::Duration> {
        self.check_after_secs
            .iter()
            .map(|secs| chrono::Duration::seconds(i64::try_from(*secs).unwrap_or(i64::MAX / 1_000)))
            .collect()
    }

    /// Every problem, one sentence each naming the key as written (`name`).
    pub fn check(&self, name: &dyn Fn(&str) -> String, problems: &mut Vec<String>) {
        let key = name("payments.check_after_secs");
        let secs = &self.check_after_secs;
        match secs.first() {
            None => problems.push(format!("{key} must list at least one number of seconds")),
            Some(first) if *first > MAX_FIRST_CHECK_SECS => problems.push(format!(
                "{key} must start at most {MAX_FIRST_CHECK_SECS} seconds after the payment starts; got {first}"
            )),
            Some(_) => {}
        }
        if let Some(pair) = secs.windows(2).find(|pair| pair[0] >= pair[1]) {
            problems.push(format!(
                "{key} must increase; got {} then {}",
                pair[0], pair[1]
            ));
        }
        if let Some(late) = secs.iter().find(|s| **s > MAX_CHECK_SECS) {
            problems.push(format!(
                "{key} must be at most {MAX_CHECK_SECS} seconds each (15 days, the longest an order stays payable); got {late}"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    // figment's Jail fixes the closure's error type; its size is not ours to choose.
    #![allow(clippy::result_large_err)]

    use super::super::Config;

    fn load(env: &str, file: Option<&str>) -> Result<Config, String> {
        let mut loaded = Err(String::new());
        figment::Jail::expect_with(|jail| {
            if !env.is_empty() {
                jail.set_env("PAYPORT_PAYMENTS__CHECK_AFTER_SECS", env);
            }
            if let Some(text) = file {
                jail.create_file("payport.toml", text)?;
            }
            loaded = Config::load();
            Ok(())
        });
        loaded
    }

    #[test]
    fn the_default_schedule_is_the_documented_one() {
        let config = load("", None).unwrap();
        assert_eq!(
            config.payments.check_after_secs,
            [15, 60, 120, 300, 600, 1800]
        );
        assert_eq!(
            config.payments.checks(),
            payport_domain::payment_check::default_offsets()
        );
    }

    #[test]
    fn the_schedule_loads_from_the_file_and_the_environment() {
        let file = "[payments]\ncheck_after_secs = [0, 1]\n";
        assert_eq!(
            load("", Some(file)).unwrap().payments.check_after_secs,
            [0, 1]
        );
        assert_eq!(
            load("[5, 60]", None).unwrap().payments.check_after_secs,
            [5, 60]
        );
        assert_eq!(
            load("5,60,90", None).unwrap().payments.check_after_secs,
            [5, 60, 90]
        );
    }

    #[test]
    fn every_schedule_problem_is_named() {
        let name = "PAYPORT_PAYMENTS__CHECK_AFTER_SECS";
        let problem = |env: &str| load(env, None).unwrap_err();
        assert_eq!(
            problem("[]"),
            format!("{name} must list at least one number of seconds")
        );
        assert_eq!(
            problem("[31, 60]"),
            format!("{name} must start at most 30 seconds after the payment starts; got 31")
        );
        assert_eq!(
            problem("[15, 60, 60]"),
            format!("{name} must increase; got 60 then 60")
        );
        assert!(problem("[15, 9999999]").starts_with(&format!("{name} must be at most 1296000")));
        assert!(
            problem("[15, soon]").starts_with(&format!("{name} must be a list of whole seconds"))
        );
        let file = "[payments]\ncheck_after_secs = [10, 5]\n";
        assert_eq!(
            load("", Some(file)).unwrap_err(),
            "payport.toml: payments.check_after_secs must increase; got 10 then 5"
        );
    }
}
