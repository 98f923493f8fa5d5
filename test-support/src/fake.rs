//! A scriptable fake HTTP server on 127.0.0.1:0, for answers the real
//! servers never give. It records every request, answers from per-route
//! scripts first and from its responder otherwise, and can hold a route's
//! answers until the test lets them go.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// How long [`FakeServer::wait_calls`] waits before failing the test.
const WAIT_CALLS: Duration = Duration::from_secs(10);

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Headers by lower-case name (the last value of a repeated one).
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`null` when empty or not JSON).
    pub body: Value,
}

/// Names the route of a request (`"provision"`, `"health"`, ...): scripts,
/// holds and [`FakeServer::seen_route`] are keyed by it.
pub type RouteKey = fn(method: &str, path: &str) -> &'static str;

/// The answer when no script is queued: `(status, body)` for `request` of
/// route `key`, sent by the server at `base`.
type Respond = dyn Fn(&Seen, &'static str, &str) -> (u16, String) + Send + Sync;

/// The fake server; clones share it.
#[derive(Clone)]
pub struct FakeServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    shared: Arc<Shared>,
}

struct Shared {
    route_key: RouteKey,
    respond: Box<Respond>,
    state: Mutex<State>,
    /// Bumped after each recorded request: [`FakeServer::wait_calls`]
    /// wakes on it instead of sleeping.
    calls: watch::Sender<usize>,
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    script: HashMap<&'static str, VecDeque<(u16, String)>>,
    /// Routes whose answers wait for [`FakeServer::release`].
    held: HashMap<&'static str, Arc<Semaphore>>,
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("base", &self.base)
            .field("seen", &self.shared.state.lock().unwrap().seen.len())
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Listen on an ephemeral loopback port and serve until the test ends.
    pub async fn start(
        route_key: RouteKey,
        respond: impl Fn(&Seen, &'static str, &str) -> (u16, String) + Send + Sync + 'static,
    ) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeServer {
            base: format!("http://{}", listener.local_addr().unwrap()),
            shared: Arc::new(Shared {
                route_key,
                respond: Box::new(respond),
                state: Mutex::new(State::default()),
                calls: watch::Sender::new(0),
            }),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fake = server.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let fake = fake.clone();
                        async move { Ok::<_, Infallible>(fake.answer(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        fake
    }

    async fn answer(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let bytes = req.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let seen = Seen {
            method,
            path,
            query,
            headers,
            body,
        };
        let key = (self.shared.route_key)(&seen.method, &seen.path);
        let (scripted, held) = {
            let mut st = self.shared.state.lock().unwrap();
            st.seen.push(seen.clone());
            (
                st.script.get_mut(key).and_then(VecDeque::pop_front),
                st.held.get(key).cloned(),
            )
        };
        self.shared.calls.send_modify(|n| *n += 1);
        if let Some(gate) = held {
            // Closed by `release`: every waiter goes on.
            let _ = gate.acquire().await;
        }
        let (status, text) =
            scripted.unwrap_or_else(|| (self.shared.respond)(&seen, key, &self.base));
        let mut resp = Response::new(Full::new(Bytes::from(text)));
        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        resp
    }

    /// Queue answers for a route key; they go before the responder's.
    pub fn script(&self, key: &'static str, answers: &[(u16, &str)]) {
        let mut st = self.shared.state.lock().unwrap();
        let queue = st.script.entry(key).or_default();
        for (status, body) in answers {
            queue.push_back((*status, body.to_string()));
        }
    }

    /// Hold every answer of a route until [`FakeServer::release`].
    pub fn hold(&self, key: &'static str) {
        self.shared
            .state
            .lock()
            .unwrap()
            .held
            .insert(key, Arc::new(Semaphore::new(0)));
    }

    /// Let held answers of a route go, now and from now on.
    pub fn release(&self, key: &'static str) {
        if let Some(gate) = self.shared.state.lock().unwrap().held.remove(key) {
            gate.close();
        }
    }

    /// Wait (bounded) until a route has been called `n` times.
    pub async fn wait_calls(&self, key: &str, n: usize) {
        let mut calls = self.shared.calls.subscribe();
        let reached = calls.wait_for(|_| self.seen_route(key).len() >= n);
        if tokio::time::timeout(WAIT_CALLS, reached).await.is_err() {
            panic!("{key} never reached {n} calls");
        }
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.state.lock().unwrap().seen.clone()
    }

    /// The requests of one route so far.
    pub fn seen_route(&self, key: &str) -> Vec<Seen> {
        let route_key = self.shared.route_key;
        self.seen()
            .into_iter()
            .filter(|s| route_key(&s.method, &s.path) == key)
            .collect()
    }
}
