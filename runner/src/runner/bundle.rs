//! The failure bundle: what a developer needs to see a failed replay again
//! without rerunning the suite — the stub's journal for the replay's time
//! window and a `curl` line that sends the failing request.

use std::time::Duration;

use contract::admin::JournalEntry;

use crate::report::Bundle;

use super::request::{curl_line, Prepared, REPLAY_ID_HEADER};
use super::stub::StubClient;

/// Journal entries shown at most.
pub(crate) const JOURNAL_LINES: usize = 30;

/// Workspace scopes a bundle reads at most (one per variable value).
const RELATED_SCOPES: usize = 8;

/// Build a bundle. On a busy stub (more entries in the window than fit),
/// the journal shown is the replay's own calls and those about the
/// workspaces its variables name, read by scope: other callers' traffic
/// would otherwise push them out.
pub(crate) async fn build(
    stub: Option<&StubClient>,
    start_seq: Option<u64>,
    started_ms: u64,
    failing: Option<&Prepared>,
    replay_id: &str,
    related: &[String],
    rerun: String,
) -> Bundle {
    let mut b = Bundle {
        curl: failing.map(curl_line),
        rerun,
        ..Bundle::default()
    };
    let (Some(stub), Some(start)) = (stub, start_seq) else {
        return b;
    };
    let timeout = Duration::from_secs(5);
    match stub.journal(start, 1000, None, timeout).await {
        Ok(page) => {
            let all: Vec<JournalEntry> =
                page.entries.into_iter().filter(|e| e.seq > start).collect();
            let busy = all.len() > JOURNAL_LINES || page.next_since_seq.is_some();
            let (entries, left_out) = if busy {
                let own = own_entries(stub, start, replay_id, related, timeout).await;
                let left_out = all.len().saturating_sub(own.len());
                (own, Some(left_out))
            } else {
                (all, None)
            };
            let shown = &entries[entries.len().saturating_sub(JOURNAL_LINES)..];
            let mine = entries.iter().filter(|e| is_mine(e, replay_id)).count();
            let mut note = format!(
                "{} entr{} after seq {start} ({mine} from this replay)",
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" }
            );
            if let Some(n) = left_out {
                note.push_str(&format!(
                    ": this replay's own and those about its workspaces; {n}+ from other callers left out"
                ));
            }
            if shown.len() < entries.len() {
                note.push_str(&format!(", showing the last {}", shown.len()));
            }
            if page.dropped > 0 {
                note.push_str(&format!(
                    "; the journal dropped {} old entries (capacity {})",
                    page.dropped, page.capacity
                ));
            }
            b.journal_note = Some(note);
            for e in shown {
                b.journal
                    .extend(render_entry(e, started_ms, is_mine(e, replay_id)));
            }
        }
        Err(e) => b.journal_note = Some(format!("unavailable: {e}")),
    }
    b
}

/// The replay's own entries after `start`, and those about a workspace one
/// of its variables names, in journal order.
async fn own_entries(
    stub: &StubClient,
    start: u64,
    replay_id: &str,
    related: &[String],
    timeout: Duration,
) -> Vec<JournalEntry> {
    let mut scopes = vec![("replay", replay_id)];
    let mut values: Vec<&str> = related
        .iter()
        .map(String::as_str)
        .filter(|v| !v.is_empty() && *v != replay_id)
        .collect();
    values.sort_unstable();
    values.dedup();
    scopes.extend(
        values
            .into_iter()
            .take(RELATED_SCOPES)
            .map(|v| ("workspace", v)),
    );
    let mut by_seq = std::collections::BTreeMap::new();
    for scope in scopes {
        if let Ok(page) = stub.journal(start, 1000, Some(scope), timeout).await {
            for e in page.entries.into_iter().filter(|e| e.seq > start) {
                by_seq.insert(e.seq, e);
            }
        }
    }
    by_seq.into_values().collect()
}

fn is_mine(e: &JournalEntry, replay_id: &str) -> bool {
    e.headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case(REPLAY_ID_HEADER) && v == replay_id)
}

/// One journal entry as one line (plus one line per violation).
pub(crate) fn render_entry(e: &JournalEntry, started_ms: u64, mine: bool) -> Vec<String> {
    let offset = i128::from(e.at_ms) - i128::from(started_ms);
    let mut line = format!(
        "#{} {}{}ms {} {}{}",
        e.seq,
        if offset >= 0 { "+" } else { "" },
        offset,
        e.method,
        e.path,
        e.query
            .as_deref()
            .map(|q| format!("?{}", contract::redact::query(q)))
            .unwrap_or_default()
    );
    line.push_str(&format!(" org={}", e.org.as_deref().unwrap_or("-")));
    line.push_str(&format!(" → {}", e.status));
    if let Some(r) = &e.route {
        line.push_str(&format!(" route={r}"));
    }
    if let Some(f) = e.fault {
        line.push_str(&format!(" fault={f}"));
    }
    line.push_str(if mine {
        " [this replay]"
    } else {
        " [other caller]"
    });
    let mut out = vec![line];
    out.extend(e.violations.iter().map(|v| format!("    violation {v}")));
    out
}
