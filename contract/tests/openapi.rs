//! The checked-in OpenAPI document must equal the one generated from the
//! route table and schemas. Regenerate with
//! `UPDATE_OPENAPI=1 cargo test -p contract --test openapi`.

use std::path::PathBuf;

use serde_json::Value;

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(contract::OPENAPI_FILE)
}

#[test]
fn checked_in_openapi_matches_the_contract() {
    let generated = contract::openapi();
    let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
    let path = checked_in_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} unreadable ({e}); run UPDATE_OPENAPI=1 cargo test -p contract --test openapi",
            path.display()
        )
    });
    let on_disk: Value = serde_json::from_str(&on_disk).unwrap();
    assert!(
        on_disk == generated,
        "contract/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p contract --test openapi"
    );
}

#[test]
fn every_route_is_in_the_document_with_its_schemas() {
    let doc = contract::openapi();
    for route in contract::ROUTES {
        let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
        assert_eq!(op["operationId"], route.id.as_str(), "{}", route.id);
        let ok = &op["responses"][route.status.to_string()]["content"]["application/json"]
            ["schema"]["$ref"];
        assert_eq!(
            ok,
            &format!("#/components/schemas/{}", route.response_schema)
        );
        match route.request_schema {
            Some(name) => {
                let req = &op["requestBody"]["content"]["application/json"];
                assert_eq!(
                    req["schema"]["$ref"],
                    format!("#/components/schemas/{name}")
                );
                let example = &req["example"];
                assert!(
                    contract::validate(name, example).unwrap().is_empty(),
                    "{} example",
                    route.id
                );
            }
            None => assert!(op.get("requestBody").is_none()),
        }
        for (_, schema) in doc["components"]["schemas"].as_object().unwrap() {
            assert!(schema.get("$id").is_none());
        }
    }
    // Every schema is referenced by some route.
    let text = doc["paths"].to_string();
    for name in contract::SchemaId::ALL {
        assert!(
            text.contains(&format!("#/components/schemas/{name}")),
            "{name} unused"
        );
    }
}

#[test]
fn the_document_carries_the_contract_fingerprint() {
    // A stub serves the fingerprint at /__/stub/version (incident D9); the
    // checked-in document carries the same value, so a contract change that
    // forgot to regenerate openapi.json is caught here.
    let fp = contract::fingerprint();
    assert!(
        fp.len() == 16
            && fp
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "fingerprint {fp:?} is not 16 lower-case hex digits"
    );
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(checked_in_path()).unwrap()).unwrap();
    assert_eq!(
        on_disk["info"]["x-contract-fingerprint"],
        fp,
        "contract/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p contract --test openapi"
    );
}
