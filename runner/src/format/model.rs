//! The replay file model: what a `*.toml` replay may contain.
//!
//! Every table rejects unknown fields (`deny_unknown_fields`), so a typo is
//! an error with its line and column, never a silently ignored check.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::counter::CounterKind;
use super::duration::Dur;

/// One replay file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplayDoc {
    /// Unique name, shown in results and matched by `--filter`.
    pub(crate) name: Spanned<String>,
    /// What the scenario checks, in a sentence or two.
    #[serde(default)]
    pub(crate) description: String,
    /// Variables the replay needs from `.seed.env` or the environment.
    #[serde(default)]
    pub(crate) requires: Vec<Spanned<String>>,
    /// Free-form labels.
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    /// A known failure: the replay is expected to fail for this reason.
    pub(crate) xfail: Option<String>,
    /// Do not run the replay, for this reason.
    pub(crate) skip: Option<String>,
    /// Per-replay timeout (default from `--timeout`, 60 s).
    pub(crate) timeout: Option<Dur>,
    /// Run alone even if nothing else says so (see the parallel design).
    #[serde(default)]
    pub(crate) exclusive: bool,
    /// The replay owns the whole stub: unscoped counter deltas, journal
    /// queries, resets, snapshots and fault clears are allowed. Unsafe beside
    /// any other traffic (the gate's tenants' health sweeps count too).
    #[serde(default)]
    pub(crate) owns_stub: bool,
    /// Base URL of the stub for counter expectations (default `${CP_STUB_BASE}`).
    pub(crate) stub: Option<Spanned<String>>,
    /// Replay-local variables (lowest precedence; may use `${...}` of outside variables).
    #[serde(default)]
    pub(crate) vars: BTreeMap<String, Spanned<String>>,
    /// The steps, in order (`[[step]]` tables).
    #[serde(default, rename = "step")]
    pub(crate) steps: Vec<Spanned<Step>>,
}

/// One step: an optional request, expectations, captures, and an optional poll.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
    /// Step name (default `step N`); `since = "<name>"` refers to it.
    pub(crate) name: Option<Spanned<String>>,
    /// The request to send. A step without one only checks counters.
    pub(crate) request: Option<Request>,
    /// What must hold.
    #[serde(default)]
    pub(crate) expect: Expect,
    /// Variable name → JSON path in the response body.
    #[serde(default)]
    pub(crate) capture: BTreeMap<String, Spanned<String>>,
    /// Repeat the step until its expectations hold.
    pub(crate) poll: Option<Poll>,
    /// Why the step matters, printed when it fails: the cause to look at
    /// (a template, e.g. "the tenant's CP_PROVISION_URL does not point at
    /// this stub (D4)").
    pub(crate) because: Option<Spanned<String>>,
}

/// An HTTP request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Request {
    /// Method (default `GET`).
    pub(crate) method: Option<Spanned<String>>,
    /// Absolute URL, usually `${CP_STUB_BASE}/...`.
    pub(crate) url: Spanned<String>,
    /// Request headers (name and value keep their positions for `check`).
    #[serde(default)]
    pub(crate) headers: BTreeMap<Spanned<String>, Spanned<String>>,
    /// A JSON body (any TOML value); sets `Content-Type: application/json`.
    pub(crate) json: Option<Spanned<toml::Value>>,
    /// A raw body.
    pub(crate) body: Option<Spanned<String>>,
    /// Per-step timeout (default from `--step-timeout`, 10 s).
    pub(crate) timeout: Option<Dur>,
}

/// Expectations of a step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Expect {
    /// Expected status, or a list of acceptable ones.
    pub(crate) status: Option<Spanned<StatusSet>>,
    /// Header name (any case) → expected value or matcher table.
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, Spanned<HeaderMatch>>,
    /// The body must validate against this contract schema.
    pub(crate) schema: Option<Spanned<Name<contract::SchemaId>>>,
    /// JSON path assertions.
    #[serde(default)]
    pub(crate) json: Vec<Spanned<JsonExpect>>,
    /// The raw body must contain this text.
    pub(crate) body_contains: Option<String>,
    /// Exact counter deltas at the stub.
    #[serde(default)]
    pub(crate) counters: Vec<Spanned<CounterExpect>>,
}

impl Expect {
    /// Whether any expectation needs a response.
    pub(crate) fn needs_response(&self) -> bool {
        self.status.is_some()
            || !self.headers.is_empty()
            || self.schema.is_some()
            || !self.json.is_empty()
            || self.body_contains.is_some()
    }
}

/// A name from a closed set (a contract schema, a counter), parsed when the
/// file is read. An unknown one is kept with the parser's message rather
/// than failing the deserialization, so `check` reports it at its position
/// together with every other problem of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name<T> {
    /// As written.
    pub(crate) text: String,
    /// What it names, or why it names nothing.
    pub(crate) parsed: Result<T, String>,
}

impl<T> fmt::Display for Name<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de, T: FromStr> Deserialize<'de> for Name<T>
where
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text.parse::<T>().map_err(|e| e.to_string());
        Ok(Name { text, parsed })
    }
}

/// One or more acceptable statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusSet(pub Vec<u16>);

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
pub(crate) struct HeaderMatch {
    /// The value is exactly this.
    pub(crate) equals: Option<String>,
    /// The value contains this.
    pub(crate) contains: Option<String>,
    /// The value matches this regular expression.
    pub(crate) matches: Option<String>,
    /// The header is present (`true`) or absent (`false`).
    pub(crate) exists: Option<bool>,
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
pub(crate) struct JsonExpect {
    /// `$.a.b[0]` or a JSON Pointer `/a/b/0`.
    pub(crate) path: Spanned<String>,
    /// The path exists (`true`) or not (`false`).
    pub(crate) exists: Option<bool>,
    /// The value equals this (strings are templates; numbers compare numerically).
    pub(crate) equals: Option<toml::Value>,
    /// The value differs from this.
    pub(crate) not_equals: Option<toml::Value>,
    /// JSON type: `string`, `number`, `integer`, `boolean`, `array`, `object`, `null`.
    #[serde(rename = "type")]
    pub(crate) ty: Option<Spanned<String>>,
    /// A string contains this text, an array contains this element, or an object has this key.
    pub(crate) contains: Option<toml::Value>,
    /// A string value matches this regular expression.
    pub(crate) matches: Option<Spanned<String>>,
    /// A string, array or object has this length.
    pub(crate) length: Option<u64>,
    /// Printed under this expectation when it fails (a template).
    pub(crate) because: Option<String>,
}

/// An exact counter expectation against the stub.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CounterExpect {
    /// `provision_calls` (legacy name), `provision` (route id),
    /// `total_requests`, `violations_total`, `unmatched`, or `status_501`.
    pub(crate) counter: Spanned<Name<CounterKind>>,
    /// Exact change since the baseline.
    pub(crate) delta: i64,
    /// Count only calls attributed to this org (template).
    pub(crate) org: Option<String>,
    /// Count only this replay's own calls (its `X-Replay-Id`, `${REPLAY_ID}`).
    #[serde(default)]
    pub(crate) replay: bool,
    /// Count only calls about this workspace (template).
    pub(crate) workspace: Option<String>,
    /// Measure since the start of this earlier step (default: this step).
    pub(crate) since: Option<Spanned<String>>,
    /// Printed under this expectation when it fails (a template).
    pub(crate) because: Option<String>,
}

/// Repeat a step until its expectations hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Poll {
    /// Give up after this long.
    pub(crate) timeout: Dur,
    /// Wait between attempts (default 250 ms).
    pub(crate) interval: Option<Dur>,
}
