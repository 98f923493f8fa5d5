//! The real cp-stub on an ephemeral port, and its admin API.

use std::sync::{Arc, Mutex};

use contract::admin::{Fault, JournalPage, StubState};
use cp_stub::{Config, LogFormat, LogSink, Stub};
use serde_json::Value;

/// Start a stub with `config` on an ephemeral port.
pub async fn start(config: Config) -> Stub {
    cp_stub::start(Config { port: 0, ..config })
        .await
        .expect("stub starts")
}

/// Start a stub with the default config on an ephemeral port.
pub async fn start_default() -> Stub {
    start(Config::default()).await
}

/// [`start_default`] under the name seed's tests use.
pub async fn start_stub() -> Stub {
    start_default().await
}

/// A log sink that keeps every line, and the lines.
pub fn capture_logs(format: LogFormat) -> (Config, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let keep = lines.clone();
    let config = Config {
        log_format: format,
        log_sink: Some(LogSink::new(move |l| {
            keep.lock().unwrap().push(l.to_string())
        })),
        ..Config::default()
    };
    (config, lines)
}

/// The contract's example provision body.
pub fn provision_body(org: &str, ws: &str) -> Value {
    contract::example_request(contract::route(contract::RouteId::Provision), org, ws).unwrap()
}

/// `POST /cp/workspaces/provision` with [`provision_body`].
pub async fn provision(c: &reqwest::Client, base: &str, org: &str, ws: &str) -> reqwest::Response {
    c.post(format!("{base}/cp/workspaces/provision"))
        .json(&provision_body(org, ws))
        .send()
        .await
        .expect("provision request")
}

/// GET `url`, which must answer 2xx with JSON.
pub async fn get_json(c: &reqwest::Client, url: &str) -> Value {
    let r = c.get(url).send().await.expect("GET");
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.expect("JSON")
}

/// `GET /__/stub/state`.
pub async fn state(c: &reqwest::Client, base: &str) -> StubState {
    let v = get_json(c, &format!("{base}/__/stub/state")).await;
    serde_json::from_value(v).expect("StubState")
}

/// `GET /__/stub/requests{query}`.
pub async fn journal(c: &reqwest::Client, base: &str, query: &str) -> JournalPage {
    let v = get_json(c, &format!("{base}/__/stub/requests{query}")).await;
    serde_json::from_value(v).expect("JournalPage")
}

/// `POST /__/stub/faults`, which must answer 201.
pub async fn add_fault(c: &reqwest::Client, base: &str, spec: Value) -> Fault {
    let r = c
        .post(format!("{base}/__/stub/faults"))
        .json(&spec)
        .send()
        .await
        .expect("add fault");
    assert_eq!(r.status().as_u16(), 201, "fault {spec} refused");
    r.json().await.expect("Fault")
}

/// The stub still answers health and provision after whatever the test did.
pub async fn assert_still_serving(c: &reqwest::Client, base: &str) {
    let r = c
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz after");
    assert_eq!(r.status().as_u16(), 200);
    let r = provision(c, base, "org-after", "ws-after").await;
    assert_eq!(r.status().as_u16(), 201);
}
