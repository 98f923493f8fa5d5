//! Replay files: discovery, parsing with positions, and the static checks of
//! `replays check`.
//!
//! A replay folder holds `*.toml` replays (see [`model`]) and legacy `*.sh`
//! replays (see [`shell`]). Files are taken in name order, not recursively.

pub(crate) mod counter;
pub(crate) mod duration;
pub(crate) mod jsonpath;
pub(crate) mod model;
pub(crate) mod shell;
pub(crate) mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use self::jsonpath::JsonPath;
use self::model::{ReplayDoc, Step};

/// Variables the runner defines itself.
pub(crate) const BUILTIN_VARS: &[&str] = &["REPLAY_NAME", "REPLAY_ID", "RUN_ID"];

/// One problem in a replay file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the problem is not in a file).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
        + 1;
    (line, col)
}

/// A parsed TOML replay with what the runner derived from it.
#[derive(Debug, Clone)]
pub(crate) struct TomlReplay {
    /// The document.
    pub(crate) doc: ReplayDoc,
    /// Variables needed from outside (declared `requires` plus every
    /// `${VAR}` used that no capture, local var or built-in defines).
    pub(crate) requires: BTreeSet<String>,
    /// Whether it talks to the stub's counters or admin API.
    pub(crate) needs_stub: bool,
    /// Whether it must run alone (see the crate docs, "Exact counters in parallel").
    pub(crate) exclusive: bool,
    /// Names of the steps, in order.
    pub(crate) step_names: Vec<String>,
    /// Names of the `[vars]`, in file order (the order they are resolved in).
    pub(crate) var_order: Vec<String>,
}

/// What kind of replay a file holds.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A declarative replay.
    Toml(Box<TomlReplay>),
    /// A legacy shell replay.
    Shell(shell::ShellReplay),
}

/// A replay file, loaded and checked.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Path as found.
    pub path: PathBuf,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// xfail reason.
    pub xfail: Option<String>,
    /// skip reason.
    pub skip: Option<String>,
    /// The contents.
    pub(crate) kind: Kind,
}

impl Replay {
    /// Variables needed from outside.
    pub fn requires(&self) -> BTreeSet<String> {
        match &self.kind {
            Kind::Toml(t) => t.requires.clone(),
            Kind::Shell(s) => s.requires.clone(),
        }
    }

    /// Whether it must run alone (shell replays always do: the runner cannot
    /// know what they touch).
    pub(crate) fn exclusive(&self) -> bool {
        match &self.kind {
            Kind::Toml(t) => t.exclusive,
            Kind::Shell(_) => true,
        }
    }
}

/// Errors of loading a folder.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The folder cannot be read.
    #[error(
        "cannot read replay folder {dir}: {source} (pass --dir or run from the repository root)"
    )]
    Dir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// One or more files are invalid.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
    /// The folder holds no replay file (`check` and `run` alike).
    #[error("no replay files (*.toml, *.sh) in {}: add one, or pass --dir with the folder that holds them", .0.display())]
    Empty(PathBuf),
}

fn render_diagnostics(d: &[Diagnostic]) -> String {
    let mut s: String = d.iter().map(|d| format!("{d}\n")).collect();
    s.push_str(&format!(
        "{} error{} in replay files",
        d.len(),
        if d.len() == 1 { "" } else { "s" }
    ));
    s
}

/// What [`check`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// TOML replays.
    pub toml: usize,
    /// Shell replays.
    pub shell: usize,
}

/// `replays check`: load and check every file of `dir` without running
/// anything. A folder without replays is an error, as for `run`.
pub fn check(dir: &Path) -> Result<CheckSummary, LoadError> {
    let mut s = CheckSummary::default();
    let replays = load_dir(dir)?;
    if replays.is_empty() {
        return Err(LoadError::Empty(dir.to_path_buf()));
    }
    for r in replays {
        match r.kind {
            Kind::Toml(_) => s.toml += 1,
            Kind::Shell(_) => s.shell += 1,
        }
    }
    Ok(s)
}

/// Replay files (`*.toml`, `*.sh`) of a folder, sorted by name.
pub(crate) fn replay_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let rd = std::fs::read_dir(dir).map_err(|source| LoadError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("toml") | Some("sh")
                )
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Load and check every replay of a folder. Any problem in any file fails
/// the whole load, with every diagnostic.
pub fn load_dir(dir: &Path) -> Result<Vec<Replay>, LoadError> {
    let mut replays = Vec::new();
    let mut diags = Vec::new();
    for path in replay_files(dir)? {
        match load_file(&path) {
            Ok(r) => replays.push(r),
            Err(mut d) => diags.append(&mut d),
        }
    }
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for r in &replays {
        if let Some(first) = seen.insert(&r.name, &r.path) {
            diags.push(Diagnostic {
                file: r.path.clone(),
                line: 0,
                column: 0,
                message: format!(
                    "replay name `{}` is also used by {}; names must be unique",
                    r.name,
                    first.display()
                ),
            });
        }
    }
    if diags.is_empty() {
        Ok(replays)
    } else {
        Err(LoadError::Invalid(diags))
    }
}

/// Load and check one file.
pub(crate) fn load_file(path: &Path) -> Result<Replay, Vec<Diagnostic>> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        }]
    })?;
    let src = decode(path, &bytes).map_err(|d| vec![d])?;
    if path.extension().and_then(|e| e.to_str()) == Some("sh") {
        let s = shell::parse(path, src)?;
        return Ok(Replay {
            path: path.to_path_buf(),
            name: s.name.clone(),
            description: s.description.clone(),
            tags: s.tags.clone(),
            xfail: s.xfail.clone(),
            skip: s.skip.clone(),
            kind: Kind::Shell(s),
        });
    }
    let t = parse_toml(path, src)?;
    Ok(Replay {
        path: path.to_path_buf(),
        name: t.doc.name.get_ref().clone(),
        description: t.doc.description.clone(),
        tags: t.doc.tags.clone(),
        xfail: t.doc.xfail.clone(),
        skip: t.doc.skip.clone(),
        kind: Kind::Toml(Box::new(t)),
    })
}

/// A file's text, or where its first byte that is not UTF-8 is.
pub(crate) fn decode<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // The prefix is valid by construction.
        let prefix = std::str::from_utf8(good).unwrap_or_default();
        let (line, column) = line_col(prefix, prefix.len());
        Diagnostic {
            file: path.to_path_buf(),
            line,
            column,
            message: format!(
                "not UTF-8: byte 0x{:02x} at offset {} cannot start or continue a character; save the file as UTF-8",
                bytes[e.valid_up_to()],
                e.valid_up_to()
            ),
        }
    })
}

/// Parse and check a TOML replay.
pub(crate) fn parse_toml(path: &Path, src: &str) -> Result<TomlReplay, Vec<Diagnostic>> {
    let doc: ReplayDoc = toml::from_str(src).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(src, s.start));
        vec![Diagnostic {
            file: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }]
    })?;
    Checker {
        path,
        src,
        diags: Vec::new(),
    }
    .check(doc)
}

struct Checker<'a> {
    path: &'a Path,
    src: &'a str,
    diags: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.src, span.start);
        self.diags.push(Diagnostic {
            file: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        });
    }

    /// Collect the variables of a template; report syntax errors.
    fn refs(&mut self, span: &Range<usize>, text: &str, into: &mut Vec<(String, Range<usize>)>) {
        match template::refs(text) {
            Ok(names) => into.extend(names.into_iter().map(|n| (n, span.clone()))),
            Err(e) => self.err(span.clone(), e),
        }
    }

    fn value_refs(
        &mut self,
        span: &Range<usize>,
        v: &toml::Value,
        into: &mut Vec<(String, Range<usize>)>,
    ) {
        match v {
            toml::Value::String(s) => self.refs(span, s, into),
            toml::Value::Array(a) => a.iter().for_each(|x| self.value_refs(span, x, into)),
            toml::Value::Table(t) => t.values().for_each(|x| self.value_refs(span, x, into)),
            _ => {}
        }
    }

    /// A header name must be an HTTP token: no spaces, CR or LF.
    fn header_name(&mut self, span: Range<usize>, name: &str) {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            self.err(
                span,
                format!("header name {} is not an HTTP header name (letters, digits and `-`, no spaces, CR or LF)", quoted(name)),
            );
        }
    }

    /// The `[vars]` in file order, each using only outside variables and
    /// `[vars]` above it; a forward reference or a cycle is an error at the
    /// value that makes it. Outside variables go to `used`.
    fn vars(
        &mut self,
        vars: &BTreeMap<String, toml::Spanned<String>>,
        used: &mut Vec<(String, Range<usize>)>,
    ) -> Vec<String> {
        let mut order: Vec<(&String, &toml::Spanned<String>)> = vars.iter().collect();
        order.sort_by_key(|(_, v)| v.span().start);
        let position: BTreeMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.as_str(), i))
            .collect();
        let refs_of = |name: &str| -> Vec<String> {
            vars.get(name)
                .and_then(|v| template::refs(v.get_ref()).ok())
                .unwrap_or_default()
        };
        for (i, (k, v)) in order.iter().enumerate() {
            if !template::valid_name(k) {
                self.err(v.span(), format!("`{k}` is not a variable name"));
            }
            let names = match template::refs(v.get_ref()) {
                Ok(names) => names,
                Err(e) => {
                    self.err(v.span(), e);
                    continue;
                }
            };
            let mut reported = BTreeSet::new();
            for n in names {
                match position.get(n.as_str()) {
                    None => used.push((n, v.span())),
                    Some(&j) if j < i => {}
                    Some(_) if !reported.insert(n.clone()) => {}
                    Some(&j) if j == i => self.err(
                        v.span(),
                        format!("[vars] `{k}` refers to itself (`${{{k}}}`); a [vars] value may use only outside variables and [vars] defined above it"),
                    ),
                    Some(&j) => {
                        let message = match cycle(k, &n, &refs_of) {
                            Some(path) => format!(
                                "[vars] cycle: {}; a [vars] value may use only outside variables and [vars] defined above it",
                                path.join(" → ")
                            ),
                            None => {
                                let (line, _) = line_col(self.src, order[j].1.span().start);
                                format!("[vars] `{k}` uses `${{{n}}}`, which is defined below it (line {line}); [vars] are resolved in file order: move `{n}` above `{k}`")
                            }
                        };
                        self.err(v.span(), message);
                    }
                }
            }
        }
        order.into_iter().map(|(k, _)| k.clone()).collect()
    }

    fn check(mut self, doc: ReplayDoc) -> Result<TomlReplay, Vec<Diagnostic>> {
        let name_span = doc.name.span();
        if doc.name.get_ref().trim().is_empty() {
            self.err(
                name_span.clone(),
                "`name` is empty; give the replay a unique name",
            );
        }
        if doc.steps.is_empty() {
            self.err(
                name_span.clone(),
                "the replay has no steps; add at least one `[[step]]`",
            );
        }
        let mut requires = BTreeSet::new();
        for r in &doc.requires {
            if template::valid_name(r.get_ref()) {
                requires.insert(r.get_ref().clone());
            } else {
                self.err(
                    r.span(),
                    format!("`{}` is not a variable name", r.get_ref()),
                );
            }
        }
        // Variable references: (name, span), and which are defined inside.
        let mut used: Vec<(String, Range<usize>)> = Vec::new();
        let local: BTreeSet<String> = doc.vars.keys().cloned().collect();
        let var_order = self.vars(&doc.vars, &mut used);
        let stub_template = doc
            .stub
            .as_ref()
            .map_or_else(|| "${CP_STUB_BASE}".to_string(), |s| s.get_ref().clone());
        let stub_span = doc.stub.as_ref().map_or(0..0, |s| s.span());

        // Step names.
        let mut step_names = Vec::new();
        for (i, step) in doc.steps.iter().enumerate() {
            let name = step
                .get_ref()
                .name
                .as_ref()
                .map_or_else(|| (i + 1).to_string(), |n| n.get_ref().clone());
            if step_names.contains(&name) {
                self.err(
                    step.span(),
                    format!("step name `{name}` is used twice; step names must be unique"),
                );
            }
            step_names.push(name);
        }

        let mut captured_before: BTreeSet<String> = BTreeSet::new();
        let mut uses_counters = false;
        let mut shared_counters = false;
        let mut exclusive = doc.exclusive || doc.owns_stub;
        let mut talks_to_stub_admin = false;
        for (i, spanned) in doc.steps.iter().enumerate() {
            let step: &Step = spanned.get_ref();
            let span = spanned.span();
            let mut step_used: Vec<(String, Range<usize>)> = Vec::new();
            match &step.request {
                Some(req) => {
                    let url = req.url.get_ref();
                    self.refs(&req.url.span(), url, &mut step_used);
                    if !(url.starts_with("http://") || url.starts_with("${")) {
                        self.err(req.url.span(), format!("url `{url}` must be absolute: `http://host:port/path` or `${{CP_STUB_BASE}}/path`"));
                    }
                    let method = req
                        .method
                        .as_ref()
                        .map_or("GET".to_string(), |m| m.get_ref().clone());
                    if let Some(m) = &req.method {
                        if m.get_ref().is_empty()
                            || !m.get_ref().chars().all(|c| c.is_ascii_uppercase())
                        {
                            self.err(m.span(), format!("method `{}` must be an upper-case HTTP method such as GET or POST", m.get_ref()));
                        }
                    }
                    if admin_call_is_shared(&method, url) {
                        talks_to_stub_admin = true;
                    }
                    if !doc.owns_stub {
                        if let Some(what) = unscoped_admin_call(
                            &method,
                            url,
                            req.json.as_ref().map(|j| j.get_ref()),
                        ) {
                            self.err(req.url.span(), format!("step `{}`: {what} has no scope, so it reads or changes everyone's state at the stub (the gate's tenants' health sweeps too); add `replay=${{REPLAY_ID}}`, `workspace=${{WS_ID}}` or `org=...` to the query (a fault takes `replay`, `workspace` or `org` in its spec), or declare `owns_stub = true` at the top of the file (unsafe beside any other traffic)", step_names[i]));
                        }
                    }
                    for (k, v) in &req.headers {
                        self.header_name(k.span(), k.get_ref());
                        if reqwest::header::HeaderValue::from_str(v.get_ref()).is_err() {
                            // The value is not echoed: it may be a secret.
                            self.err(v.span(), format!("the value of header `{}` holds a CR, LF or another control character; a header value is one line of text", k.get_ref()));
                        }
                        self.refs(&v.span(), v.get_ref(), &mut step_used);
                    }
                    if let (Some(_), Some(b)) = (&req.json, &req.body) {
                        self.err(b.span(), "a request has either `json` or `body`, not both");
                    }
                    if let Some(j) = &req.json {
                        self.value_refs(&j.span(), j.get_ref(), &mut step_used);
                    }
                    if let Some(b) = &req.body {
                        self.refs(&b.span(), b.get_ref(), &mut step_used);
                    }
                }
                None => {
                    if step.expect.needs_response() || !step.capture.is_empty() {
                        self.err(span.clone(), "this step has no `[step.request]`, so it can only check `counters`; add a request or move these expectations to a step that has one");
                    } else if step.expect.counters.is_empty() {
                        self.err(span.clone(), "this step has neither a request nor counter expectations; it checks nothing");
                    }
                }
            }
            if let Some(b) = &step.because {
                self.refs(&b.span(), b.get_ref(), &mut step_used);
            }
            let e = &step.expect;
            if let Some(s) = &e.schema {
                if let Err(msg) = &s.get_ref().parsed {
                    self.err(s.span(), msg.clone());
                }
            }
            for (name, m) in &e.headers {
                self.header_name(m.span(), name);
                let m = m.get_ref();
                if m.equals.is_none()
                    && m.contains.is_none()
                    && m.matches.is_none()
                    && m.exists.is_none()
                {
                    self.err(span.clone(), format!("header expectation `{name}` has no matcher (equals, contains, matches or exists)"));
                }
                if let Some(re) = &m.matches {
                    if let Err(err) = regex::Regex::new(re) {
                        self.err(
                            span.clone(),
                            format!("header `{name}`: bad regular expression: {err}"),
                        );
                    }
                }
                for t in [&m.equals, &m.contains].into_iter().flatten() {
                    self.refs(&span, t, &mut step_used);
                }
            }
            if let Some(b) = &e.body_contains {
                self.refs(&span, b, &mut step_used);
            }
            for j in &e.json {
                let js = j.get_ref();
                if let Err(msg) = JsonPath::parse(js.path.get_ref()) {
                    self.err(js.path.span(), msg);
                }
                self.refs(&js.path.span(), js.path.get_ref(), &mut step_used);
                if js.exists.is_none()
                    && js.equals.is_none()
                    && js.not_equals.is_none()
                    && js.ty.is_none()
                    && js.contains.is_none()
                    && js.matches.is_none()
                    && js.length.is_none()
                {
                    self.err(j.span(), format!("JSON expectation on `{}` has no matcher (exists, equals, not_equals, type, contains, matches or length)", js.path.get_ref()));
                }
                if let Some(t) = &js.ty {
                    if !JSON_TYPES.contains(&t.get_ref().as_str()) {
                        self.err(
                            t.span(),
                            format!(
                                "unknown JSON type `{}` (use one of {})",
                                t.get_ref(),
                                JSON_TYPES.join(", ")
                            ),
                        );
                    }
                }
                if let Some(re) = &js.matches {
                    if let Err(err) = regex::Regex::new(re.get_ref()) {
                        self.err(re.span(), format!("bad regular expression: {err}"));
                    }
                }
                for v in [&js.equals, &js.not_equals, &js.contains]
                    .into_iter()
                    .flatten()
                {
                    self.value_refs(&j.span(), v, &mut step_used);
                }
                if let Some(b) = &js.because {
                    self.refs(&j.span(), b, &mut step_used);
                }
            }
            for c in &e.counters {
                uses_counters = true;
                let ce = c.get_ref();
                if let Err(msg) = &ce.counter.get_ref().parsed {
                    self.err(ce.counter.span(), msg.clone());
                }
                let scopes = usize::from(ce.replay)
                    + usize::from(ce.org.is_some())
                    + usize::from(ce.workspace.is_some());
                if scopes > 1 {
                    self.err(c.span(), format!("step `{}`: counter `{}` names {scopes} scopes; give exactly one of `replay = true`, `workspace = \"...\"` or `org = \"...\"`", step_names[i], ce.counter.get_ref()));
                } else if scopes == 0 && !doc.owns_stub {
                    self.err(c.span(), format!("step `{}`: counter `{} {}` has no scope, so any other traffic at the stub moves it (the gate's tenants' health sweeps too); add `replay = true` (this replay's own calls), `workspace = \"${{WS_ID}}\"` or `org = \"...\"`, or declare `owns_stub = true` at the top of the file (unsafe beside any other traffic)", step_names[i], ce.counter.get_ref(), counter::signed(ce.delta)));
                }
                if ce.org.is_some() || scopes == 0 {
                    // An org is shared by every replay that drives its tenant.
                    shared_counters = true;
                }
                for t in [&ce.org, &ce.workspace].into_iter().flatten() {
                    self.refs(&c.span(), t, &mut step_used);
                }
                if let Some(b) = &ce.because {
                    self.refs(&c.span(), b, &mut step_used);
                }
                if let Some(since) = &ce.since {
                    match step_names.iter().position(|n| n == since.get_ref()) {
                        Some(j) if j <= i => {}
                        Some(_) => self.err(since.span(), format!("`since = \"{}\"` names a later step; counters are measured from the start of this or an earlier step", since.get_ref())),
                        None => self.err(since.span(), format!("`since = \"{}\"` names no step (steps: {})", since.get_ref(), step_names.join(", "))),
                    }
                }
            }
            for (var, path) in &step.capture {
                if !template::valid_name(var) {
                    self.err(path.span(), format!("`{var}` is not a variable name"));
                }
                if let Err(msg) = JsonPath::parse(path.get_ref()) {
                    self.err(path.span(), msg);
                }
                self.refs(&path.span(), path.get_ref(), &mut step_used);
            }
            if let Some(p) = &step.poll {
                if let Some(iv) = p.interval {
                    if iv > p.timeout {
                        self.err(
                            span.clone(),
                            format!(
                                "poll interval {iv} is longer than its timeout {}",
                                p.timeout
                            ),
                        );
                    }
                }
            }
            // A variable captured by this or a later step cannot be used here.
            for (name, sp) in &step_used {
                if !captured_before.contains(name)
                    && !local.contains(name)
                    && !BUILTIN_VARS.contains(&name.as_str())
                {
                    if let Some(j) = doc
                        .steps
                        .iter()
                        .enumerate()
                        .skip(i)
                        .find_map(|(j, s)| s.get_ref().capture.contains_key(name).then_some(j))
                    {
                        self.err(
                            sp.clone(),
                            format!(
                                "`${{{name}}}` is used before step `{}` captures it",
                                step_names[j]
                            ),
                        );
                    }
                }
            }
            used.extend(
                step_used
                    .into_iter()
                    .filter(|(n, _)| !captured_before.contains(n)),
            );
            captured_before.extend(step.capture.keys().cloned());
        }
        let mut needs_stub = uses_counters || talks_to_stub_admin;
        if uses_counters {
            self.refs(&stub_span, &stub_template, &mut used);
        }
        if talks_to_stub_admin || shared_counters {
            exclusive = true;
        }
        for (name, _) in &used {
            if local.contains(name) || BUILTIN_VARS.contains(&name.as_str()) {
                continue;
            }
            requires.insert(name.clone());
        }
        if requires.contains("CP_STUB_BASE") {
            needs_stub = true;
        }
        if self.diags.is_empty() {
            Ok(TomlReplay {
                doc,
                requires,
                needs_stub,
                exclusive,
                step_names,
                var_order,
            })
        } else {
            self.diags.sort_by_key(|d| (d.line, d.column));
            Err(self.diags)
        }
    }
}

/// The `[vars]` path from `from` (which uses `to`) back to `from`, if `to`
/// leads there: `A → B → A`.
fn cycle(from: &str, to: &str, refs_of: &dyn Fn(&str) -> Vec<String>) -> Option<Vec<String>> {
    // Depth-first, each variable visited once: bounded by the [vars] count.
    let mut stack = vec![vec![from.to_string(), to.to_string()]];
    let mut seen = BTreeSet::from([to.to_string()]);
    while let Some(path) = stack.pop() {
        let last = path.last().map(String::as_str).unwrap_or_default();
        for next in refs_of(last) {
            let mut longer = path.clone();
            longer.push(next.clone());
            if next == from {
                return Some(longer);
            }
            if seen.insert(next) {
                stack.push(longer);
            }
        }
    }
    None
}

/// A name as shown in a message: in backquotes, control characters escaped
/// (a header name with a CR or LF stays on one line).
fn quoted(name: &str) -> String {
    format!("`{}`", name.escape_debug())
}

/// JSON type names accepted by `type = "..."`.
pub(crate) const JSON_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// Whether a request (method + URL template) touches shared stub state:
/// an unscoped (or org-scoped) reset, snapshot or fault clear, faults, or
/// reading the whole state. Journal queries, counts, version and contract
/// reads, and resets, snapshots and fault clears scoped to a replay or a
/// workspace are safe to run in parallel.
pub(crate) fn admin_call_is_shared(method: &str, url: &str) -> bool {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if path.contains("/__stub/state") {
        return true;
    }
    let Some(i) = path.find("/__/stub/") else {
        return false;
    };
    let rest = &path[i + "/__/stub/".len()..];
    let endpoint = rest.split('/').next().unwrap_or("");
    let own_scope = ["replay", "workspace"].iter().any(|k| query_has(query, k));
    match (method, endpoint) {
        ("GET", "requests" | "version" | "contract" | "openapi.json" | "counts") => false,
        ("POST", "reset" | "snapshot") | ("DELETE", "faults") if rest == endpoint => !own_scope,
        _ => true,
    }
}

/// Whether a URL template's query names parameter `key`.
fn query_has(query: &str, key: &str) -> bool {
    query
        .split('&')
        .any(|p| p.split('=').next() == Some(key) && p.len() > key.len() + 1)
}

/// What an admin call without a scope is (`the journal query`, ...), when
/// it is one: a journal query, reset, snapshot or fault clear whose query
/// names no scope, or a fault whose spec names none.
pub(crate) fn unscoped_admin_call(
    method: &str,
    url: &str,
    json: Option<&toml::Value>,
) -> Option<&'static str> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let i = path.find("/__/stub/")?;
    let rest = &path[i + "/__/stub/".len()..];
    let scoped = SCOPE_PARAMS.iter().any(|k| query_has(query, k));
    let what = match (method, rest) {
        ("GET", "requests") => "the journal query (GET /__/stub/requests)",
        ("POST", "reset") => "the reset (POST /__/stub/reset)",
        ("POST", "snapshot") => "the snapshot (POST /__/stub/snapshot)",
        ("DELETE", "faults") => "the fault clear (DELETE /__/stub/faults)",
        ("POST", "faults") => {
            let spec_scoped = json
                .and_then(toml::Value::as_table)
                .is_some_and(|t| SCOPE_PARAMS.iter().any(|k| t.contains_key(*k)));
            return (!spec_scoped).then_some("the fault (POST /__/stub/faults)");
        }
        _ => return None,
    };
    (!scoped).then_some(what)
}

/// The query parameters (and fault fields) that name a scope.
const SCOPE_PARAMS: [&str; 3] = ["replay", "org", "workspace"];

#[cfg(test)]
mod tests;
