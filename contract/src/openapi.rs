//! The OpenAPI 3.1 document of the CP surface, built from the route table
//! and the schemas so it can never disagree with them.

use serde_json::{json, Map, Value};

use crate::probe::example_request;
use crate::routes::{Auth, Route, ROUTES};
use crate::schema::{schema, SchemaId};

/// Path of the checked-in copy, relative to the `contract` crate.
pub const OPENAPI_FILE: &str = "openapi.json";

/// Build the OpenAPI 3.1 document.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        if let Some(obj) = item.as_object_mut() {
            obj.insert(route.method.to_ascii_lowercase(), operation(route));
        }
    }
    let mut schemas = Map::new();
    for id in SchemaId::ALL {
        if let Ok(doc) = schema(id) {
            let mut doc = doc.clone();
            if let Some(obj) = doc.as_object_mut() {
                // Component schemas live under the document's base URI.
                obj.remove("$id");
                obj.remove("$schema");
            }
            schemas.insert(id.as_str().to_string(), doc);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Molecule control plane (CP) — tenant-facing contract",
            "version": env!("CARGO_PKG_VERSION"),
            "x-contract-fingerprint": crate::fingerprint(),
            "description": "Generated from the cp-harness `contract` crate: the routes the tenant's CP client calls and the shapes its decoders accept. Do not edit by hand; run `UPDATE_OPENAPI=1 cargo test -p contract --test openapi`."
        },
        "servers": [{"url": "http://127.0.0.1:9090", "description": "cp-stub"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "adminToken": {"type": "apiKey", "in": "header", "name": "X-Molecule-Admin-Token"}
            }
        }
    })
}

fn schema_ref(id: SchemaId) -> Value {
    json!({"$ref": format!("#/components/schemas/{id}")})
}

fn operation(route: &Route) -> Value {
    let mut parameters = Vec::new();
    for seg in route.path.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}));
        }
    }
    for q in route.query {
        parameters.push(json!({"name": q.name, "in": "query", "required": q.required, "schema": {"type": "string"}}));
    }
    if route.auth == Auth::AdminBearerAndOrg {
        parameters.push(json!({"name": "X-Molecule-Org-Id", "in": "header", "required": true, "schema": {"type": "string", "minLength": 1}}));
    }
    let mut responses = Map::new();
    responses.insert(
        route.status.to_string(),
        json!({
            "description": route.summary,
            "content": {"application/json": {"schema": schema_ref(route.response_schema)}}
        }),
    );
    if route.request_schema.is_some() {
        responses.insert(
            "400".to_string(),
            json!({
                "description": "The body is not valid JSON or breaks the request schema.",
                "content": {"application/json": {"schema": schema_ref(route.error_schema)}}
            }),
        );
    }
    responses.insert(
        "default".to_string(),
        json!({
            "description": "Any other status is a failure for the client.",
            "content": {"application/json": {"schema": schema_ref(SchemaId::Error)}}
        }),
    );
    let security = match route.auth {
        Auth::SharedSecretAndAdminToken | Auth::AdminApiKey => {
            json!([{"bearer": [], "adminToken": []}])
        }
        Auth::AdminBearerAndOrg => json!([{"bearer": []}]),
        Auth::Session => json!([]),
    };
    let mut op = json!({
        "operationId": route.id.as_str(),
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
        "security": security,
        "x-counter": route.counter,
        "x-success-statuses": route.success,
    });
    if let (Some(name), Some(obj)) = (route.request_schema, op.as_object_mut()) {
        let mut media = json!({"schema": schema_ref(name)});
        if let Some(example) = example_request(route, "org-example", "ws-example") {
            media["example"] = example;
        }
        obj.insert(
            "requestBody".to_string(),
            json!({"required": true, "content": {"application/json": media}}),
        );
    }
    op
}
