//! `seed`: seed the harness stack and manage `.seed.env`. See README.md.
//!
//! Precedence of inputs, highest first: flags, the process environment,
//! `.env` in the current directory (loaded with dotenvy, never overriding
//! the environment), built-in defaults (= compose).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

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
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate an env file against .seed.env.example: missing or empty keys are named (exit 2).
    Check(CheckArgs),
    /// Remove the env file (and leftover temp files of an interrupted write).
    Clean(CleanArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Tenant alpha's base URL.
    #[arg(long, env = "ALPHA_BASE", default_value = seed::DEFAULT_ALPHA_BASE)]
    alpha_base: String,
    /// Tenant beta's base URL.
    #[arg(long, env = "BETA_BASE", default_value = seed::DEFAULT_BETA_BASE)]
    beta_base: String,
    /// Tenant alpha's admin bearer token.
    #[arg(long, env = "ALPHA_ADMIN_TOKEN", default_value = seed::DEFAULT_ALPHA_ADMIN_TOKEN, hide_env_values = true)]
    alpha_admin_token: String,
    /// Tenant beta's admin bearer token.
    #[arg(long, env = "BETA_ADMIN_TOKEN", default_value = seed::DEFAULT_BETA_ADMIN_TOKEN, hide_env_values = true)]
    beta_admin_token: String,
    /// Tenant alpha's org id (X-Molecule-Org-Id).
    #[arg(long, env = "ALPHA_ORG_ID", default_value = seed::DEFAULT_ALPHA_ORG_ID)]
    alpha_org_id: String,
    /// Tenant beta's org id (X-Molecule-Org-Id).
    #[arg(long, env = "BETA_ORG_ID", default_value = seed::DEFAULT_BETA_ORG_ID)]
    beta_org_id: String,
    /// Host header for tenant alpha, when it sits behind a proxy.
    #[arg(long, env = "ALPHA_HOST")]
    alpha_host: Option<String>,
    /// Host header for tenant beta, when it sits behind a proxy.
    #[arg(long, env = "BETA_HOST")]
    beta_host: Option<String>,
    /// cp-stub's base URL as the replays reach it (written as CP_STUB_BASE).
    #[arg(long, env = "CP_STUB_BASE", default_value = seed::DEFAULT_CP_STUB_BASE)]
    cp_stub_base: String,
    /// Env file to write.
    #[arg(long, env = "SEED_ENV_FILE", default_value = seed::DEFAULT_OUT)]
    out: PathBuf,
    /// Overall timeout in seconds (waiting, creating and provisioning together).
    #[arg(long, env = "SEED_TIMEOUT", default_value_t = seed::DEFAULT_TIMEOUT.as_secs())]
    timeout: u64,
    /// Stack id to stamp into the file (random per run when absent).
    #[arg(long, env = "HARNESS_STACK_ID")]
    stack_id: Option<String>,
    /// No progress output (errors are still printed).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Env file to check.
    #[arg(long, env = "SEED_ENV_FILE", default_value = seed::DEFAULT_OUT)]
    env_file: PathBuf,
    /// Example declaring the keys [default: .seed.env.example beside the env file, else the built-in list].
    #[arg(long)]
    example: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct CleanArgs {
    /// Env file to remove.
    #[arg(long, alias = "out", env = "SEED_ENV_FILE", default_value = seed::DEFAULT_OUT)]
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
        Some(Command::Check(args)) => check(&args),
        Some(Command::Clean(args)) => clean(&args),
        None => run(cli.run),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let config = seed::Config {
        alpha: seed::TenantTarget {
            base: args.alpha_base,
            admin_token: args.alpha_admin_token,
            org_id: args.alpha_org_id,
            host: args.alpha_host,
        },
        beta: seed::TenantTarget {
            base: args.beta_base,
            admin_token: args.beta_admin_token,
            org_id: args.beta_org_id,
            host: args.beta_host,
        },
        cp_stub_base: args.cp_stub_base,
        out: args.out,
        timeout: Duration::from_secs(args.timeout.max(1)),
        stack_id: args.stack_id,
        progress: if args.quiet {
            seed::Progress::Quiet
        } else {
            seed::Progress::Auto
        },
        ..Default::default()
    };
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
            println!(
                "seed: wrote {} (stack {}, {}; attribution checked by {})",
                outcome.path.display(),
                outcome.stack_id,
                outcome.stamp,
                match outcome.attribution {
                    seed::Attribution::Journal => "journal",
                    seed::Attribution::Counters => "counters",
                }
            );
            for ws in &outcome.workspaces {
                println!("  {:<13} {}  {}", ws.name, ws.id, ws.instance_id);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seed: {e}");
            ExitCode::from(if e.is_config() { 2 } else { 1 })
        }
    }
}

fn check(args: &CheckArgs) -> ExitCode {
    let example = match &args.example {
        Some(p) => Some(p.clone()),
        None => {
            let dir = args
                .env_file
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let p = dir.join(".seed.env.example");
            p.exists().then_some(p)
        }
    };
    match seed::check(&args.env_file, example.as_deref()) {
        Ok(report) => {
            if report.is_ok() {
                print!("{report}");
                ExitCode::SUCCESS
            } else {
                eprint!("{report}");
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("seed check: {e}");
            ExitCode::from(2)
        }
    }
}

fn clean(args: &CleanArgs) -> ExitCode {
    match seed::clean(&args.env_file) {
        Ok(outcome) => {
            match (outcome.removed, outcome.temps_removed) {
                (true, 0) => println!("seed: removed {}", args.env_file.display()),
                (true, n) => println!(
                    "seed: removed {} and {n} leftover temp file(s)",
                    args.env_file.display()
                ),
                (false, 0) => println!(
                    "seed: {} did not exist; nothing to remove",
                    args.env_file.display()
                ),
                (false, n) => println!("seed: removed {n} leftover temp file(s)"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seed clean: {e}");
            ExitCode::from(1)
        }
    }
}
