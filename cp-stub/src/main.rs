//! `cp-stub`: the CP stand-in server. See `cp-stub/README.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cp-stub",
    version,
    about = "The control-plane stand-in of cp-harness: every CP contract route, counters, journal, faults and an admin API under /__/stub/.",
    after_help = "Precedence: command-line flags, then environment variables, then the --config file, then defaults."
)]
struct Cli {
    #[command(flatten)]
    settings: cp_stub::Settings,
    /// TOML file holding any of the settings (keys are the flag names with `_`,
    /// e.g. instance_prefix); unknown keys are an error
    #[arg(long, env = "CP_STUB_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exit 0 when GET /healthz answers 200 {"status":"ok"}, else 1 (for images with no shell).
    Healthcheck {
        /// URL to probe [default: `http://127.0.0.1:<PORT or 9090>/healthz`]
        #[arg(long, env = "CP_STUB_HEALTHCHECK_URL")]
        url: Option<String>,
        /// Connect and read timeout in ms
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck { url, timeout_ms }) = &cli.command {
        let port = cli.settings.port.unwrap_or(cp_stub::DEFAULT_PORT);
        let url = url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}/healthz"));
        return match harness_serve::healthcheck(&url, Duration::from_millis(*timeout_ms)) {
            Ok(()) => {
                println!("healthy: {url}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cp-stub healthcheck: {e}");
                ExitCode::from(1)
            }
        };
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            let config_error = matches!(
                e.downcast_ref::<cp_stub::StubError>(),
                Some(cp_stub::StubError::Config(_))
            ) || e.downcast_ref::<cp_stub::ConfigError>().is_some();
            ExitCode::from(if config_error { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cp_stub::load_config(cli.settings, cli.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(cp_stub::serve_until_signal(config))?;
    Ok(())
}
