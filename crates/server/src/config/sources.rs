//! Reading the configuration strictly: every key in `payport.toml` and every
//! `PAYPORT_*` variable must be a setting, and each value must parse. Every problem
//! is collected, one sentence each naming the key as the user wrote it, so that one
//! run shows them all.

use std::collections::BTreeMap;

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::{Figment, Profile, Provider};

use super::Config;

/// The configuration file, read from the working directory when present.
pub const CONFIG_FILE: &str = "payport.toml";

/// The prefix of the environment variables that set settings.
pub const ENV_PREFIX: &str = "PAYPORT_";

/// `PAYPORT_*` variables that are not settings but are documented elsewhere, so they
/// may be set where payport runs: `PAYPORT_TEST_PG_URL` (the test suites' PostgreSQL,
/// README "Tests"), `PAYPORT_CHROMIUM` (the CI browser check's Chromium) and
/// `PAYPORT_LOG_FORMAT` (read before the configuration, to log its problems).
pub const OTHER_VARIABLES: &[&str] = &[
    "PAYPORT_TEST_PG_URL",
    "PAYPORT_CHROMIUM",
    "PAYPORT_LOG_FORMAT",
];

/// How each setting the user set was written: `PAYPORT_ALIPAY__MODE`, or
/// `payport.toml: alipay.mode`. Settings left at their default go by their key.
#[derive(Debug, Default)]
pub struct Origins(BTreeMap<String, String>);

impl Origins {
    /// The setting `key` (dotted, `alipay.mode`) as the user wrote it.
    pub fn name(&self, key: &str) -> String {
        self.0.get(key).cloned().unwrap_or_else(|| key.to_owned())
    }
}

/// One setting as found in a source: its dotted key, value and written name.
struct Found {
    key: String,
    value: Value,
    name: String,
}

/// What was read: the configuration from every usable setting, how each was written,
/// and every problem, one line each.
pub struct Loaded {
    pub config: Config,
    pub origins: Origins,
    /// Unknown keys, unreadable files, unparsable values. Those settings are left at
    /// their defaults in `config`, so it can still be checked for more problems.
    pub problems: Vec<String>,
}

/// Defaults, then `payport.toml` (if present), then `PAYPORT_*` variables.
pub fn load() -> Loaded {
    let mut problems = Vec::new();
    let known = defaults_tree();
    let mut found = Vec::new();
    match std::fs::read_to_string(CONFIG_FILE) {
        Ok(text) => match Toml::string(&text).data() {
            Ok(data) => {
                for dict in data.values() {
                    walk_toml(dict, &known, "", &mut found, &mut problems);
                }
            }
            Err(e) => problems.push(format!(
                "{CONFIG_FILE} is not valid TOML: {}",
                without_source_lines(&e.to_string())
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => problems.push(format!("{CONFIG_FILE} cannot be read: {e}")),
    }
    read_env(&known, &mut found, &mut problems);

    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    let mut origins = Origins::default();
    for setting in &found {
        // Each value is tried alone on the defaults, so every bad one is reported,
        // not only the first that serde meets.
        let alone = Figment::from(Serialized::defaults(Config::default()))
            .merge(Serialized::global(&setting.key, &setting.value));
        origins.0.insert(setting.key.clone(), setting.name.clone());
        match alone.extract_lossy::<Config>() {
            Ok(_) => figment = figment.merge(Serialized::global(&setting.key, &setting.value)),
            Err(e) => problems.push(value_problem(&setting.name, &e)),
        }
    }
    let config = figment.extract_lossy::<Config>().unwrap_or_else(|e| {
        problems.push(format!("the configuration is not valid: {e}"));
        Config::default()
    });
    Loaded {
        config,
        origins,
        problems,
    }
}

fn value_problem(name: &str, e: &figment::Error) -> String {
    match &e.kind {
        // Payport's own value parsers write "must be ...; got ...".
        figment::error::Kind::Message(message) => format!("{name} {message}"),
        other => format!("{name} is not valid: {other}"),
    }
}

/// Every setting with its default: the tree unknown keys are checked against.
fn defaults_tree() -> Dict {
    Figment::from(Serialized::defaults(Config::default()))
        .data()
        .ok()
        .and_then(|mut data| data.remove(&Profile::Default))
        .unwrap_or_default()
}

fn walk_toml(
    user: &Dict,
    known: &Dict,
    prefix: &str,
    found: &mut Vec<Found>,
    problems: &mut Vec<String>,
) {
    for (name, value) in user {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match (known.get(name), value) {
            (None, _) => problems.push(format!(
                "{CONFIG_FILE}: {key} is not a payport setting (see the README's configuration table)"
            )),
            (Some(Value::Dict(_, known)), Value::Dict(_, user)) => {
                walk_toml(user, known, &key, found, problems);
            }
            (Some(_), _) => found.push(Found {
                name: format!("{CONFIG_FILE}: {key}"),
                key,
                value: value.clone(),
            }),
        }
    }
}

fn lookup<'a>(tree: &'a Dict, key: &str) -> Option<&'a Value> {
    let mut parts = key.split('.');
    let mut node = tree.get(parts.next()?)?;
    for part in parts {
        match node {
            Value::Dict(_, dict) => node = dict.get(part)?,
            _ => return None,
        }
    }
    Some(node)
}

/// `PAYPORT_ALIPAY__APP_ID` is `alipay.app_id`. Values are kept as raw strings:
/// guessing types would turn an all-digit app id into a number and could strip a
/// token's leading zeros; numeric settings still parse from strings.
fn read_env(known: &Dict, found: &mut Vec<Found>, problems: &mut Vec<String>) {
    let mut variables: Vec<_> = std::env::vars_os().collect();
    variables.sort();
    for (name, value) in variables {
        let name = name.to_string_lossy().into_owned();
        let Some(rest) = strip_prefix_ignoring_case(&name, ENV_PREFIX) else {
            continue;
        };
        if OTHER_VARIABLES.contains(&name.as_str()) {
            continue;
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        match lookup(known, &key) {
            Some(Value::Dict(..)) | None => {
                problems.push(format!(
                    "{name} is not a payport setting (see the README's configuration table)"
                ));
            }
            Some(_) => match value.into_string() {
                Ok(value) => found.push(Found {
                    key,
                    value: Value::from(value),
                    name,
                }),
                Err(_) => problems.push(format!("{name} is not valid UTF-8")),
            },
        }
    }
}

fn strip_prefix_ignoring_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
}

/// A TOML parse error without the source lines it quotes: the offending line may hold a
/// token or a key, and the message goes to stderr and logs. Line and column stay.
fn without_source_lines(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains('|'))
        .collect::<Vec<_>>()
        .join("; ")
}
