//! `replays`: run, check and list replays; compare a CP with the stub.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use replays::format::duration::parse_duration;
use replays::runner::vars::parse_flags;
use replays::{ColorChoice, EnvFile};

/// The cp-harness replay runner.
///
/// Exit status: 0 all good, 1 any FAIL / ERROR / XPASS (or drift found),
/// 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "replays", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run replays and report PASS / FAIL / ERROR / SKIP / XFAIL / XPASS.
    Run(RunArgs),
    /// Validate replay files without running them (exit 2 on any error).
    Check {
        /// Replay folder.
        #[arg(long, env = "REPLAYS_DIR", default_value = replays::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Print each variable the replays use, its value (secrets masked) and where it came from.
    Env {
        #[command(flatten)]
        vars: VarArgs,
        /// Replay folder (to list the variables its replays need).
        #[arg(long, env = "REPLAYS_DIR", default_value = replays::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Send every contract probe to another CP base and to the stub; report shape drift.
    Drift(DriftArgs),
}

#[derive(Debug, Args)]
struct VarArgs {
    /// Env file to read variables from (default: .seed.env when it exists).
    #[arg(long, env = "REPLAYS_ENV_FILE", conflicts_with = "no_env_file")]
    env_file: Option<PathBuf>,
    /// Do not read any env file.
    #[arg(long)]
    no_env_file: bool,
    /// Set a variable (highest precedence after built-ins); repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
}

impl VarArgs {
    fn env_file(&self) -> EnvFile {
        match (&self.env_file, self.no_env_file) {
            (_, true) => EnvFile::Disabled,
            (Some(p), _) => EnvFile::Path(p.clone()),
            (None, _) => EnvFile::Default,
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Replay folder (*.toml and *.sh files).
    #[arg(long, env = "REPLAYS_DIR", default_value = replays::DEFAULT_DIR)]
    dir: PathBuf,
    #[command(flatten)]
    vars: VarArgs,
    /// Run only replays whose name contains this text.
    #[arg(long, env = "REPLAYS_FILTER")]
    filter: Option<String>,
    /// Replays run at once; exact counter assertions stay exact (see the docs).
    #[arg(long, short = 'j', env = "REPLAYS_JOBS", default_value_t = 1)]
    jobs: usize,
    /// Start no further replay after the first FAIL / ERROR / XPASS.
    #[arg(long)]
    fail_fast: bool,
    /// Per-replay timeout, e.g. 60s.
    #[arg(long, env = "REPLAYS_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    /// Per-step (per-request) timeout, e.g. 10s.
    #[arg(long, env = "REPLAYS_STEP_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    step_timeout: Duration,
    /// Write a JUnit XML report to this file.
    #[arg(long, env = "REPLAYS_JUNIT")]
    junit: Option<PathBuf>,
    /// Write a JSON report to this file.
    #[arg(long, env = "REPLAYS_JSON")]
    json: Option<PathBuf>,
    /// Colour: auto (terminal and no NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print only failures and result lines.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct DriftArgs {
    /// The CP base URL to examine (a real or staging CP, or a recording).
    #[arg(long, env = "DRIFT_AGAINST")]
    against: String,
    /// The stub to compare with (default: an embedded cp-stub on an ephemeral loopback port).
    #[arg(long, env = "CP_STUB_BASE")]
    stub: Option<String>,
    /// Org id the probes use.
    #[arg(long, env = "DRIFT_ORG", default_value = "org-drift-probe")]
    org: String,
    /// Workspace id the probes use.
    #[arg(long, env = "DRIFT_WORKSPACE", default_value = "ws-drift-probe")]
    workspace: String,
    /// Header sent to the target (e.g. credentials), "Name: value"; repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Probe only this route id; repeatable.
    #[arg(long = "route")]
    routes: Vec<String>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Colour: auto, always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Also write the comparison as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("replays: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn real_main(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check { dir } => match replays::check(&dir) {
            Ok(s) => {
                println!(
                    "{}: {} replay file{} ok ({} toml, {} sh)",
                    dir.display(),
                    s.toml + s.shell,
                    if s.toml + s.shell == 1 { "" } else { "s" },
                    s.toml,
                    s.shell
                );
                Ok(0)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(2)
            }
        },
        Command::Env { vars, dir } => {
            let flags = parse_flags(&vars.vars)?;
            let text =
                replays::env_listing(&vars.env_file(), &flags, &dir, std::env::vars().collect())?;
            print!("{text}");
            Ok(0)
        }
        Command::Run(a) => {
            let opts = replays::RunOptions {
                dir: a.dir,
                env_file: a.vars.env_file(),
                vars: parse_flags(&a.vars.vars)?,
                process_env: None,
                filter: a.filter,
                jobs: a.jobs.max(1),
                fail_fast: a.fail_fast,
                replay_timeout: a.timeout,
                step_timeout: a.step_timeout,
                junit: a.junit,
                json: a.json,
                color: a.color,
                quiet: a.quiet,
                print: true,
            };
            let summary = runtime()?.block_on(replays::run(&opts))?;
            Ok(u8::try_from(summary.exit_code()).unwrap_or(1))
        }
        Command::Drift(a) => {
            let headers = a
                .headers
                .iter()
                .map(|h| {
                    h.split_once(':')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .ok_or_else(|| anyhow::anyhow!("bad --header `{h}`: write \"Name: value\""))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let rt = runtime()?;
            // Without --stub, compare with this build's own stub, in-process.
            let embedded = match &a.stub {
                Some(_) => None,
                None => Some(rt.block_on(cp_stub::start(cp_stub::Config {
                    port: 0,
                    ..Default::default()
                }))?),
            };
            let stub = match &a.stub {
                Some(s) => s.clone(),
                None => embedded
                    .as_ref()
                    .map(cp_stub::Stub::base_url)
                    .unwrap_or_default(),
            };
            let opts = replays::DriftOptions {
                against: a.against,
                stub,
                org: a.org,
                workspace: a.workspace,
                headers,
                routes: a.routes,
                timeout: a.timeout,
            };
            let results = rt.block_on(replays::drift(&opts));
            if let Some(e) = embedded {
                rt.block_on(e.shutdown());
            }
            let results = results?;
            let style = replays::report::text::Style {
                color: a.color.enabled(),
                quiet: false,
            };
            print!("{}", replays::drift::render(&opts, &results, &style));
            if let Some(p) = a.json {
                std::fs::write(&p, serde_json::to_string_pretty(&results)?)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
            }
            Ok(u8::from(results.iter().any(replays::RouteDrift::differs)))
        }
    }
}
