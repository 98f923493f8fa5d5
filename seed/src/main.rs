//! `seed`: seed the harness stack and manage `.seed.env`. See README.md.
//! The run's flags are [`seed::Settings`]; this file parses, dispatches and
//! maps outcomes to exit codes (0 ok, 1 the stack is not right, 2 usage or
//! configuration).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Seed the harness stack: wait for the tenants and cp-stub, create the four
/// workspaces, check at the stub that each tenant's own provision calls
/// arrived under its org, and write .seed.env atomically (mode 0600).
///
/// Inputs come from flags, then the environment, then `.env`, then defaults.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: seed::Settings,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate an env file against .seed.env.example: missing or empty keys are named (exit 2).
    Check {
        #[command(flatten)]
        file: EnvFile,
        /// Example declaring the keys [default: .seed.env.example beside the env file, else the built-in list].
        #[arg(long)]
        example: Option<PathBuf>,
    },
    /// Remove the env file (and leftover temp files of an interrupted write).
    Clean {
        #[command(flatten)]
        file: EnvFile,
    },
}

#[derive(Debug, Args)]
struct EnvFile {
    /// The env file (the one `seed` writes).
    #[arg(long, alias = "out", env = "SEED_ENV_FILE", default_value = contract::defaults::SEED_ENV_FILE)]
    env_file: PathBuf,
}

fn main() -> ExitCode {
    // `.env` first, so clap's `env =` sees it; it never overrides the environment.
    match dotenvy::from_path(".env") {
        Ok(()) => {}
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            eprintln!("seed: .env does not parse: {e}; fix or remove it");
            return ExitCode::from(2);
        }
    }
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check { file, example }) => check(file.env_file, example),
        Some(Command::Clean { file }) => clean(file.env_file),
        None => run_seed(cli.run.into()),
    }
}

fn run_seed(config: seed::Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("seed: cannot start the tokio runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(seed::run(&config)) {
        Ok(outcome) => {
            println!("seed: {outcome}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seed: {e}");
            ExitCode::from(if e.is_config() { 2 } else { 1 })
        }
    }
}

fn check(env_file: PathBuf, example: Option<PathBuf>) -> ExitCode {
    let example = example.or_else(|| seed::default_example(&env_file));
    match seed::check(&env_file, example.as_deref()) {
        Ok(report) if report.is_ok() => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Ok(report) => {
            eprint!("{report}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("seed check: {e}");
            ExitCode::from(2)
        }
    }
}

fn clean(env_file: PathBuf) -> ExitCode {
    match seed::clean(&env_file) {
        Ok(outcome) => {
            println!("seed: {outcome}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seed clean: {e}");
            ExitCode::from(1)
        }
    }
}
