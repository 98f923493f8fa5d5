//! The one redaction rule: which names are secret, and how a secret value
//! is masked. Every crate that prints, journals or reports anything applies
//! it (cp-stub's journal and log, the runner's output and reports, seed,
//! the reference tenant), so a secret kept out of one output is kept out of
//! all of them.
//!
//! A name is secret when, lower-cased, percent-decoded and cut into words at
//! every character that is not a letter or a digit, one of its words is a
//! secret word (`token`, `secret`, `password`, `key`, `pat`, `credentials`,
//! …), or it ends in one (`apitoken`, `x_apikey`). The exceptions are names
//! that end in such a word but carry no secret: `idempotency_key`, which
//! shows whether retries reuse one Start.
//!
//! ```
//! use contract::redact::{is_secret_name, redact_json, REDACTED};
//!
//! assert!(is_secret_name("MOLECULE_CP_SHARED_SECRET"));
//! assert!(is_secret_name("X-Auth-Token"));
//! assert!(is_secret_name("token%5B%5D"));
//! assert!(!is_secret_name("idempotency_key"));
//! assert!(!is_secret_name("workspace_id"));
//!
//! let mut body = serde_json::json!({"env": {"ADMIN_TOKEN": "t0p", "TIER": "1"}});
//! redact_json(&mut body);
//! assert_eq!(body["env"]["ADMIN_TOKEN"], REDACTED);
//! assert_eq!(body["env"]["TIER"], "1");
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// What a secret value is replaced by.
pub const REDACTED: &str = "<redacted>";

/// Words that make a name secret wherever they stand in it.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "token",
    "tokens",
    "password",
    "passwords",
    "passwd",
    "pwd",
    "key",
    "keys",
    "apikey",
    "pat",
    "credential",
    "credentials",
    "authorization",
    "cookie",
    "auth",
];

/// Endings that make a one-word name secret (`apitoken`, `dbpassword`).
const SECRET_SUFFIXES: &[&str] = &["secret", "token", "password", "apikey", "key", "keys"];

/// Names that look secret and are not.
const NOT_SECRET: &[&str] = &["idempotency_key", "idempotency-key", "idempotencykey"];

/// Whether a header name, JSON key, query key or variable name is secret.
pub fn is_secret_name(name: &str) -> bool {
    // Runs for every header of every request a server journals: no
    // allocation unless the name is percent-encoded.
    if name.contains('%') {
        return secret_decoded(&percent_decode_str(name).decode_utf8_lossy());
    }
    secret_decoded(name)
}

fn secret_decoded(name: &str) -> bool {
    if NOT_SECRET.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return false;
    }
    let is_word = |w: &&str| SECRET_WORDS.iter().any(|s| s.eq_ignore_ascii_case(w));
    if name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| is_word(&w))
    {
        return true;
    }
    // The name's letters and digits, from the end, against each suffix.
    SECRET_SUFFIXES.iter().any(|suffix| {
        let mut tail = name.bytes().rev().filter(u8::is_ascii_alphanumeric);
        suffix
            .bytes()
            .rev()
            .all(|b| tail.next().is_some_and(|t| t.eq_ignore_ascii_case(&b)))
    })
}

/// A header value as it may be shown: masked when the header is secret.
pub fn header_value<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_name(name) {
        REDACTED
    } else {
        value
    }
}

/// `Debug` of a secret field: the mask, whatever the value. For derived
/// `Debug` impls (`#[educe(Debug(method(contract::redact::debug_masked)))]`),
/// so no type hand-writes its own redacting `Debug`.
pub fn debug_masked<T: ?Sized>(_: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    fmt::Debug::fmt(REDACTED, f)
}

/// `Debug` of an optional secret: `None`, or `Some("<redacted>")`.
pub fn debug_masked_option<T>(value: &Option<T>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    fmt::Debug::fmt(&value.as_ref().map(|_| REDACTED), f)
}

/// `Debug` of a name → value map (an environment): each value under a
/// secret name masked (an empty one shown as it is).
pub fn debug_env(env: &BTreeMap<String, String>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_map()
        .entries(env.iter().map(|(k, v)| (k, shown(k, v))))
        .finish()
}

/// `Debug` of name → value pairs, as [`debug_env`].
pub fn debug_pairs(pairs: &[(String, String)], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_list()
        .entries(pairs.iter().map(|(k, v)| (k, shown(k, v))))
        .finish()
}

/// A value as `Debug` shows it: masked under a secret name, else with the
/// secrets inside it masked (a URL's password).
fn shown<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if !value.is_empty() && is_secret_name(name) {
        Cow::Borrowed(REDACTED)
    } else {
        text(value)
    }
}

/// Replace, in place and at any depth, every value under a secret key
/// (strings, numbers, arrays or objects alike: a secret can be any shape),
/// and in every string what [`text`] masks (the credentials of a URL, a
/// `token=…` pair).
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if is_secret_name(key) && !child.is_null() {
                    *child = Value::String(REDACTED.to_string());
                } else {
                    redact_json(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(value) => {
            // A string may itself hold `name=value` pairs or a URL.
            if let Cow::Owned(clean) = text(value) {
                *value = clean;
            }
        }
        _ => {}
    }
}

/// Mask, in place and at any depth, the secrets inside every string value
/// ([`text`]: `name=value` pairs, URL passwords) — but not values by their
/// key: for documents whose keys name secrets without holding them (a
/// tenant's evidence says `admin_token_set: true`).
pub fn redact_strings(value: &mut Value) {
    match value {
        Value::Object(map) => map.values_mut().for_each(redact_strings),
        Value::Array(items) => items.iter_mut().for_each(redact_strings),
        Value::String(value) => {
            if let Cow::Owned(clean) = text(value) {
                *value = clean;
            }
        }
        _ => {}
    }
}

/// A query string (without `?`) with the values of secret-named
/// parameters masked, whatever their percent-encoding.
pub fn query(raw: &str) -> Cow<'_, str> {
    if !raw.split('&').any(|pair| {
        pair.split_once('=')
            .is_some_and(|(k, v)| !v.is_empty() && is_secret_name(k))
    }) {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(
        raw.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if !v.is_empty() && is_secret_name(k) => format!("{k}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&"),
    )
}

/// A URL (or any text holding URLs) with the password of every
/// `scheme://user:password@host` masked, and its secret query values too.
pub fn url(text: &str) -> Cow<'_, str> {
    let without_credentials = url_credentials(text);
    match without_credentials.split_once('?') {
        Some((head, rest)) => {
            let (q, fragment) = match rest.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (rest, None),
            };
            match query(q) {
                Cow::Borrowed(_) => without_credentials,
                Cow::Owned(clean) => {
                    let mut out = format!("{head}?{clean}");
                    if let Some(f) = fragment {
                        out.push('#');
                        out.push_str(f);
                    }
                    Cow::Owned(out)
                }
            }
        }
        None => without_credentials,
    }
}

/// Raw text that may not parse — a JSON body cut short or malformed, a
/// form body, a config file line — with every secret value masked: the
/// value of each `"name": value` member and each `name=value` /
/// `name: value` pair whose name [`is_secret_name`] calls secret (a JSON
/// object or array value masked whole, an unterminated string to the end),
/// and the password of every URL (also percent-encoded in a form value).
/// Apply it before cutting the text: a cut never reveals what it masked.
pub fn text(raw: &str) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let mut out = String::new();
    // Copied up to here into `out` (only once something is masked).
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (name, name_end) = match bytes[i] {
            b'"' => match quoted_end(bytes, i) {
                Some(end) => (&raw[i + 1..end - 1], end),
                None => {
                    i += 1;
                    continue;
                }
            },
            b if is_name_byte(b) => {
                let end = i + bytes[i..].iter().take_while(|b| is_name_byte(**b)).count();
                (&raw[i..end], end)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let quoted = bytes[i] == b'"';
        let mut j = skip_blanks(bytes, name_end);
        let sep = bytes.get(j).copied();
        let is_pair = matches!(sep, Some(b':')) || (!quoted && sep == Some(b'='));
        if !is_pair {
            // A string that is no key may hold `k=v` pairs: look inside it.
            i = if quoted { i + 1 } else { name_end };
            continue;
        }
        j = skip_blanks(bytes, j + 1);
        let value_end = value_end(bytes, j, quoted);
        if value_end > j && is_secret_name(name) {
            out.push_str(&raw[copied..j]);
            if bytes[j] == b'"' {
                out.push('"');
                out.push_str(REDACTED);
                out.push('"');
            } else {
                out.push_str(REDACTED);
            }
            copied = value_end;
            i = value_end;
            continue;
        }
        if !quoted && value_end > j && raw[j..value_end].contains('%') {
            // A form value: a URL with credentials is percent-encoded there.
            let decoded = percent_decode_str(&raw[j..value_end]).decode_utf8_lossy();
            if let Cow::Owned(clean) = url_credentials(&decoded) {
                out.push_str(&raw[copied..j]);
                out.push_str(&clean);
                copied = value_end;
                i = value_end;
                continue;
            }
        }
        i = if quoted { i + 1 } else { name_end };
    }
    let masked = if copied == 0 {
        Cow::Borrowed(raw)
    } else {
        out.push_str(&raw[copied..]);
        Cow::Owned(out)
    };
    match masked {
        Cow::Borrowed(b) => url_credentials(b),
        Cow::Owned(o) => Cow::Owned(url_credentials(&o).into_owned()),
    }
}

/// [`text`] of `raw` (bytes that may not be UTF-8), then cut to at most
/// `max` bytes on a character boundary, with `… (N bytes, truncated)` after
/// a cut (N the size of `raw`).
pub fn excerpt(raw: &[u8], max: usize) -> String {
    let lossy = String::from_utf8_lossy(raw);
    let masked = text(&lossy);
    if masked.len() <= max {
        return masked.into_owned();
    }
    let mut cut = max;
    while !masked.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes, truncated)", &masked[..cut], raw.len())
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%' | b'[' | b']')
}

fn skip_blanks(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON string opening at `start`, if it closes.
fn quoted_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// End (exclusive) of the value starting at `start`: a string (to its
/// close, or the end), an object or array (to its matching close, or the
/// end), else a bare word.
fn value_end(bytes: &[u8], start: usize, json: bool) -> usize {
    match bytes.get(start) {
        None => start,
        Some(b'"') => quoted_end(bytes, start).unwrap_or(bytes.len()),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = quoted_end(bytes, i).unwrap_or(bytes.len());
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        Some(_) => {
            let stop: &[u8] = if json {
                b",}]\r\n \t"
            } else {
                b"&,;}]\"'\r\n \t"
            };
            start
                + bytes[start..]
                    .iter()
                    .take_while(|b| !stop.contains(b))
                    .count()
        }
    }
}

/// `text` with the password part of every `scheme://user:password@` masked.
fn url_credentials(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = after
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(REDACTED);
                    }
                    None => out.push_str(REDACTED),
                }
                out.push_str(&authority[at..]);
                changed = true;
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names() {
        for name in [
            "Authorization",
            "x-molecule-admin-token",
            "X-Api-Key",
            "X-Auth-Token",
            "Cookie",
            "MOLECULE_CP_SHARED_SECRET",
            "ADMIN_TOKEN",
            "api_key",
            "API_KEYS",
            "GITHUB_PAT",
            "CREDENTIALS",
            "Password",
            "apitoken",
            "token%00",
            "token[]",
            "token%5B%5D",
            ".auth-token",
        ] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
        for name in [
            "idempotency_key",
            "workspace_id",
            "keyring",
            "X-Molecule-Org-Id",
            "instance_id",
            "path",
            "MOLECULE_LLM_USAGE_URL",
            "content-type",
        ] {
            assert!(!is_secret_name(name), "{name} should not be secret");
        }
    }

    #[test]
    fn json_is_redacted_at_any_depth_whatever_the_value_type() {
        let mut v = json!({
            "MOLECULE_CP_SHARED_SECRET": "s1",
            "api_key": "k",
            "Password": "p",
            "keyring": "not a secret",
            "idempotency_key": "cpprov-0123",
            "nested": {"ADMIN_TOKEN": "t", "list": [{"x_token": "y"}]},
            "count_key": 3,
            "CREDENTIALS": {"user": "u", "pw": "p"},
            "DATABASE_URL": "postgres://u:pw@h/db",
            "none_token": null
        });
        redact_json(&mut v);
        assert_eq!(v["MOLECULE_CP_SHARED_SECRET"], REDACTED);
        assert_eq!(v["api_key"], REDACTED);
        assert_eq!(v["Password"], REDACTED);
        assert_eq!(v["keyring"], "not a secret");
        assert_eq!(v["idempotency_key"], "cpprov-0123");
        assert_eq!(v["nested"]["ADMIN_TOKEN"], REDACTED);
        assert_eq!(v["nested"]["list"][0]["x_token"], REDACTED);
        assert_eq!(v["count_key"], REDACTED);
        assert_eq!(v["CREDENTIALS"], REDACTED);
        assert_eq!(v["DATABASE_URL"], format!("postgres://u:{REDACTED}@h/db"));
        assert_eq!(v["none_token"], Value::Null);
    }

    #[test]
    fn queries_and_urls() {
        assert_eq!(query("a=1&b=2"), "a=1&b=2");
        assert_eq!(
            query("instance_id=i&access_token=abc&token%5B%5D=x"),
            format!("instance_id=i&access_token={REDACTED}&token%5B%5D={REDACTED}")
        );
        assert_eq!(
            url("http://h:1/p?token=s3cr3t&x=1#f"),
            format!("http://h:1/p?token={REDACTED}&x=1#f")
        );
        assert_eq!(
            url("see postgres://u:pw@h:5432/db and redis://:pw@r"),
            format!("see postgres://u:{REDACTED}@h:5432/db and redis://:{REDACTED}@r")
        );
        assert_eq!(url("http://h/p"), "http://h/p");
        assert!(matches!(url("http://h/p?a=1"), Cow::Borrowed(_)));
    }

    #[test]
    fn debug_helpers_mask_secrets() {
        struct D<'a>(
            &'a BTreeMap<String, String>,
            &'a [(String, String)],
            Option<&'a str>,
        );
        impl fmt::Debug for D<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                debug_env(self.0, f)?;
                debug_pairs(self.1, f)?;
                debug_masked(&"s3cret", f)?;
                debug_masked_option(&self.2, f)
            }
        }
        let env = BTreeMap::from([
            ("ADMIN_TOKEN".to_string(), "t0p".to_string()),
            ("EMPTY_TOKEN".to_string(), String::new()),
            ("PORT".to_string(), "1".to_string()),
        ]);
        let pairs = vec![("X_SECRET".to_string(), "s3".to_string())];
        let text = format!("{:?}", D(&env, &pairs, Some("p4ss")));
        assert_eq!(
            text,
            r#"{"ADMIN_TOKEN": "<redacted>", "EMPTY_TOKEN": "", "PORT": "1"}[("X_SECRET", "<redacted>")]"<redacted>"Some("<redacted>")"#
        );
    }

    #[test]
    fn raw_text_is_masked_whatever_its_shape() {
        let cases = [
            (r#"{"env":{"ADMIN_TOKEN":"S3CRET-X""#, "S3CRET-X"),
            (
                r#"{"env": {"ADMIN_TOKEN" : "S3CRET-D", "PAD": "xx"#,
                "S3CRET-D",
            ),
            ("a=1&token=S3CRET-F&b=2", "S3CRET-F"),
            ("token%00=S3CRET-N&x=1", "S3CRET-N"),
            ("token[]=S3CRET-A", "S3CRET-A"),
            ("DATABASE_URL=postgres://u:S3CRET-U@h/db", "S3CRET-U"),
            (
                "DATABASE_URL=postgres%3A%2F%2Fu%3AS3CRET-E%40h%2Fdb",
                "S3CRET-E",
            ),
            (
                r#"{"CREDENTIALS": {"user": "u", "pw": "S3CRET-C"}, "x": 1"#,
                "S3CRET-C",
            ),
            (r#"{"API_KEYS": ["S3CRET-K1", "S3CRET-K2"]"#, "S3CRET-K"),
            ("shared_secret = \"S3CRET-T\"", "S3CRET-T"),
            ("X-Api-Key: S3CRET-H", "S3CRET-H"),
            (r#"{"note":"token=S3CRET-Q"}"#, "S3CRET-Q"),
            (r#"{"GITHUB_PAT":12345678}"#, "12345678"),
        ];
        for (raw, secret) in cases {
            let clean = text(raw);
            assert!(!clean.contains(secret), "{raw} -> {clean}");
            assert!(clean.contains(REDACTED), "{raw} -> {clean}");
        }
        for raw in [
            r#"{"idempotency_key":"cpprov-1","workspace_id":"w"}"#,
            "a=1&b=2",
            "plain text",
        ] {
            assert!(matches!(text(raw), Cow::Borrowed(_)), "{raw}");
        }
        let big = format!(
            r#"{{"ADMIN_TOKEN":"S3CRET-BIG","PAD":"{}"}}"#,
            "x".repeat(100)
        );
        let cut = excerpt(big.as_bytes(), 40);
        assert!(!cut.contains("S3CRET"), "{cut}");
        assert!(
            cut.ends_with(&format!("({} bytes, truncated)", big.len())),
            "{cut}"
        );
    }

    #[test]
    fn header_values() {
        assert_eq!(header_value("Authorization", "Bearer x"), REDACTED);
        assert_eq!(header_value("X-Molecule-Org-Id", "org"), "org");
    }
}
