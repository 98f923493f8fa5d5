//! The command line: every command and flag (with its environment variable
//! where one fits, and one doc comment that is its help), and what each
//! command does with them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use contract::RouteId;
use replay_runner::{
    parse_duration, parse_flags, ColorChoice, EnvFile, RunOptions, Selection, Shard,
};
use replays::stack::compose::{DEFAULT_STUB_IMAGE, DEFAULT_TENANT_IMAGE};
use replays::stack::{shard_project, BuildPolicy, ComposeOptions, PublishedPorts, StackOptions};
use replays::{DriftOptions, GateOptions, RouteDrift, StackChoice};

/// The cp-harness replay runner.
///
/// Exit status: 0 all good, 1 any FAIL / ERROR / XPASS (or drift found),
/// 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "replays", version, about, long_about = None)]
pub struct Cli {
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
        #[arg(long, env = "REPLAYS_DIR", default_value = replay_runner::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// List the replays a run would select (after checking every file), with their shard.
    List(ListArgs),
    /// Print each variable the replays use, its value (secrets masked) and where it came from.
    Env {
        #[command(flatten)]
        vars: VarArgs,
        /// Replay folder (to list the variables its replays need).
        #[arg(long, env = "REPLAYS_DIR", default_value = replay_runner::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Send every contract probe to another CP base and to the stub; report shape drift.
    Drift(DriftArgs),
    /// The whole CI job: stack up (embedded or compose), seed, run every replay, down.
    ///
    /// Same output, exit codes and reports as `run`; a stack or seed failure
    /// is exit 1 with its cause. Phase timings go to stderr.
    Gate(GateArgs),
    /// Export cp-stub's journal in the format of fixtures/real-client/wire.json, secrets redacted.
    ///
    /// Run the real client against a fresh stub, then export its calls to
    /// re-record the fixture (see cp-stub/README.md, "Re-recording the real
    /// client's traffic").
    WireExport(WireExportArgs),
    /// Work with reports: merge the JSON reports of a run's shards.
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Merge the JSON reports of every shard of one run (`--shard K/N --json F`) into one.
    ///
    /// Refuses shards of different N, a shard twice or missing, and a
    /// replay in two shards (exit 2). Exit 1 when any shard failed.
    /// JUnit needs no merge: each shard's suite has its own name.
    Merge {
        /// The shards' JSON reports, one per shard, any order.
        #[arg(required = true, value_name = "JSON")]
        files: Vec<PathBuf>,
        /// Write the merged report here [default: stdout].
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Replay folder.
    #[arg(long, env = "REPLAYS_DIR", default_value = replay_runner::DEFAULT_DIR)]
    dir: PathBuf,
    /// Only replays whose name contains this text.
    #[arg(long, env = "REPLAYS_FILTER")]
    filter: Option<String>,
    /// Only the replays of shard K of N (what `run --shard K/N` runs).
    #[arg(
        long,
        env = "REPLAYS_SHARD",
        value_name = "K/N",
        conflicts_with = "shards"
    )]
    shard: Option<Shard>,
    /// Show which of N shards each replay falls in.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    shards: Option<u32>,
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
    #[command(flatten)]
    common: CommonRunArgs,
    #[command(flatten)]
    vars: VarArgs,
}

/// The flags `run` and `gate` share.
#[derive(Debug, Args)]
struct CommonRunArgs {
    /// Replay folder (*.toml and *.sh files).
    #[arg(long, env = "REPLAYS_DIR", default_value = replay_runner::DEFAULT_DIR)]
    dir: PathBuf,
    /// Run only replays whose name contains this text.
    #[arg(long, env = "REPLAYS_FILTER")]
    filter: Option<String>,
    /// Run only shard K of N (1-based, e.g. 2/4): the replays whose name's
    /// hash (FNV-1a 64, xor-folded) mod N is K-1, after --filter; the same
    /// on every machine.
    #[arg(long, env = "REPLAYS_SHARD", value_name = "K/N")]
    shard: Option<Shard>,
    /// Replays run at once; exact counter assertions stay exact (see the docs).
    #[arg(long, short = 'j', env = "REPLAYS_JOBS", default_value_t = 1)]
    jobs: usize,
    /// Start no further replay after the first FAIL / ERROR / XPASS.
    #[arg(long, env = "REPLAYS_FAIL_FAST", value_parser = parse_env_bool)]
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
    /// Write both reports into this folder, unless --junit / --json say
    /// otherwise: junit.xml and replays.json, with --shard
    /// junit-shard-K-of-N.xml and replays-shard-K-of-N.json.
    #[arg(long, env = "REPLAYS_REPORT_DIR", value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Colour: auto (terminal and no NO_COLOR), always, never.
    #[arg(long, env = "REPLAYS_COLOR", value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print only failures and result lines.
    #[arg(long, short, env = "REPLAYS_QUIET", value_parser = parse_env_bool)]
    quiet: bool,
    /// Fail, rather than skip, the reference-only (`evidence`) steps of a
    /// tenant without evidence (GET /__/tenant/cp answers 404): for runs
    /// against the reference tenant (`gate` on its embedded reference
    /// tenants always does).
    #[arg(long, env = "REPLAYS_REQUIRE_EVIDENCE", value_parser = parse_env_bool)]
    require_evidence: bool,
}

impl CommonRunArgs {
    fn options(self, env_file: EnvFile, vars: Vec<(String, String)>) -> RunOptions {
        let in_dir = self
            .report_dir
            .as_deref()
            .map(|d| replay_runner::report_dir_files(d, self.shard));
        RunOptions {
            dir: self.dir,
            env_file,
            vars,
            process_env: None,
            filter: self.filter,
            shard: self.shard,
            jobs: self.jobs.max(1),
            fail_fast: self.fail_fast,
            replay_timeout: self.timeout,
            step_timeout: self.step_timeout,
            junit: self.junit.or_else(|| in_dir.clone().map(|(j, _)| j)),
            json: self.json.or_else(|| in_dir.map(|(_, j)| j)),
            color: self.color,
            quiet: self.quiet,
            print: true,
            require_evidence: self.require_evidence,
        }
    }
}

/// Which stack `gate` brings up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StackKind {
    /// cp-stub, tenant alpha and tenant beta in this process, on 127.0.0.1 ephemeral ports.
    Embedded,
    /// compose.yml through `docker compose` (v2) or `docker-compose` (1.29).
    Compose,
}

#[derive(Debug, Args)]
struct GateArgs {
    /// The stack to bring up.
    #[arg(long, env = "REPLAYS_STACK", value_enum, default_value_t = StackKind::Embedded)]
    stack: StackKind,
    #[command(flatten)]
    common: CommonRunArgs,
    /// Overall timeout of seed (which also waits for the stack's health), e.g. 120s.
    #[arg(long, env = "SEED_TIMEOUT", default_value = "120s", value_parser = parse_duration)]
    seed_timeout: Duration,
    /// Where seed writes the env file [.seed.env in a temp folder, kept on
    /// failure; ./.seed.env with --keep-up].
    #[arg(long, env = "SEED_ENV_FILE")]
    seed_env_file: Option<PathBuf>,
    /// compose: the compose file (its folder holds docker/build-images.sh);
    /// repeat it for override files laid over it, e.g. --compose-file
    /// compose.yml --compose-file compose.real-tenant.yml (env: comma-separated).
    #[arg(
        long = "compose-file",
        env = "GATE_COMPOSE_FILE",
        default_value = "compose.yml",
        value_delimiter = ','
    )]
    compose_files: Vec<PathBuf>,
    /// Run the tenants opaque, as the real tenant answers (embedded:
    /// tenant-double --no-evidence; compose: TENANT_DOUBLE_NO_EVIDENCE=true):
    /// every replay runs, its reference-only (`evidence`) steps SKIP.
    #[arg(long, env = "GATE_OPAQUE_TENANTS", value_parser = parse_env_bool)]
    opaque_tenants: bool,
    /// compose: project name [cp-harness-gate-<pid>; cp-harness with
    /// --keep-up; either suffixed -shard-K-of-N with --shard].
    #[arg(long, env = "COMPOSE_PROJECT_NAME")]
    project: Option<String>,
    /// compose: the compose command ["docker compose" when it works, else docker-compose].
    #[arg(long, env = "COMPOSE")]
    compose_command: Option<String>,
    /// compose: when to run docker/build-images.sh.
    #[arg(long, env = "GATE_BUILD", value_enum, default_value_t = BuildPolicy::IfMissing)]
    build: BuildPolicy,
    /// compose: never build the images (same as --build never; env CP_HARNESS_NO_BUILD=1).
    #[arg(long, env = "CP_HARNESS_NO_BUILD", value_parser = parse_env_bool)]
    no_build: bool,
    /// compose: leave the stack up afterwards (env KEEP_UP=1).
    #[arg(long, env = "KEEP_UP", value_parser = parse_env_bool)]
    keep_up: bool,
    /// compose: how long the services may take to answer HTTP after `up -d`, e.g. 120s
    /// (env GATE_UP_TIMEOUT; a bare number is seconds).
    #[arg(long, env = "GATE_UP_TIMEOUT", default_value = "120s", value_parser = parse_duration)]
    up_timeout: Duration,
    /// compose: host port of cp-stub [9090; with --shard K/N 9090 + 10 × K].
    #[arg(long, env = "CP_STUB_PORT")]
    stub_port: Option<u16>,
    /// compose: host port of tenant alpha [8081; with --shard K/N 8081 + 10 × K].
    #[arg(long, env = "ALPHA_PORT")]
    alpha_port: Option<u16>,
    /// compose: host port of tenant beta [8082; with --shard K/N 8082 + 10 × K].
    #[arg(long, env = "BETA_PORT")]
    beta_port: Option<u16>,
    /// compose: the stub image.
    #[arg(long, env = "CP_STUB_IMAGE", default_value = DEFAULT_STUB_IMAGE)]
    stub_image: String,
    /// compose: the tenants' image (a real workspace-server image works too).
    #[arg(long, env = "TENANT_IMAGE", default_value = DEFAULT_TENANT_IMAGE)]
    tenant_image: String,
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
    #[arg(long = "route", value_name = "ID", value_parser = parse_route)]
    routes: Vec<RouteId>,
    /// Per-request timeout.
    #[arg(long, env = "DRIFT_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Colour: auto, always, never.
    #[arg(long, env = "REPLAYS_COLOR", value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Also write the comparison as JSON to this file.
    #[arg(long, env = "DRIFT_JSON")]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct WireExportArgs {
    /// The stub whose journal to export.
    #[arg(long, env = "CP_STUB_BASE", value_name = "URL")]
    stub: String,
    /// A workspace id to write as `{workspace_id}` in paths and bodies; repeatable.
    #[arg(long = "workspace", value_name = "ID")]
    workspaces: Vec<String>,
    /// Only the calls journaled under this org.
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// Write the JSON to this file [default: stdout].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
}

/// Why a command could not run (exit status 2). Each variant is the
/// library's own error, so the printed cause chain is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A `--var` flag or the env file.
    #[error(transparent)]
    Vars(#[from] replay_runner::VarsError),
    /// `run` could not start or finish.
    #[error(transparent)]
    Run(#[from] replay_runner::RunError),
    /// `drift` could not run.
    #[error(transparent)]
    Drift(#[from] replays::DriftError),
    /// `wire-export` could not read the journal.
    #[error(transparent)]
    WireExport(#[from] replays::WireExportError),
    /// The embedded stub of `drift` did not start.
    #[error(transparent)]
    Stub(#[from] cp_stub::StubError),
    /// `report merge`: the reports are not the shards of one run.
    #[error(transparent)]
    Merge(#[from] replay_runner::MergeError),
    /// A compose shard has no ports of its own.
    #[error(transparent)]
    ComposeShard(#[from] replays::stack::ComposeShardError),
    /// A report to merge could not be read.
    #[error("cannot read {path}: {reason}")]
    ReadReport {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The async runtime could not start.
    #[error(transparent)]
    Runtime(#[from] std::io::Error),
    /// A `--header` is not `Name: value`.
    #[error("bad --header `{0}`: write \"Name: value\"")]
    BadHeader(String),
    /// The `--json` report of `drift`, or the `--out` file of `wire-export`, could not be written.
    #[error("cannot write {path}: {reason}")]
    WriteJson {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A flag's environment value: 1/0, true/false, yes/no, on/off; empty = off.
fn parse_env_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" | "n" | "f" => Ok(false),
        "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
        other => Err(format!("`{other}` is not a boolean (use 1 or 0)")),
    }
}

/// A `--route`: a route id of the contract.
fn parse_route(s: &str) -> Result<RouteId, String> {
    s.parse::<RouteId>().map_err(|_| {
        let ids = RouteId::ALL.map(RouteId::as_str);
        format!("unknown route `{s}` (routes: {})", ids.join(", "))
    })
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

impl Cli {
    /// Run the command; the exit status.
    pub fn execute(self) -> Result<u8, CliError> {
        match self.command {
            Command::Check { dir } => Ok(check(&dir)),
            Command::List(a) => list(a),
            Command::Env { vars, dir } => {
                let flags = parse_flags(&vars.vars)?;
                let text = replays::env_listing(
                    &vars.env_file(),
                    &flags,
                    &dir,
                    std::env::vars().collect(),
                )?;
                print!("{text}");
                Ok(0)
            }
            Command::Run(a) => {
                let opts = a
                    .common
                    .options(a.vars.env_file(), parse_flags(&a.vars.vars)?);
                let summary = runtime()?.block_on(replay_runner::run(&opts))?;
                Ok(u8::try_from(summary.exit_code()).unwrap_or(1))
            }
            Command::Gate(a) => gate(a),
            Command::Drift(a) => drift(a),
            Command::WireExport(a) => wire_export(a),
            Command::Report(ReportCommand::Merge { files, out }) => merge(&files, out),
        }
    }
}

fn check(dir: &std::path::Path) -> u8 {
    match replay_runner::check(dir) {
        Ok(s) => {
            println!(
                "{}: {} replay file{} ok ({} toml, {} sh)",
                dir.display(),
                s.toml + s.shell,
                if s.toml + s.shell == 1 { "" } else { "s" },
                s.toml,
                s.shell
            );
            0
        }
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}

fn list(a: ListArgs) -> Result<u8, CliError> {
    let opts = RunOptions {
        dir: a.dir,
        filter: a.filter,
        ..RunOptions::default()
    };
    let selection = Selection::new(replay_runner::select(&opts)?, a.shard);
    if let Some(note) = selection.note() {
        println!("{note}");
    }
    let count = a.shards.or(a.shard.map(Shard::count));
    let width = selection
        .replays
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0);
    for r in &selection.replays {
        let shard = count.map_or(String::new(), |n| {
            format!("  shard {}/{n}", Shard::of(&r.name, n))
        });
        println!("{:width$}{shard}  {}", r.name, r.path.display());
    }
    Ok(0)
}

fn gate(a: GateArgs) -> Result<u8, CliError> {
    let shard = a.common.shard;
    let mut files = a.compose_files.into_iter();
    let compose_file = files.next().unwrap_or_else(|| PathBuf::from("compose.yml"));
    let stack = match a.stack {
        StackKind::Embedded => StackChoice::Embedded(StackOptions {
            opaque_tenants: a.opaque_tenants,
            ..StackOptions::default()
        }),
        StackKind::Compose => StackChoice::Compose(ComposeOptions {
            project: a
                .project
                .filter(|p| !p.trim().is_empty())
                .unwrap_or_else(|| shard_project(a.keep_up, shard)),
            compose_file,
            extra_compose_files: files.collect(),
            opaque_tenants: a.opaque_tenants,
            command: a.compose_command.filter(|c| !c.trim().is_empty()),
            build: if a.no_build {
                BuildPolicy::Never
            } else {
                a.build
            },
            keep_up: a.keep_up,
            up_timeout: a.up_timeout,
            stub_port: a
                .stub_port
                .map_or_else(|| ports(shard).map(|p| p.stub), Ok)?,
            alpha_port: a
                .alpha_port
                .map_or_else(|| ports(shard).map(|p| p.alpha), Ok)?,
            beta_port: a
                .beta_port
                .map_or_else(|| ports(shard).map(|p| p.beta), Ok)?,
            stub_image: a.stub_image,
            tenant_image: a.tenant_image,
            progress: true,
        }),
    };
    let keep_up = matches!(&stack, StackChoice::Compose(o) if o.keep_up);
    let opts = GateOptions {
        stack,
        run: a.common.options(EnvFile::Disabled, Vec::new()),
        seed_timeout: a.seed_timeout,
        // A stack left up keeps its .seed.env where `replays run` looks.
        seed_env_file: a
            .seed_env_file
            .or_else(|| keep_up.then(|| PathBuf::from(contract::defaults::SEED_ENV_FILE))),
        progress: true,
    };
    match runtime()?.block_on(replays::gate(&opts)) {
        Ok(outcome) => Ok(u8::try_from(outcome.exit_code).unwrap_or(1)),
        Err(e) => {
            eprintln!("replays gate: {e}");
            Ok(2)
        }
    }
}

/// compose.yml's published ports for this shard.
fn ports(shard: Option<Shard>) -> Result<PublishedPorts, CliError> {
    Ok(PublishedPorts::for_shard(shard)?)
}

fn merge(files: &[PathBuf], out: Option<PathBuf>) -> Result<u8, CliError> {
    let inputs = files
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|text| (p.clone(), text))
                .map_err(|e| CliError::ReadReport {
                    path: p.clone(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let merged = replay_runner::merge_json(&inputs)?;
    let mut text = merged.json;
    text.push('\n');
    match &out {
        Some(p) => std::fs::write(p, text).map_err(|e| CliError::WriteJson {
            path: p.clone(),
            reason: e.to_string(),
        })?,
        None => print!("{text}"),
    }
    let c = merged.counts;
    eprintln!(
        "replays report merge: {} shards: {} passed, {} failed, {} skipped (of {} total){}",
        merged.shards,
        c.passed(),
        c.failed(),
        c.skipped(),
        c.total(),
        out.map_or(String::new(), |p| format!("; wrote {}", p.display()))
    );
    Ok(u8::try_from(merged.exit_code).unwrap_or(1))
}

fn drift(a: DriftArgs) -> Result<u8, CliError> {
    let headers = a
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| CliError::BadHeader(h.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
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
    let opts = DriftOptions {
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
    let style = replay_runner::Style {
        color: a.color.enabled(),
        quiet: false,
    };
    print!("{}", replays::render_drift(&opts, &results, &style));
    if let Some(p) = a.json {
        let write = serde_json::to_string_pretty(&results)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(&p, text).map_err(|e| e.to_string()));
        write.map_err(|reason| CliError::WriteJson { path: p, reason })?;
    }
    Ok(u8::from(results.iter().any(RouteDrift::differs)))
}

fn wire_export(a: WireExportArgs) -> Result<u8, CliError> {
    let opts = replays::WireExportOptions {
        stub: a.stub,
        workspaces: a.workspaces,
        org: a.org,
        timeout: a.timeout,
        page_size: replays::DEFAULT_PAGE_SIZE,
    };
    let export = runtime()?.block_on(replays::wire_export(&opts))?;
    if export.dropped > 0 {
        eprintln!(
            "replays wire-export: the stub's journal dropped {} older entries (it was full): the export lacks them; raise CP_STUB_JOURNAL_CAPACITY or reset the stub before recording",
            export.dropped
        );
    }
    let mut text = serde_json::to_string_pretty(&export.file).map_err(|e| CliError::WriteJson {
        path: a.out.clone().unwrap_or_else(|| PathBuf::from("-")),
        reason: e.to_string(),
    })?;
    text.push('\n');
    match a.out {
        Some(p) => std::fs::write(&p, text).map_err(|e| CliError::WriteJson {
            path: p,
            reason: e.to_string(),
        })?,
        None => print!("{text}"),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_bools_like_the_bash_gate() {
        for on in ["1", "true", "YES", "on"] {
            assert_eq!(parse_env_bool(on), Ok(true), "{on}");
        }
        for off in ["", "0", "false", "no", "off"] {
            assert_eq!(parse_env_bool(off), Ok(false), "{off:?}");
        }
        assert!(parse_env_bool("maybe").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn shard_flags_parse_and_name_bad_values() {
        use clap::Parser as _;
        let cli =
            Cli::try_parse_from(["replays", "run", "--shard", "2/4", "--report-dir", "r"]).unwrap();
        let Command::Run(a) = cli.command else {
            panic!("not run")
        };
        let opts = a.common.options(EnvFile::Disabled, Vec::new());
        assert_eq!(opts.shard.map(|s| s.to_string()).as_deref(), Some("2/4"));
        assert_eq!(opts.junit, Some(PathBuf::from("r/junit-shard-2-of-4.xml")));
        assert_eq!(
            opts.json,
            Some(PathBuf::from("r/replays-shard-2-of-4.json"))
        );
        for (bad, says) in [
            ("0/3", "shard 0/3: K must be between 1 and 3"),
            ("4/3", "shard 4/3: K must be between 1 and 3"),
            ("x/y", "`x/y` is not a shard: write K/N"),
        ] {
            let e = Cli::try_parse_from(["replays", "gate", "--shard", bad]).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn routes_parse_into_ids() {
        assert_eq!(parse_route("provision"), Ok(RouteId::Provision));
        assert!(parse_route("provision_calls")
            .unwrap_err()
            .starts_with("unknown route `provision_calls` (routes: provision, "));
    }
}
