//! `${VAR}` templates: scanning (for `check` and preflight) and expansion.
//!
//! `${NAME}` is replaced by the variable's value; `$${` writes a literal
//! `${`; any other `$` is literal. Names are `[A-Za-z_][A-Za-z0-9_]*`.

/// The variable names a template refers to, in order of appearance.
pub(crate) fn refs(template: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    expand_with(template, |name| {
        out.push(name.to_string());
        Some(String::new())
    })
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Expand {
    /// A `${` without `}` or a bad name.
    #[error("{0}")]
    Syntax(String),
    /// The lookup had no value for this name.
    #[error("`${{{0}}}` has no value (not captured, not set)")]
    Missing(String),
}

/// Expand a template with `lookup`.
pub(crate) fn expand_with(
    template: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, Expand> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix("${") {
            out.push_str("${");
            rest = a;
        } else if let Some(a) = after.strip_prefix('{') {
            let end = a.find('}').ok_or_else(|| {
                Expand::Syntax(format!(
                    "unclosed `${{` in `{template}` (write `${{NAME}}`)"
                ))
            })?;
            let name = &a[..end];
            if !valid_name(name) {
                return Err(Expand::Syntax(format!(
                    "`${{{name}}}` in `{template}` is not a variable name (letters, digits and `_`, not starting with a digit)"
                )));
            }
            let value = lookup(name).ok_or_else(|| Expand::Missing(name.to_string()))?;
            out.push_str(&value);
            rest = &a[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `name` is a valid variable name.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_escapes() {
        let got = expand_with("a ${X}/$${Y} $5 ${X}", |n| (n == "X").then(|| "x".into())).unwrap();
        assert_eq!(got, "a x/${Y} $5 x");
        assert_eq!(refs("${A}-${B_2}").unwrap(), vec!["A", "B_2"]);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(
            expand_with("${A", |_| None),
            Err(Expand::Syntax(_))
        ));
        assert!(matches!(
            expand_with("${1A}", |_| None),
            Err(Expand::Syntax(_))
        ));
        assert_eq!(
            expand_with("${NOPE}", |_| None),
            Err(Expand::Missing("NOPE".into()))
        );
    }
}
