//! The `payport` command: runs the service (default) and, later, its tools.

use clap::{Parser, Subcommand};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let command = Cli::parse().command.unwrap_or(Command::Serve {
        listen: std::env::var("PAYPORT_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into()),
    });
    match command {
        Command::Serve { listen } => {
            payport_server::serve::serve(
                &listen,
                |addr| tracing::info!("payport listening on http://{addr} ; try GET /healthz"),
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            )
            .await
        }
    }
}
