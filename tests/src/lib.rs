//! Helpers for black-box tests: start payport in-process on a free loopback port and
//! talk to it over real HTTP, as a shop's backend would.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running payport; stops when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Holds the SQLite database; removed when the app is dropped.
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow_free::Result>>,
}

mod anyhow_free {
    /// The server's own result, kept opaque so tests need no error crate.
    pub type Result = std::result::Result<(), String>;
}

impl TestApp {
    /// Starts payport on 127.0.0.1, port chosen by the OS.
    ///
    /// # Panics
    /// When the server cannot start: the test cannot go on.
    pub async fn spawn() -> TestApp {
        let data = tempfile::tempdir().expect("temp dir");
        let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys");
        let defaults = payport_server::config::Config::default();
        let config = payport_server::config::Config {
            listen: "127.0.0.1:0".into(),
            database_url: format!("sqlite://{}", data.path().join("payport.db").display()),
            alipay: payport_server::config::AlipayConfig {
                app_private_key: keys.join("dev_app_private_pkcs8.pem"),
                alipay_public_key: keys.join("dev_alipay_public_spki.pem"),
                ..defaults.alipay.clone()
            },
            keys_dir: keys,
            ..defaults
        };
        let (bound_tx, bound_rx) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            payport_server::serve::serve(
                &config,
                move |addr, _| {
                    let _ = bound_tx.send(addr);
                },
                async move {
                    let _ = stop_rx.await;
                },
            )
            .await
            .map_err(|e| format!("{e:#}"))
        });
        let addr = bound_rx.await.expect("payport did not start");
        TestApp {
            addr,
            _data: data,
            stop: Some(stop),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server and waits for it to finish serving.
    ///
    /// # Panics
    /// When the server ended with an error.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("clean shutdown");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
