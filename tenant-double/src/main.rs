//! `tenant-double`: the reference tenant binary. See the crate docs and README.md.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

/// The reference tenant: the tenant API plus the real tenant's CP client.
///
/// Every setting is a flag and a variable; the real tenant's variables
/// (MOLECULE_ORG_ID, ADMIN_TOKEN, CP_PROVISION_URL, MOLECULE_CP_URL, ...) are
/// how the container sets it. Empty values count as unset.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Probe GET /health on this machine (exit 0 healthy, 1 not): for images with no shell.
    Healthcheck(HealthArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    config: tenant_double::Config,
    /// Do not print log lines (they stay visible at /__/tenant/cp, unless --no-evidence).
    #[arg(long, env = "TENANT_DOUBLE_QUIET")]
    quiet: bool,
}

#[derive(Debug, Args)]
struct HealthArgs {
    /// Port the tenant listens on.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// Give up after this many ms.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Healthcheck(args)) => match healthcheck(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tenant-double healthcheck: {e:#}");
                ExitCode::from(1)
            }
        },
        None => match serve(cli.serve) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tenant-double: {e:#}");
                let config_error = e.downcast_ref::<tenant_double::ConfigError>().is_some()
                    || matches!(
                        e.downcast_ref::<tenant_double::TenantError>(),
                        Some(tenant_double::TenantError::Config(_))
                    );
                ExitCode::from(if config_error { 2 } else { 1 })
            }
        },
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.config;
    config.log = !args.quiet;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let tenant = tenant_double::start(config).await?;
        let evidence = if tenant.is_opaque() {
            "opaque: no /__/tenant/* evidence, as the real tenant"
        } else {
            "GET /__/tenant/cp for CP evidence"
        };
        eprintln!(
            "tenant-double: org {} listening on {} ({evidence})",
            tenant.org_id(),
            tenant.local_addr()
        );
        wait_for_signal().await;
        eprintln!("tenant-double: shutting down");
        tenant.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `GET /health` on this machine: 200 and `{"status":"ok"}`.
fn healthcheck(args: &HealthArgs) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}/health", args.port);
    harness_serve::healthcheck(&url, Duration::from_millis(args.timeout_ms.max(1)))?;
    Ok(())
}
