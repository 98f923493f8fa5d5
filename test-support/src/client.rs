//! The HTTP client of the tests.

use std::time::Duration;

/// A reqwest client that ignores proxy variables (tests talk to
/// 127.0.0.1) and gives up after 30 s instead of hanging the run.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}
