//! The JSON path subset replays use.
//!
//! Two spellings, both resolving to one value (no wildcards, no filters):
//!
//! - JSONPath-like: `$` (the root), `$.a.b`, `$.items[0].id`, `$['odd key']`,
//!   `$["x.y"]`, and negative indexes from the end (`$.items[-1]`);
//! - JSON Pointer (RFC 6901): `/a/b/0/c` (`~1` is `/`, `~0` is `~`); `""` is the root.

use std::fmt;

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// An object key.
    Key(String),
    /// An array index; negative counts from the end.
    Index(i64),
    /// A JSON Pointer segment: an index on arrays, a key on objects.
    Pointer(String),
}

/// A parsed JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath {
    raw: String,
    segs: Vec<Seg>,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl JsonPath {
    /// The object keys the path walks through (JSON Pointer segments
    /// included: they may be keys), in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.segs.iter().filter_map(|s| match s {
            Seg::Key(k) | Seg::Pointer(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
    }

    /// Parse a path; the error says what is wrong and how to write it.
    pub(crate) fn parse(raw: &str) -> Result<JsonPath, String> {
        let segs = if raw.is_empty() {
            Vec::new()
        } else if let Some(rest) = raw.strip_prefix('/') {
            rest.split('/')
                .map(|s| Seg::Pointer(s.replace("~1", "/").replace("~0", "~")))
                .collect()
        } else if let Some(rest) = raw.strip_prefix('$') {
            parse_dollar(rest).map_err(|e| {
                format!("bad JSON path `{raw}`: {e} (write `$.a.b[0]`, `$['a key']` or a JSON Pointer `/a/b/0`)")
            })?
        } else {
            return Err(format!(
                "bad JSON path `{raw}`: start with `$` (`$.a.b[0]`) or `/` (JSON Pointer `/a/b/0`)"
            ));
        };
        Ok(JsonPath {
            raw: raw.to_string(),
            segs,
        })
    }

    /// Whether the path goes through a secret-named key (its value is
    /// never shown).
    pub(crate) fn is_secret(&self) -> bool {
        self.segs.iter().any(|s| match s {
            Seg::Key(k) | Seg::Pointer(k) => contract::redact::is_secret_name(k),
            Seg::Index(_) => false,
        })
    }

    /// The value at this path, if there is one.
    pub(crate) fn resolve<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        let mut cur = root;
        for seg in &self.segs {
            cur = match (seg, cur) {
                (Seg::Key(k), Value::Object(m)) => m.get(k)?,
                (Seg::Index(i), Value::Array(a)) => a.get(index(*i, a.len())?)?,
                (Seg::Pointer(p), Value::Object(m)) => m.get(p)?,
                (Seg::Pointer(p), Value::Array(a)) => {
                    if p.starts_with('+') || (p.len() > 1 && p.starts_with('0')) {
                        return None;
                    }
                    a.get(p.parse::<usize>().ok()?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }
}

fn index(i: i64, len: usize) -> Option<usize> {
    if i >= 0 {
        usize::try_from(i).ok()
    } else {
        len.checked_sub(usize::try_from(i.unsigned_abs()).ok()?)
    }
}

fn parse_dollar(mut rest: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() {
                return Err("empty name after `.`".into());
            }
            segs.push(Seg::Key(name.to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            if let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') {
                // A quoted key may contain `]` and `.`; find the closing quote first.
                let body = &r[1..];
                let end = body.find(q).ok_or("unclosed quote")?;
                let after = body[end + 1..]
                    .strip_prefix(']')
                    .ok_or("expected `]` after the quoted key")?;
                segs.push(Seg::Key(body[..end].to_string()));
                rest = after;
                continue;
            }
            let close = r.find(']').ok_or("unclosed `[`")?;
            let inner = r[..close].trim();
            let i: i64 = inner
                .parse()
                .map_err(|_| format!("`[{inner}]` is not an index or a quoted key"))?;
            segs.push(Seg::Index(i));
            rest = &r[close + 1..];
        } else {
            return Err(format!(
                "unexpected `{}`",
                rest.chars().next().unwrap_or(' ')
            ));
        }
    }
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(path: &str, v: &Value) -> Option<Value> {
        JsonPath::parse(path).unwrap().resolve(v).cloned()
    }

    #[test]
    fn dollar_paths() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}, "odd key": 1, "x.y": 2, "k]": 3});
        assert_eq!(get("$", &v), Some(v.clone()));
        assert_eq!(get("$.a.b[0]", &v), Some(json!(10)));
        assert_eq!(get("$.a.b[1].c", &v), Some(json!("x")));
        assert_eq!(get("$.a.b[-1].c", &v), Some(json!("x")));
        assert_eq!(get("$['odd key']", &v), Some(json!(1)));
        assert_eq!(get("$[\"x.y\"]", &v), Some(json!(2)));
        assert_eq!(get("$['k]']", &v), Some(json!(3)));
        assert_eq!(get("$.a.b[5]", &v), None);
        assert_eq!(get("$.a.b[-3]", &v), None);
        assert_eq!(get("$.nope", &v), None);
        assert_eq!(get("$.a.b.c", &v), None);
    }

    #[test]
    fn pointer_paths() {
        let v = json!({"a": {"b": [10, 20]}, "s/t": 1, "m~n": 2});
        assert_eq!(get("", &v), Some(v.clone()));
        assert_eq!(get("/a/b/1", &v), Some(json!(20)));
        assert_eq!(get("/s~1t", &v), Some(json!(1)));
        assert_eq!(get("/m~0n", &v), Some(json!(2)));
        assert_eq!(get("/a/b/01", &v), None);
    }

    #[test]
    fn bad_paths_say_how_to_write_them() {
        for bad in ["a.b", "$.", "$[x]", "$[0", "$..a"] {
            let e = JsonPath::parse(bad).unwrap_err();
            assert!(
                e.contains("bad JSON path") || e.contains("start with"),
                "{bad}: {e}"
            );
        }
    }
}
