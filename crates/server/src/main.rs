//! The `payport` command: runs the service (the default) and its troubleshooting tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use payport_server::cli::{self, alipay};
use payport_server::config::Config;

#[derive(Parser)]
#[command(
    name = "payport",
    version,
    about = "Alipay payments and refunds service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default when no command is given).
    /// Configured by payport.toml and PAYPORT_* variables (see the README).
    Serve,
    /// Create or update the database schema, then exit (also done at every start).
    Migrate {
        /// Overrides PAYPORT_DATABASE_URL / database_url.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Print the OpenAPI document of the HTTP API (committed as openapi/payport.json).
    Openapi,
    /// Check one Beijing day's books against Alipay's trade bill now, with the
    /// configuration `serve` uses, and print the report as JSON. Exit 0 completed,
    /// 3 pending (the bill is not available yet), 1 failed, 2 unusable configuration
    /// or date.
    Reconcile {
        /// The Beijing date, YYYY-MM-DD.
        #[arg(long)]
        date: String,
    },
    /// Run the offline Alipay simulator alone (OpenAPI and legacy mapi gateways).
    Sim {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// A folder with other keys under the DEV key files' names (default: the DEV
        /// keys built into the binary).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Keep the simulator's books in this JSON file across restarts.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Seed of every generated id (same seed, same ids); fresh at every start
        /// when absent, so a restart never repeats ids.
        #[arg(long)]
        seed: Option<u64>,
        /// Milliseconds one minute of Alipay's notification retry schedule lasts.
        #[arg(long, default_value_t = 60_000)]
        notify_minute_ms: u64,
        /// JSON faults in force from the start, e.g.
        /// {"methods":{"alipay.trade.refund":{"kind":"system_error","performed":true}}}
        #[arg(long)]
        faults: Option<PathBuf>,
        /// Certificate mode: every OpenAPI request must carry the app_cert_sn and
        /// alipay_root_cert_sn of the DEV certificates (keys/README.md; from --keys
        /// when given), and answers carry alipay_cert_sn.
        #[arg(long)]
        cert_mode: bool,
    },
    /// Reproduce and check legacy mapi MD5 signatures.
    #[command(subcommand)]
    Mapi(MapiTool),
    /// Reproduce and check Alipay OpenAPI signatures (RSA2/RSA) and certificate SNs.
    #[command(subcommand)]
    Alipay(AlipayTool),
    /// Check payport's webhook signatures as a receiver does.
    #[command(subcommand)]
    Webhook(WebhookTool),
}

#[derive(Subcommand)]
enum WebhookTool {
    /// stdin: the raw body of a delivery; stdout: {"valid", "t"} or {"valid": false,
    /// "reason", "message"}. Exit 0 valid, 1 invalid, 2 unusable input.
    Verify {
        /// The endpoint's secret (whsec_...).
        #[arg(long)]
        secret: String,
        /// The Payport-Signature header: t=<unix seconds>,v1=<hex>.
        #[arg(long)]
        signature: String,
        /// Seconds t may be from now; 0 accepts any age.
        #[arg(long, default_value_t = payport_webhooks::signature::DEFAULT_TOLERANCE_SECS)]
        tolerance: u64,
    },
}

#[derive(Subcommand)]
enum MapiTool {
    /// stdin: a JSON object of request params (string values);
    /// stdout: {"string_to_sign", "sign"} (lowercase MD5 hex).
    Sign {
        /// A file holding the partner's MD5 key.
        #[arg(long)]
        key_file: PathBuf,
    },
    /// stdin: the raw form body of a batch_refund_notify; stdout: {"valid",
    /// "string_to_verify"}. Checks the MD5 signature only (no notify_verify call).
    /// Exit 0 valid, 1 invalid, 2 unusable input.
    VerifyNotify {
        #[arg(long)]
        key_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AlipayTool {
    /// stdin: a JSON object of request params (string values);
    /// stdout: {"string_to_sign", "sign"}. With --app-cert and --alipay-root-cert
    /// (certificate mode), app_cert_sn and alipay_root_cert_sn are signed too.
    Sign {
        /// The app private key: PEM or Alipay's one-line base64, PKCS#1 or PKCS#8.
        #[arg(long)]
        private_key: PathBuf,
        /// The app's certificate (appCertPublicKey_*.crt), PEM or DER.
        #[arg(long, requires = "alipay_root_cert")]
        app_cert: Option<PathBuf>,
        /// Alipay's root certificate bundle (alipayRootCert.crt).
        #[arg(long, requires = "app_cert")]
        alipay_root_cert: Option<PathBuf>,
        #[arg(long, default_value = "RSA2")]
        sign_type: String,
    },
    /// stdin: the raw form body Alipay POSTed; stdout: {"valid", "string_to_verify"}.
    /// Exit 0 valid, 1 invalid, 2 unusable input.
    #[command(group(alipay_key_group()))]
    VerifyNotify {
        /// Alipay's public key: PEM or one-line base64 (public key mode).
        #[arg(long)]
        alipay_public_key: Option<PathBuf>,
        /// Alipay's certificate, PEM (alipayCertPublicKey_RSA2.crt; certificate mode).
        #[arg(long)]
        alipay_cert: Option<PathBuf>,
        #[arg(long, default_value = "RSA2")]
        sign_type: String,
    },
    /// stdin: a raw gateway response body; stdout: {"valid", "signed_content"}, and with
    /// --alipay-cert the answer's alipay_cert_sn and the certificate's cert_sn.
    /// Exit 0 valid, 1 invalid, 2 unusable input.
    #[command(group(alipay_key_group()))]
    VerifyResponse {
        /// Alipay's public key: PEM or one-line base64 (public key mode).
        #[arg(long)]
        alipay_public_key: Option<PathBuf>,
        /// Alipay's certificate, PEM (alipayCertPublicKey_RSA2.crt; certificate mode).
        #[arg(long)]
        alipay_cert: Option<PathBuf>,
        /// The API method, e.g. alipay.trade.refund (found in the body when omitted).
        #[arg(long)]
        method: Option<String>,
        #[arg(long, default_value = "RSA2")]
        sign_type: String,
    },
    /// The SN of a certificate (app_cert_sn, alipay_cert_sn) with the issuer string it
    /// hashes, or of a root bundle (alipay_root_cert_sn) with each certificate included
    /// or skipped, and why. Exit 0 done, 1 no RSA root in the bundle, 2 unusable input.
    #[command(group(clap::ArgGroup::new("file").required(true).args(["cert", "root_cert"])))]
    CertSn {
        /// A certificate, PEM or DER (appCertPublicKey_*.crt, alipayCertPublicKey_RSA2.crt);
        /// of a chain, the first.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// Alipay's root certificate bundle (alipayRootCert.crt).
        #[arg(long)]
        root_cert: Option<PathBuf>,
    },
}

/// Alipay's key comes from exactly one of a public key and a certificate.
fn alipay_key_group() -> clap::ArgGroup {
    clap::ArgGroup::new("alipay_key")
        .required(true)
        .args(["alipay_public_key", "alipay_cert"])
}

/// The configuration, or exit code 2 with every problem on stderr, one line each.
fn load_config() -> Result<Config, ExitCode> {
    Config::load().map_err(|problems| {
        eprintln!("payport: the configuration cannot start:");
        for problem in problems.lines() {
            eprintln!("payport:   {problem}");
        }
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    payport_server::malloc::cap_arenas();
    // A test build stops at the crash points `FAILPOINTS` names, for as long as it runs.
    #[cfg(feature = "failpoints")]
    let _crash_points = {
        // Said out loud: a binary that dies on purpose must never pass for a normal one.
        if let Some(armed) = std::env::var_os("FAILPOINTS").filter(|v| !v.is_empty()) {
            eprintln!("payport: a test build with crash points armed: FAILPOINTS={armed:?}");
        }
        payport_domain::crash_points::arm_from_env()
    };
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => match load_config() {
            Ok(config) => serve(&config),
            Err(code) => code,
        },
        Command::Migrate { database_url } => match (database_url, load_config()) {
            (Some(url), _) => migrate(&url),
            (None, Ok(config)) => migrate(&config.database_url),
            (None, Err(code)) => code,
        },
        Command::Openapi => match cli::print_stdout(&payport_server::api::spec_json()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("payport: cannot write the document: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Reconcile { date } => match (cli::reconcile::parse(&date), load_config()) {
            (Err(why), _) => cli::ToolOutcome::Unusable(why).finish(),
            (Ok(_), Err(code)) => code,
            (Ok(date), Ok(config)) => reconcile(&config, date),
        },
        Command::Sim {
            listen,
            keys,
            state,
            seed,
            notify_minute_ms,
            faults,
            cert_mode,
        } => {
            let options = cli::sim::SimOptions {
                listen,
                keys,
                state,
                seed,
                notify_minute_ms,
                faults,
                cert_mode,
            };
            run_sim(&options)
        }
        Command::Mapi(tool) => {
            let input = match cli::read_stdin() {
                Ok(input) => input,
                Err(why) => return cli::ToolOutcome::Unusable(why).finish(),
            };
            match tool {
                MapiTool::Sign { key_file } => cli::mapi::sign(&key_file, &input),
                MapiTool::VerifyNotify { key_file } => cli::mapi::verify_notify(&key_file, &input),
            }
            .finish()
        }
        Command::Webhook(WebhookTool::Verify {
            secret,
            signature,
            tolerance,
        }) => {
            let input = match cli::read_stdin() {
                Ok(input) => input,
                Err(why) => return cli::ToolOutcome::Unusable(why).finish(),
            };
            let now = chrono::Utc::now().timestamp();
            cli::webhook::verify(&secret, &signature, tolerance, now, &input).finish()
        }
        // Reads files only: standard input is left alone.
        Command::Alipay(AlipayTool::CertSn { cert, root_cert }) => {
            cli::cert_sn::run(cert.as_deref(), root_cert.as_deref()).finish()
        }
        Command::Alipay(tool) => {
            let input = match cli::read_stdin() {
                Ok(input) => input,
                Err(why) => return cli::ToolOutcome::Unusable(why).finish(),
            };
            match tool {
                AlipayTool::Sign {
                    private_key,
                    app_cert,
                    alipay_root_cert,
                    sign_type,
                } => {
                    let certs = app_cert.as_deref().zip(alipay_root_cert.as_deref()).map(
                        |(app_cert, alipay_root_cert)| alipay::RequestCerts {
                            app_cert,
                            alipay_root_cert,
                        },
                    );
                    alipay::sign(&private_key, certs.as_ref(), &sign_type, &input)
                }
                AlipayTool::VerifyNotify {
                    alipay_public_key,
                    alipay_cert,
                    sign_type,
                } => match alipay::AlipayKey::of(
                    alipay_public_key.as_deref(),
                    alipay_cert.as_deref(),
                ) {
                    Ok(key) => alipay::verify_notify(&key, &sign_type, &input),
                    Err(unusable) => unusable,
                },
                AlipayTool::VerifyResponse {
                    alipay_public_key,
                    alipay_cert,
                    method,
                    sign_type,
                } => match alipay::AlipayKey::of(
                    alipay_public_key.as_deref(),
                    alipay_cert.as_deref(),
                ) {
                    Ok(key) => alipay::verify_response(&key, &sign_type, method.as_deref(), &input),
                    Err(unusable) => unusable,
                },
                // Answered above, without reading stdin; here only to keep the match
                // complete.
                AlipayTool::CertSn { cert, root_cert } => {
                    cli::cert_sn::run(cert.as_deref(), root_cert.as_deref())
                }
            }
            .finish()
        }
    }
}

fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())
}

/// Logs on stderr, plain: for a command whose stdout is its JSON answer.
fn init_logs_on_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
}

/// `PAYPORT_LOG_FORMAT`: `json` for one JSON object per line, `text` (the default)
/// for people.
fn json_logs() -> Result<bool, ExitCode> {
    match std::env::var("PAYPORT_LOG_FORMAT").as_deref() {
        Err(_) | Ok("" | "text") => Ok(false),
        Ok("json") => Ok(true),
        Ok(other) => {
            let shown: String = other.chars().take(40).collect();
            eprintln!("payport: PAYPORT_LOG_FORMAT must be text or json; got {shown:?}");
            Err(ExitCode::from(2))
        }
    }
}

fn init_logs() -> Result<(), ExitCode> {
    use std::io::IsTerminal;
    let logs = tracing_subscriber::fmt().with_env_filter(log_filter());
    if json_logs()? {
        // Fields at the top level (`request_id`, `route`, `status`, `ms` ...), and the
        // spans the line was logged in (the request with its id, the Alipay call or
        // the transaction): what log pipelines index without parsing text.
        logs.json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init();
    } else {
        // Colour codes only for a person at a terminal who did not opt out
        // (no-color.org), never into files or pipes.
        logs.with_ansi(
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .init();
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("payport: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

fn run_sim(options: &cli::sim::SimOptions) -> ExitCode {
    if let Err(code) = init_logs() {
        return code;
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(async { cli::sim::run(options, stop_requested()).await }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payport: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM (what service managers and orchestrators send) or Ctrl-C.
/// SIGTERM is caught from the call on (inside the runtime), so that one arriving while
/// payport starts still stops it gracefully.
fn stop_requested() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| tracing::warn!(error = %e, "cannot catch SIGTERM; only Ctrl-C stops payport gracefully"))
        .ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn migrate(database_url: &str) -> ExitCode {
    if let Err(code) = init_logs() {
        return code;
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(payport_server::wiring::open_store(database_url)) {
        Ok(_) => {
            let done = format!(
                "database {} is up to date",
                payport_server::wiring::redact(database_url)
            );
            match cli::print_stdout(&done) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Err(e) => {
            eprintln!("payport: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn reconcile(config: &Config, date: chrono::NaiveDate) -> ExitCode {
    init_logs_on_stderr();
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(cli::reconcile::run(config, date)) {
        Ok(report) => cli::reconcile::finish(report),
        Err(e) => {
            eprintln!("payport: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: &Config) -> ExitCode {
    if let Err(code) = init_logs() {
        return code;
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let served = runtime.block_on(async {
        let stop = stop_requested();
        payport_server::serve::serve(
            config,
            |addr, wired| payport_server::serve::announce(addr, config, wired),
            stop,
        )
        .await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payport: {e:#}");
            ExitCode::FAILURE
        }
    }
}
