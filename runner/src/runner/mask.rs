//! No secret in anything the runner prints or writes: the one rule of
//! `contract::redact` (secret header names, JSON keys and query keys,
//! credentials in URLs) applied to every request and answer where it is
//! shown, and then every value of a secret-named variable masked wherever it
//! appears ([`Secrets`]), as the last pass over each report and each
//! rendered text.
//!
//! Both happen before any truncation: a body is redacted, then cut, so a
//! secret never shows as its first half.

use std::borrow::Cow;

use contract::redact::{self, REDACTED};
use serde_json::Value;

use crate::report::{Bundle, Check, ReplayReport, StepReport, Summary};

/// Values shorter than this are not masked as text (a 1-character secret
/// would mask every occurrence of that letter).
pub(crate) const MIN_SECRET_CHARS: usize = 4;

/// Extra passes after the first, for a secret that only appears once a
/// neighbour was masked (it then straddles a mask's `<` or `>`).
const EXTRA_PASSES: usize = 3;

/// The values of secret-named variables known to a run, masked wherever
/// they appear.
#[derive(Clone, Default, educe::Educe)]
#[educe(Debug)]
pub(crate) struct Secrets {
    /// Longest first, no duplicates.
    #[educe(Debug(method(contract::redact::debug_masked)))]
    values: Vec<String>,
}

impl Secrets {
    /// Remember `value` when `name` is secret by the rule and the value is
    /// long enough to mask; whether it was new.
    pub(crate) fn add(&mut self, name: &str, value: &str) -> bool {
        if !redact::is_secret_name(name) {
            return false;
        }
        self.add_value(value)
    }

    /// Remember a value known to be secret; whether it was new.
    pub(crate) fn add_value(&mut self, value: &str) -> bool {
        if value.chars().count() < MIN_SECRET_CHARS || self.values.iter().any(|v| v == value) {
            return false;
        }
        // Kept sorted longest first: a secret that contains another is
        // masked whole.
        let at = self
            .values
            .iter()
            .position(|v| v.len() < value.len())
            .unwrap_or(self.values.len());
        self.values.insert(at, value.to_string());
        true
    }

    /// Every value of `other` too.
    pub(crate) fn extend(&mut self, other: &Secrets) {
        for v in &other.values {
            self.add_value(v);
        }
    }

    /// Whether there is nothing to mask.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every occurrence of every secret value replaced by
    /// [`REDACTED`]; overlapping occurrences become one mask.
    pub(crate) fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.is_empty() {
            return Cow::Borrowed(text);
        }
        let Cow::Owned(mut out) = mask_once(text, self.values.iter()) else {
            return Cow::Borrowed(text);
        };
        // A value inside the mask itself ("dact") is masked where it stood
        // in the text; looking for it again would never end.
        for _ in 0..EXTRA_PASSES {
            match mask_once(
                &out,
                self.values
                    .iter()
                    .filter(|v| !REDACTED.contains(v.as_str())),
            ) {
                Cow::Owned(again) => out = again,
                Cow::Borrowed(_) => break,
            }
        }
        Cow::Owned(out)
    }

    /// [`Secrets::mask`] in place.
    pub(crate) fn mask_string(&self, s: &mut String) {
        if let Cow::Owned(m) = self.mask(s) {
            *s = m;
        }
    }

    /// Mask every text of a replay's report, the URLs in it redacted by
    /// the rule as well.
    pub(crate) fn report(&self, r: &mut ReplayReport) {
        let m = |s: &mut String| self.mask_string(s);
        m(&mut r.name);
        r.reason.as_mut().map(m);
        r.errors.iter_mut().for_each(|e| {
            *e = redact::url(e).into_owned();
            m(e);
        });
        r.steps.iter_mut().for_each(|s| self.step(s));
        r.output.as_mut().map(m);
        if let Some(b) = &mut r.bundle {
            self.bundle(b);
        }
    }

    fn step(&self, s: &mut StepReport) {
        let m = |s: &mut String| self.mask_string(s);
        m(&mut s.name);
        for text in [s.url.as_mut(), s.error.as_mut()].into_iter().flatten() {
            *text = redact::url(text).into_owned();
            m(text);
        }
        s.because.as_mut().map(m);
        s.checks.iter_mut().for_each(|c| self.check(c));
    }

    fn check(&self, c: &mut Check) {
        let m = |s: &mut String| self.mask_string(s);
        m(&mut c.label);
        c.expected.as_mut().map(m);
        c.actual.as_mut().map(m);
        c.details.iter_mut().for_each(m);
        c.because.as_mut().map(m);
    }

    fn bundle(&self, b: &mut Bundle) {
        let m = |s: &mut String| self.mask_string(s);
        b.curl.as_mut().map(m);
        m(&mut b.rerun);
        b.journal.iter_mut().for_each(m);
        if let Some(note) = &mut b.journal_note {
            *note = redact::url(note).into_owned();
            m(note);
        }
    }

    /// Mask every report of a run.
    pub(crate) fn summary(&self, s: &mut Summary) {
        s.replays.iter_mut().for_each(|r| self.report(r));
    }

    /// Mask every string of a JSON document (a report about to be written:
    /// its syntax stays valid whatever the secrets are).
    pub(crate) fn json(&self, v: &mut Value) {
        match v {
            Value::String(s) => self.mask_string(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.json(x)),
            Value::Object(o) => o.values_mut().for_each(|x| self.json(x)),
            _ => {}
        }
    }
}

/// One pass: every occurrence (overlapping ones too) of every value found
/// in the original text, the covered ranges merged, each replaced once.
fn mask_once<'t, 'v>(text: &'t str, values: impl Iterator<Item = &'v String>) -> Cow<'t, str> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for v in values {
        let mut from = 0;
        while let Some(i) = text[from..].find(v.as_str()) {
            let start = from + i;
            ranges.push((start, start + v.len()));
            // The next char boundary, so overlapping occurrences count too.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut current: Option<(usize, usize)> = None;
    for (s, e) in ranges {
        match &mut current {
            Some((_, ce)) if s <= *ce => *ce = (*ce).max(e),
            _ => {
                if let Some((cs, ce)) = current.take() {
                    out.push_str(&text[pos..cs]);
                    out.push_str(REDACTED);
                    pos = ce;
                }
                current = Some((s, e));
            }
        }
    }
    if let Some((cs, ce)) = current {
        out.push_str(&text[pos..cs]);
        out.push_str(REDACTED);
        pos = ce;
    }
    out.push_str(&text[pos..]);
    Cow::Owned(out)
}

/// A JSON value with the rule applied (secret keys, URL credentials).
pub(crate) fn json(v: &Value) -> Value {
    let mut c = v.clone();
    redact::redact_json(&mut c);
    c
}

/// A body as it may be shown: JSON with its secret keys masked (kept as
/// sent when nothing was secret), any other text with its secret
/// `key=value` pairs and URL credentials masked.
pub(crate) fn body(text: &str, parsed: Option<&Value>) -> String {
    match parsed {
        Some(v) => {
            let clean = json(v);
            if clean == *v {
                text.to_string()
            } else {
                clean.to_string()
            }
        }
        None => redact::url(&redact::query(text)).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secrets(values: &[&str]) -> Secrets {
        let mut s = Secrets::default();
        for v in values {
            s.add_value(v);
        }
        s
    }

    #[test]
    fn masks_longest_first_and_overlaps_once() {
        let s = secrets(&["abcd", "abcdefgh", "cdefXY"]);
        assert_eq!(s.mask("x abcdefgh y"), format!("x {REDACTED} y"));
        assert_eq!(s.mask("abcdefXY!"), format!("{REDACTED}!"));
        assert_eq!(s.mask("nothing here"), "nothing here");
        assert!(matches!(s.mask("nothing"), Cow::Borrowed(_)));
        // Short values and non-secret names are not remembered.
        let mut t = Secrets::default();
        assert!(!t.add("ADMIN_TOKEN", "abc"));
        assert!(!t.add("WORKSPACE_ID", "ws-1234"));
        assert!(t.add("ADMIN_TOKEN", "abcd"));
        assert!(!t.add("OTHER_TOKEN", "abcd"));
        assert!(!format!("{t:?}").contains("abcd"));
    }

    #[test]
    fn a_secret_next_to_a_mask_is_masked_too() {
        // "abcd" masked first leaves "<redacted>x1", which holds "ted>x1".
        let s = secrets(&["abcd", "ted>x1"]);
        let out = s.mask("abcdx1");
        assert!(!out.contains("ted>x1"), "{out}");
        // A value inside the mask terminates.
        let s = secrets(&["dact", "zzzz"]);
        assert_eq!(s.mask("zzzz dact"), format!("{REDACTED} {REDACTED}"));
    }

    #[test]
    fn bodies() {
        let v = serde_json::json!({"MOLECULE_CP_SHARED_SECRET": "s3cr3t", "a": 1});
        let text = r#"{"MOLECULE_CP_SHARED_SECRET": "s3cr3t", "a": 1}"#;
        let b = body(text, Some(&v));
        assert!(!b.contains("s3cr3t") && b.contains(REDACTED), "{b}");
        let plain = r#"{"a": 1}"#;
        assert_eq!(
            body(plain, serde_json::from_str(plain).ok().as_ref()),
            plain
        );
        assert_eq!(body("token=abc&x=1", None), format!("token={REDACTED}&x=1"));
        assert_eq!(
            body("see postgres://u:pw@h/db", None),
            format!("see postgres://u:{REDACTED}@h/db")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A secret value embedded anywhere in arbitrary text never
        /// survives the masking pass, whatever else is masked around it.
        #[test]
        fn an_embedded_secret_never_survives(
            before in any::<String>(),
            after in any::<String>(),
            secret in "[A-Za-z0-9_.:/+=-]{4,24}",
            others in proptest::collection::vec("[ -;=?-~]{0,12}", 0..4),
        ) {
            prop_assume!(!REDACTED.contains(secret.as_str()));
            let mut s = secrets(&[&secret]);
            for o in &others {
                s.add_value(o);
            }
            let text = format!("{before}{secret}{after}");
            let out = s.mask(&text);
            prop_assert!(!out.contains(secret.as_str()), "{:?} survived in {:?}", secret, out);
            for o in others.iter().filter(|o| o.chars().count() >= MIN_SECRET_CHARS) {
                prop_assert!(
                    REDACTED.contains(o.as_str()) || !out.contains(o.as_str()),
                    "{:?} survived in {:?}", o, out
                );
            }
        }
    }
}
