//! `contract::is_valid_json` (bytes, no `serde_json::Value`) must give the
//! same verdict as parsing to a `Value` and calling `contract::validate`,
//! for every schema, on valid documents and on every way of breaking them.

use serde_json::{json, Map, Value};

/// The reference: parse to a `Value`, then the full validation.
fn reference(schema: contract::SchemaId, text: &[u8]) -> bool {
    serde_json::from_slice::<Value>(text)
        .map(|v| contract::validate(schema, &v).unwrap().is_empty())
        .unwrap_or(false)
}

/// A document the schema accepts, built from the schema itself.
fn sample(schema: &Value) -> Value {
    let ty = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object");
    match ty {
        "string" => {
            let n = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0);
            Value::String("é".repeat(n.max(1) as usize))
        }
        "integer" | "number" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
        "boolean" => json!(true),
        "null" => Value::Null,
        "array" => {
            let n = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1);
            let item = schema.get("items").map(sample).unwrap_or(json!("x"));
            Value::Array(vec![item; n.max(1) as usize])
        }
        _ => {
            let mut map = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    map.insert(k.clone(), sample(sub));
                }
            }
            if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                map.insert("EXTRA_KEY".into(), sample(extra));
            }
            Value::Object(map)
        }
    }
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1.0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(-2147483649_i64),
        json!(2147483648_i64),
        json!(""),
        json!("é"),
        json!("x"),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"a": "b"}),
        json!({"a": 1}),
    ]
}

/// Every JSON Pointer of `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Valid documents and systematic breakages of them, as text.
fn corpus() -> Vec<String> {
    let mut docs: Vec<Value> = Vec::new();
    for name in contract::SchemaId::ALL {
        docs.push(sample(contract::schema(name).unwrap()));
    }
    for route in contract::ROUTES {
        if let Some(body) = contract::example_request(route, "org-a", "ws-1") {
            docs.push(body);
        }
    }
    let mut texts: Vec<String> = Vec::new();
    for doc in &docs {
        texts.push(doc.to_string());
        texts.push(serde_json::to_string_pretty(doc).unwrap());
        let mut ptrs = Vec::new();
        pointers(doc, String::new(), &mut ptrs);
        for ptr in &ptrs {
            for r in replacements() {
                let mut d = doc.clone();
                *d.pointer_mut(ptr).unwrap() = r;
                texts.push(d.to_string());
            }
            // Remove the member, when it is one.
            if let Some((parent, key)) = ptr.rsplit_once('/') {
                let mut d = doc.clone();
                if let Some(Value::Object(map)) = d.pointer_mut(parent) {
                    map.shift_remove(key);
                    texts.push(d.to_string());
                }
                // Repeat the key: a bad value first, then the good one
                // (the last wins), and the other way round.
                let good = doc.pointer(ptr).unwrap().to_string();
                let text = doc.to_string();
                let member = format!("{}:{good}", json!(key));
                if let Some(at) = text.find(&member) {
                    for bad in ["null", "\"\"", "{}", "[1]", "1.5"] {
                        let first = format!("{}:{bad},{member}", json!(key));
                        texts.push(format!(
                            "{}{first}{}",
                            &text[..at],
                            &text[at + member.len()..]
                        ));
                        let last = format!("{member},{}:{bad}", json!(key));
                        texts.push(format!(
                            "{}{last}{}",
                            &text[..at],
                            &text[at + member.len()..]
                        ));
                    }
                    // The key written with an escape.
                    if let Some(c) = key.chars().next() {
                        let escaped = format!("\"\\u{:04x}{}\"", c as u32, &key[c.len_utf8()..]);
                        texts.push(format!(
                            "{}{escaped}:{good}{}",
                            &text[..at],
                            &text[at + member.len()..]
                        ));
                    }
                }
            }
            // An undeclared member.
            if let Some(Value::Object(_)) = doc.pointer(ptr) {
                for r in [json!("x"), json!(1), json!({})] {
                    let mut d = doc.clone();
                    if let Some(Value::Object(map)) = d.pointer_mut(ptr) {
                        map.insert("undeclared".into(), r);
                    }
                    texts.push(d.to_string());
                }
            }
        }
        // Not quite JSON.
        let text = doc.to_string();
        let half = (0..=text.len() / 2)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        texts.push(text[..half].to_string());
        texts.push(format!("{text} x"));
        texts.push(format!("{text}{text}"));
        texts.push(format!("  {text}\n"));
    }
    texts.extend(
        [
            "",
            "null",
            "1",
            "\"s\"",
            "[]",
            "{}",
            "[{}]",
            "{",
            "{\"a\":\"\\ud800\"}",
        ]
        .map(String::from),
    );
    texts.sort();
    texts.dedup();
    texts
}

#[test]
fn is_valid_json_agrees_with_validate_on_every_schema() {
    let texts = corpus();
    assert!(texts.len() > 1000, "corpus too small: {}", texts.len());
    let mut valid = 0;
    for name in contract::SchemaId::ALL {
        for text in &texts {
            let expected = reference(name, text.as_bytes());
            let fast = contract::is_valid_json(name, text.as_bytes()).unwrap();
            assert_eq!(fast, expected, "schema {name}, document {text}");
            valid += usize::from(expected);
        }
    }
    // The corpus exercises both verdicts.
    assert!(valid > 100, "only {valid} valid cases");
}

#[test]
fn json_doc_reads_like_a_value() {
    let names = [
        "org_id",
        "workspace_id",
        "runtime",
        "slug",
        "name",
        "env",
        "tier",
        "x",
    ];
    let mut texts = corpus();
    texts.extend(
        [
            r#"{"org_id":"first","org_id":"last"}"#,
            r#"{"org_id":"first","org_id":5}"#,
            r#"{"org_id":5,"org_id":"last"}"#,
            r#"{"org\u005fid":"escaped key","name":"caf\u00e9 \"q\""}"#,
            r#"[{"org_id":"in an array"}]"#,
            r#""org_id""#,
        ]
        .map(String::from),
    );
    for text in &texts {
        let value = serde_json::from_slice::<Value>(text.as_bytes()).ok();
        let doc = contract::JsonDoc::parse(text.as_bytes());
        assert_eq!(doc.is_some(), value.is_some(), "{text}");
        let (Some(doc), Some(value)) = (doc, value) else {
            continue;
        };
        assert_eq!(doc.to_value(), value, "{text}");
        for name in names {
            assert_eq!(
                doc.str_member(name),
                value.get(name).and_then(Value::as_str),
                "{name} in {text}"
            );
        }
        for schema in contract::SchemaId::ALL {
            assert_eq!(
                doc.is_valid(schema).unwrap(),
                contract::validate(schema, &value).unwrap().is_empty(),
                "{schema}: {text}"
            );
        }
    }
}
