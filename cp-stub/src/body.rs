//! The few top-level string fields of a request body the stub answers with
//! (`org_id`, `workspace_id`, `runtime`, and create-org's `slug`, `name`,
//! `owner_user_id`): read from the [`contract::JsonDoc`] the body was
//! validated as (no `serde_json::Value` on the hot path), or from the
//! `Value` an invalid body is parsed into for its violations. Both read
//! like `value.get(name).and_then(Value::as_str)`, and only the fields an
//! answer asks for are looked up.

use contract::JsonDoc;
use serde_json::Value;

/// A field the stub reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    OrgId,
    WorkspaceId,
    Runtime,
    Slug,
    Name,
    OwnerUserId,
}

impl Field {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::OrgId => "org_id",
            Field::WorkspaceId => "workspace_id",
            Field::Runtime => "runtime",
            Field::Slug => "slug",
            Field::Name => "name",
            Field::OwnerUserId => "owner_user_id",
        }
    }
}

/// Where a body's fields are read from.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum BodyFields<'a> {
    /// No body, or not JSON: every field is absent.
    #[default]
    None,
    Doc(&'a JsonDoc<'a>),
    Value(&'a Value),
}

impl<'a> BodyFields<'a> {
    /// The field's value when the body is an object with that member as a string.
    pub(crate) fn get(&self, field: Field) -> Option<&'a str> {
        match self {
            BodyFields::None => None,
            BodyFields::Doc(doc) => doc.str_member(field.name()),
            BodyFields::Value(value) => value.get(field.name()).and_then(Value::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sources_agree() {
        let all = [
            Field::OrgId,
            Field::WorkspaceId,
            Field::Runtime,
            Field::Slug,
            Field::Name,
            Field::OwnerUserId,
        ];
        for text in [
            r#"{"org_id":"o","workspace_id":"w","runtime":"r","tier":1,"env":{"org_id":"inner"}}"#,
            r#"{"slug":"s","name":"n","owner_user_id":"u","org_id":5}"#,
            r#"{"org_id":"first","org_id":"last"}"#,
            r#"["org_id"]"#,
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let doc = JsonDoc::parse(text.as_bytes()).unwrap();
            for f in all {
                assert_eq!(
                    BodyFields::Doc(&doc).get(f),
                    BodyFields::Value(&value).get(f),
                    "{text}"
                );
            }
        }
    }
}
