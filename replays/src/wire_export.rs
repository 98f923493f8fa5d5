//! `replays wire-export`: cp-stub's journal in the format of
//! `fixtures/real-client/wire.json` ([`contract::wire::from_journal`]), so the
//! fixture can be re-recorded whenever a newer real client is run against
//! the stub. Secrets stay redacted: the journal masks them, and
//! `from_journal` applies the contract's rule again and keeps header names
//! and query keys only.
//!
//! The journal is read page by page with `since_seq`, up to the newest entry
//! at the start (calls arriving meanwhile are left out), and the number of
//! pages is bounded by the journal's capacity.

use std::time::Duration;

use contract::admin::{JournalEntry, JournalPage, ADMIN_PREFIX};
use contract::redact;
use contract::wire::WireFile;

/// Journal entries asked for per page.
pub const DEFAULT_PAGE_SIZE: usize = 500;

/// What `replays wire-export` does.
#[derive(Debug, Clone)]
pub struct WireExportOptions {
    /// The stub's base URL.
    pub stub: String,
    /// Workspace ids written as `{workspace_id}`.
    pub workspaces: Vec<String>,
    /// Only the calls journaled under this org.
    pub org: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Entries per page (at least 1).
    pub page_size: usize,
}

/// The export and what the journal could no longer hold.
#[derive(Debug, Clone)]
pub struct WireExport {
    /// The recording.
    pub file: WireFile,
    /// Entries the stub dropped (journal full) before the export: the
    /// recording lacks them.
    pub dropped: u64,
}

/// Why the journal could not be exported (exit status 2). URLs are shown
/// with their credentials masked.
#[derive(Debug, thiserror::Error)]
pub enum WireExportError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// No answer from the stub.
    #[error("cannot read the journal at {url}: {reason}")]
    Request {
        /// The journal URL.
        url: String,
        /// Cause.
        reason: String,
    },
    /// The stub answered, but not a journal page.
    #[error("{url} answered {status}: {reason} (is --stub a cp-stub?)")]
    Answer {
        /// The journal URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// What is wrong.
        reason: String,
    },
    /// More pages than the journal can hold: the stub kept answering.
    #[error("{url}: still more entries after {pages} pages; giving up")]
    TooManyPages {
        /// The journal URL.
        url: String,
        /// Pages read.
        pages: usize,
    },
}

/// Read the stub's whole journal (filtered by org) and turn it into a recording.
pub async fn wire_export(opts: &WireExportOptions) -> Result<WireExport, WireExportError> {
    let client = replay_runner::client().map_err(|e| WireExportError::Client(e.to_string()))?;
    let url = format!("{}{ADMIN_PREFIX}/requests", opts.stub.trim_end_matches('/'));
    let shown = redact::url(&url).into_owned();
    let limit = opts.page_size.max(1);
    let mut entries: Vec<JournalEntry> = Vec::new();
    let mut since = 0u64;
    let mut until: Option<u64> = None;
    let mut dropped;
    let mut pages = 0usize;
    loop {
        let page = page(&client, &url, &shown, opts, since, limit).await?;
        pages += 1;
        // Stop at the newest entry of the first page's time.
        let last = *until.get_or_insert(page.last_seq);
        dropped = page.dropped;
        let full = page.entries.len() >= limit;
        let mut past_end = false;
        for e in page.entries {
            since = since.max(e.seq);
            if e.seq > last {
                past_end = true;
                continue;
            }
            entries.push(e);
        }
        if !full || past_end || since >= last {
            break;
        }
        // Every entry up to `last` is in a journal of `capacity` entries.
        if pages > page.capacity / limit + 1 {
            return Err(WireExportError::TooManyPages { url: shown, pages });
        }
    }
    let ids: Vec<&str> = opts.workspaces.iter().map(String::as_str).collect();
    let org = opts
        .org
        .as_deref()
        .map(|o| format!(", org {o}"))
        .unwrap_or_default();
    let what = format!(
        "cp-stub journal at {}{org}, exported by `replays wire-export`: {} calls, secrets redacted, header values not kept.",
        redact::url(opts.stub.trim_end_matches('/')),
        entries.len()
    );
    Ok(WireExport {
        file: contract::wire::from_journal(&entries, &ids, &what),
        dropped,
    })
}

async fn page(
    client: &reqwest::Client,
    url: &str,
    shown: &str,
    opts: &WireExportOptions,
    since: u64,
    limit: usize,
) -> Result<JournalPage, WireExportError> {
    let request_error = |reason: String| WireExportError::Request {
        url: shown.to_string(),
        reason,
    };
    let mut page_url =
        reqwest::Url::parse(url).map_err(|e| request_error(format!("not a URL: {e}")))?;
    {
        let mut q = page_url.query_pairs_mut();
        q.append_pair("since_seq", &since.to_string());
        q.append_pair("limit", &limit.to_string());
        if let Some(org) = &opts.org {
            q.append_pair("org", org);
        }
    }
    let request = async {
        let resp = client.get(page_url).send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok::<_, reqwest::Error>((status, bytes))
    };
    let (status, bytes) = tokio::time::timeout(opts.timeout, request)
        .await
        .map_err(|_| request_error(format!("no answer within {:?}", opts.timeout)))?
        .map_err(|e| request_error(e.without_url().to_string()))?;
    let answer = |reason: String| WireExportError::Answer {
        url: shown.to_string(),
        status,
        reason,
    };
    if status != 200 {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        return Err(answer(redact::url(&text).into_owned()));
    }
    serde_json::from_slice(&bytes).map_err(|e| answer(format!("not a journal page: {e}")))
}
