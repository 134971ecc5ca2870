//! The `payport` command line: the service and its troubleshooting tools.

pub mod alipay;
pub mod mapi;
pub mod sim;

use std::io::Read;
use std::process::ExitCode;

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
                println!("{json:#}");
                ExitCode::SUCCESS
            }
            ToolOutcome::Invalid(json) => {
                println!("{json:#}");
                ExitCode::from(1)
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
