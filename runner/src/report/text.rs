//! The terminal report: one block per replay, a summary at the end.
//!
//! Colour only when stdout is a terminal and `NO_COLOR` is unset (or when
//! forced with `--color always`).

use std::io::IsTerminal;
use std::time::Duration;

use super::{Check, Outcome, ReplayReport, StepReport, Summary};

/// Whether to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Decide for stdout.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => auto_color(
                std::env::var_os("NO_COLOR").as_deref(),
                std::io::stdout().is_terminal(),
            ),
        }
    }
}

/// `auto`: colour on a terminal unless `NO_COLOR` is set to anything
/// non-empty (<https://no-color.org>).
pub(crate) fn auto_color(no_color: Option<&std::ffi::OsStr>, terminal: bool) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Only failures and result lines.
    pub quiet: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn outcome(&self, o: Outcome) -> String {
        match o {
            Outcome::Pass => self.green(o.label()),
            Outcome::Fail | Outcome::Error | Outcome::Xpass => self.paint("1;31", o.label()),
            Outcome::Skip | Outcome::Xfail => self.yellow(o.label()),
        }
    }
}

/// `12 ms`, `1.5 s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 10_000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// One replay's block, ending with its `[replay] RESULT: name` line.
pub fn render_replay(r: &ReplayReport, style: &Style) -> String {
    let mut out = String::new();
    let failed = r.outcome.is_failure();
    let detailed = !style.quiet || failed;
    if detailed && (!r.steps.is_empty() || !r.errors.is_empty() || r.output.is_some()) {
        out.push_str(&format!(
            "{} {} {}\n",
            style.dim("=="),
            style.bold(&r.name),
            style.dim(&format!("({})", r.file.display()))
        ));
        for s in &r.steps {
            if style.quiet && s.ok() {
                continue;
            }
            render_step(&mut out, s, style);
        }
        for e in &r.errors {
            out.push_str(&format!("  {} {e}\n", style.red("✗")));
        }
        if let Some(o) = r.output.as_ref().filter(|o| !o.trim().is_empty()) {
            if failed || !style.quiet {
                let lines: Vec<&str> = o.lines().collect();
                let from = lines.len().saturating_sub(40);
                out.push_str(&format!(
                    "  output{}:\n",
                    if from > 0 { " (last 40 lines)" } else { "" }
                ));
                for l in &lines[from..] {
                    out.push_str(&format!("    | {l}\n"));
                }
            }
        }
        if let Some(b) = &r.bundle {
            out.push_str("  failure bundle:\n");
            if let Some(c) = &b.curl {
                out.push_str(&format!("    reproduce: {c}\n"));
            }
            out.push_str(&format!("    rerun:     {}\n", b.rerun));
            if let Some(n) = &b.journal_note {
                out.push_str(&format!("    stub journal: {n}\n"));
            }
            for l in &b.journal {
                out.push_str(&format!("      {l}\n"));
            }
        }
    }
    let mut line = format!("[replay] {}: {}", style.outcome(r.outcome), r.name);
    match r.outcome {
        Outcome::Skip => {
            if let Some(reason) = &r.reason {
                line.push_str(&format!(" ({reason})"));
            }
        }
        Outcome::Xfail => line.push_str(&format!(
            " ({}) known failure: {}",
            human(r.duration),
            r.reason.as_deref().unwrap_or("")
        )),
        Outcome::Xpass => line.push_str(&format!(
            " ({}) {}",
            human(r.duration),
            r.reason.as_deref().unwrap_or("")
        )),
        _ if r.evidence_skipped > 0 => line.push_str(&format!(
            " ({}, {} reference-only step(s)/check(s) skipped: no tenant evidence)",
            human(r.duration),
            r.evidence_skipped
        )),
        _ => line.push_str(&format!(" ({})", human(r.duration))),
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn render_step(out: &mut String, s: &StepReport, style: &Style) {
    if let Some(reason) = &s.skipped {
        out.push_str(&format!(
            "  step {}: {} {reason}\n",
            style.bold(&s.name),
            style.yellow("SKIP")
        ));
        return;
    }
    let mut head = format!("  step {}", style.bold(&s.name));
    if let (Some(m), Some(u)) = (&s.method, &s.url) {
        head.push_str(&format!(": {m} {u}"));
        if let Some(st) = s.status {
            head.push_str(&format!(" → {st}"));
        }
    }
    head.push_str(&format!(" ({}", human(s.duration)));
    if s.attempts > 1 {
        head.push_str(&format!(", {} attempts", s.attempts));
    }
    head.push(')');
    out.push_str(&head);
    out.push('\n');
    if let Some(e) = &s.error {
        out.push_str(&format!("    {} {e}\n", style.red("✗")));
    }
    for c in &s.checks {
        if style.quiet && c.ok {
            continue;
        }
        render_check(out, c, style);
    }
    if let Some(b) = s.because.as_ref().filter(|_| !s.ok()) {
        out.push_str(&format!("    {} {b}\n", style.bold("because:")));
    }
}

fn render_check(out: &mut String, c: &Check, style: &Style) {
    if let Some(reason) = &c.skipped {
        out.push_str(&format!(
            "    {} {}: {} {reason}\n",
            style.yellow("-"),
            c.label,
            style.yellow("SKIP")
        ));
        return;
    }
    if c.ok {
        out.push_str(&format!("    {} {}\n", style.green("✓"), c.label));
        return;
    }
    out.push_str(&format!("    {} {}\n", style.red("✗"), c.label));
    if let Some(e) = &c.expected {
        out.push_str(&format!("        expected: {e}\n"));
    }
    if let Some(a) = &c.actual {
        out.push_str(&format!("        actual:   {a}\n"));
    }
    if let Some(b) = &c.because {
        out.push_str(&format!("        because:  {b}\n"));
    }
    for d in &c.details {
        out.push_str(&format!("        {d}\n"));
    }
}

/// The closing lines: the summary line, the breakdown and the plain line.
pub fn render_summary(s: &Summary) -> String {
    let evidence = s
        .evidence_line()
        .map(|l| format!("{l}\n"))
        .unwrap_or_default();
    format!(
        "\n{}\n{}\n{evidence}{}\n",
        s.summary_line(),
        s.breakdown_line(),
        s.plain_line()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_and_terminals() {
        use std::ffi::OsStr;
        assert!(auto_color(None, true));
        assert!(!auto_color(None, false));
        assert!(!auto_color(Some(OsStr::new("1")), true));
        assert!(auto_color(Some(OsStr::new("")), true));
        assert!(ColorChoice::Always.enabled());
        assert!(!ColorChoice::Never.enabled());
    }

    #[test]
    fn failing_check_shows_expected_and_actual() {
        let mut r = ReplayReport::bare("x", "x.toml".into(), "toml", Outcome::Fail);
        r.steps.push(StepReport {
            name: "provision".into(),
            method: Some("POST".into()),
            url: Some("http://h/cp".into()),
            status: Some(200),
            attempts: 1,
            checks: vec![
                Check::pass("body is JSON"),
                Check::fail("status is 201", "201", "200"),
            ],
            ..StepReport::default()
        });
        let t = render_replay(&r, &Style::default());
        assert!(
            t.contains("  step provision: POST http://h/cp → 200 (0 ms)\n"),
            "{t}"
        );
        assert!(t.contains("    ✓ body is JSON\n"));
        assert!(t.contains("    ✗ status is 201\n        expected: 201\n        actual:   200\n"));
        assert!(t.ends_with("[replay] FAIL: x (0 ms)\n"));
        let quiet = render_replay(
            &r,
            &Style {
                color: false,
                quiet: true,
            },
        );
        assert!(!quiet.contains("body is JSON"));
        let colored = render_replay(
            &r,
            &Style {
                color: true,
                quiet: false,
            },
        );
        assert!(colored.contains("\x1b[31m✗\x1b[0m"));
    }
}
