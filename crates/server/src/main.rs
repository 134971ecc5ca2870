//! The `payport` command: runs the service (the default) and its troubleshooting tools.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use payport_server::cli::{self, alipay};

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
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PAYPORT_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Reproduce and check Alipay OpenAPI signatures (RSA2/RSA).
    #[command(subcommand)]
    Alipay(AlipayTool),
}

#[derive(Subcommand)]
enum AlipayTool {
    /// stdin: a JSON object of request params (string values);
    /// stdout: {"string_to_sign", "sign"}.
    Sign {
        /// The app private key: PEM or Alipay's one-line base64, PKCS#1 or PKCS#8.
        #[arg(long)]
        private_key: PathBuf,
        #[arg(long, default_value = "RSA2")]
        sign_type: String,
    },
    /// stdin: the raw form body Alipay POSTed; stdout: {"valid", "string_to_verify"}.
    /// Exit 0 valid, 1 invalid, 2 unusable input.
    VerifyNotify {
        /// Alipay's public key: PEM or one-line base64.
        #[arg(long)]
        alipay_public_key: PathBuf,
        #[arg(long, default_value = "RSA2")]
        sign_type: String,
    },
    /// stdin: a raw gateway response body; stdout: {"valid", "signed_content"}.
    /// Exit 0 valid, 1 invalid, 2 unusable input.
    VerifyResponse {
        #[arg(long)]
        alipay_public_key: PathBuf,
        /// The API method, e.g. alipay.trade.refund (found in the body when omitted).
        #[arg(long)]
        method: Option<String>,
        #[arg(long, default_value = "RSA2")]
        sign_type: String,
    },
}

fn main() -> ExitCode {
    let command = Cli::parse().command.unwrap_or(Command::Serve {
        listen: std::env::var("PAYPORT_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into()),
    });
    match command {
        Command::Serve { listen } => serve(&listen),
        Command::Alipay(tool) => {
            let input = match cli::read_stdin() {
                Ok(input) => input,
                Err(why) => return cli::ToolOutcome::Unusable(why).finish(),
            };
            match tool {
                AlipayTool::Sign {
                    private_key,
                    sign_type,
                } => alipay::sign(&private_key, &sign_type, &input),
                AlipayTool::VerifyNotify {
                    alipay_public_key,
                    sign_type,
                } => alipay::verify_notify(&alipay_public_key, &sign_type, &input),
                AlipayTool::VerifyResponse {
                    alipay_public_key,
                    method,
                    sign_type,
                } => alipay::verify_response(
                    &alipay_public_key,
                    &sign_type,
                    method.as_deref(),
                    &input,
                ),
            }
            .finish()
        }
    }
}

fn serve(listen: &str) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("payport: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(payport_server::serve::serve(
        listen,
        |addr| tracing::info!("payport listening on http://{addr} ; try GET /healthz"),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payport: {e:#}");
            ExitCode::FAILURE
        }
    }
}
