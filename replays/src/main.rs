//! `replays`: run, check and list replays; the gate; compare a CP with the stub.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match cli::Cli::parse().execute() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // `{:#}`: the error and each of its causes, `: `-separated.
            eprintln!("replays: {:#}", anyhow::Error::from(e));
            ExitCode::from(2)
        }
    }
}
