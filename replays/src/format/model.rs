//! The replay file model: what a `*.toml` replay may contain.
//!
//! Every table rejects unknown fields (`deny_unknown_fields`), so a typo is
//! an error with its line and column, never a silently ignored check.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::duration::Dur;

/// One replay file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayDoc {
    /// Unique name, shown in results and matched by `--filter`.
    pub name: Spanned<String>,
    /// What the scenario checks, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Variables the replay needs from `.seed.env` or the environment.
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    /// Free-form labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// A known failure: the replay is expected to fail for this reason.
    pub xfail: Option<String>,
    /// Do not run the replay, for this reason.
    pub skip: Option<String>,
    /// Per-replay timeout (default from `--timeout`, 60 s).
    pub timeout: Option<Dur>,
    /// Run alone even if nothing else says so (see the parallel design).
    #[serde(default)]
    pub exclusive: bool,
    /// Base URL of the stub for counter expectations (default `${CP_STUB_BASE}`).
    pub stub: Option<Spanned<String>>,
    /// Replay-local variables (lowest precedence; may use `${...}` of outside variables).
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<String>>,
    /// The steps, in order (`[[step]]` tables).
    #[serde(default, rename = "step")]
    pub steps: Vec<Spanned<Step>>,
}

/// One step: an optional request, expectations, captures, and an optional poll.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Step name (default `step N`); `since = "<name>"` refers to it.
    pub name: Option<Spanned<String>>,
    /// The request to send. A step without one only checks counters.
    pub request: Option<Request>,
    /// What must hold.
    #[serde(default)]
    pub expect: Expect,
    /// Variable name → JSON path in the response body.
    #[serde(default)]
    pub capture: BTreeMap<String, Spanned<String>>,
    /// Repeat the step until its expectations hold.
    pub poll: Option<Poll>,
    /// Why the step matters, printed when it fails: the cause to look at
    /// (a template, e.g. "the tenant's CP_PROVISION_URL does not point at
    /// this stub (D4)").
    pub because: Option<Spanned<String>>,
}

/// An HTTP request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Method (default `GET`).
    pub method: Option<Spanned<String>>,
    /// Absolute URL, usually `${CP_STUB_BASE}/...`.
    pub url: Spanned<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (any TOML value); sets `Content-Type: application/json`.
    pub json: Option<Spanned<toml::Value>>,
    /// A raw body.
    pub body: Option<Spanned<String>>,
    /// Per-step timeout (default from `--step-timeout`, 10 s).
    pub timeout: Option<Dur>,
}

/// Expectations of a step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Expected status, or a list of acceptable ones.
    pub status: Option<Spanned<StatusSet>>,
    /// Header name (any case) → expected value or matcher table.
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<HeaderMatch>>,
    /// The body must validate against this contract schema.
    pub schema: Option<Spanned<String>>,
    /// JSON path assertions.
    #[serde(default)]
    pub json: Vec<Spanned<JsonExpect>>,
    /// The raw body must contain this text.
    pub body_contains: Option<String>,
    /// Exact counter deltas at the stub.
    #[serde(default)]
    pub counters: Vec<Spanned<CounterExpect>>,
}

impl Expect {
    /// Whether any expectation needs a response.
    pub fn needs_response(&self) -> bool {
        self.status.is_some()
            || !self.headers.is_empty()
            || self.schema.is_some()
            || !self.json.is_empty()
            || self.body_contains.is_some()
    }
}

/// One or more acceptable statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(pub Vec<u16>);

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u16::to_string).collect();
        f.write_str(&parts.join(" or "))
    }
}

impl<'de> Deserialize<'de> for StatusSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn status<E: de::Error>(v: i64) -> Result<u16, E> {
            u16::try_from(v)
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| E::custom(format!("{v} is not an HTTP status (100..=599)")))
        }
        impl<'de> Visitor<'de> for V {
            type Value = StatusSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status such as 201, or a list such as [200, 201]")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusSet, E> {
                Ok(StatusSet(vec![status(v)?]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusSet, E> {
                Ok(StatusSet(vec![status(i64::try_from(v).unwrap_or(-1))?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StatusSet, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<i64>()? {
                    out.push(status(v)?);
                }
                if out.is_empty() {
                    return Err(de::Error::custom("an empty status list accepts nothing"));
                }
                Ok(StatusSet(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A header expectation: a plain string (exact value) or a matcher table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderMatch {
    /// The value is exactly this.
    pub equals: Option<String>,
    /// The value contains this.
    pub contains: Option<String>,
    /// The value matches this regular expression.
    pub matches: Option<String>,
    /// The header is present (`true`) or absent (`false`).
    pub exists: Option<bool>,
}

impl<'de> Deserialize<'de> for HeaderMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        header_match_from(d)
    }
}

/// Deserialize a header expectation from a string or a table.
fn header_match_from<'de, D: Deserializer<'de>>(d: D) -> Result<HeaderMatch, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = HeaderMatch;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a header value, or a table with equals / contains / matches / exists")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<HeaderMatch, E> {
            Ok(HeaderMatch {
                equals: Some(v.to_string()),
                ..HeaderMatch::default()
            })
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<HeaderMatch, A::Error> {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Table {
                equals: Option<String>,
                contains: Option<String>,
                matches: Option<String>,
                exists: Option<bool>,
            }
            let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(HeaderMatch {
                equals: t.equals,
                contains: t.contains,
                matches: t.matches,
                exists: t.exists,
            })
        }
    }
    d.deserialize_any(V)
}

/// A JSON path assertion. At least one of the matchers must be given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonExpect {
    /// `$.a.b[0]` or a JSON Pointer `/a/b/0`.
    pub path: Spanned<String>,
    /// The path exists (`true`) or not (`false`).
    pub exists: Option<bool>,
    /// The value equals this (strings are templates; numbers compare numerically).
    pub equals: Option<toml::Value>,
    /// The value differs from this.
    pub not_equals: Option<toml::Value>,
    /// JSON type: `string`, `number`, `integer`, `boolean`, `array`, `object`, `null`.
    #[serde(rename = "type")]
    pub ty: Option<Spanned<String>>,
    /// A string contains this text, an array contains this element, or an object has this key.
    pub contains: Option<toml::Value>,
    /// A string value matches this regular expression.
    pub matches: Option<Spanned<String>>,
    /// A string, array or object has this length.
    pub length: Option<u64>,
    /// Printed under this expectation when it fails (a template).
    pub because: Option<String>,
}

/// An exact counter expectation against the stub.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterExpect {
    /// `provision_calls` (legacy name), `provision` (route id),
    /// `total_requests`, `violations_total`, `unmatched`, or `status_501`.
    pub counter: Spanned<String>,
    /// Exact change since the baseline.
    pub delta: i64,
    /// Count only calls attributed to this org (template).
    pub org: Option<String>,
    /// Measure since the start of this earlier step (default: this step).
    pub since: Option<Spanned<String>>,
    /// Printed under this expectation when it fails (a template).
    pub because: Option<String>,
}

/// Repeat a step until its expectations hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    /// Give up after this long.
    pub timeout: Dur,
    /// Wait between attempts (default 250 ms).
    pub interval: Option<Dur>,
}
