//! The `payport` command line: the service and its troubleshooting tools.

pub mod alipay;
pub mod cert_sn;
pub mod mapi;
pub mod reconcile;
pub mod sim;
pub mod webhook;

use std::io::{Read, Write};
use std::process::ExitCode;

/// Prints `text` and a line end on stdout. A reader that went away early
/// (`payport openapi | head -1`) is not an error: the output was not wanted.
///
/// # Errors
/// Any other write failure (a full disk, ...).
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// [`print_stdout`] for a command's answer: a failed write is exit code 1.
fn print_answer(text: &str) -> Option<ExitCode> {
    print_stdout(text).err().map(|e| {
        eprintln!("payport: cannot write the answer: {e}");
        ExitCode::FAILURE
    })
}

/// What a tool prints and how it exits: 0 valid/done, 1 invalid, 2 unusable input.
pub enum ToolOutcome {
    Done(serde_json::Value),
    Invalid(serde_json::Value),
    Unusable(String),
}

impl ToolOutcome {
    /// Prints the JSON answer on stdout (or the one-sentence error on stderr).
    pub fn finish(self) -> ExitCode {
        match self {
            ToolOutcome::Done(json) => {
                print_answer(&format!("{json:#}")).unwrap_or(ExitCode::SUCCESS)
            }
            ToolOutcome::Invalid(json) => {
                print_answer(&format!("{json:#}")).unwrap_or(ExitCode::from(1))
            }
            ToolOutcome::Unusable(why) => {
                eprintln!("payport: {why}");
                ExitCode::from(2)
            }
        }
    }
}

/// Reads all of stdin as bytes.
pub fn read_stdin() -> Result<Vec<u8>, String> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(input)
}

/// Reads a key file, naming the file in the error.
pub fn read_key_file(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
