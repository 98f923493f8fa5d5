//! Percent-decoding of the parts of a request URI the stub reads: query
//! parameters (where `+` is a space, as HTML forms write it) and path
//! parameters (where `+` is a `+`).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// A path segment, percent-decoded (`+` stays `+`).
pub(crate) fn decode_path(segment: &str) -> Cow<'_, str> {
    percent_decode_str(segment).decode_utf8_lossy()
}

/// A query string key or value, percent-decoded with `+` as a space.
pub(crate) fn decode_query(part: &str) -> Cow<'_, str> {
    if part.contains('+') {
        Cow::Owned(
            percent_decode_str(&part.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned(),
        )
    } else {
        decode_path(part)
    }
}

/// The decoded `(key, value)` pairs of a query string, empty pairs skipped.
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_query(k), decode_query(v))
    })
}

/// The value of query parameter `name`, decoded (the first one wins).
pub(crate) fn param(query: Option<&str>, name: &str) -> Option<String> {
    pairs(query?)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_a_space_only_in_queries() {
        assert_eq!(decode_path("a+b%20c"), "a+b c");
        assert_eq!(decode_query("a+b%20c%2B"), "a b c+");
        assert_eq!(decode_path("100%"), "100%");
        assert_eq!(
            param(Some("x=1&instance_id=i+1%2F2&y"), "instance_id").as_deref(),
            Some("i 1/2")
        );
        assert_eq!(param(Some("a=1"), "b"), None);
        assert_eq!(param(None, "a"), None);
    }
}
