//! Addresses for the unreachable-server cases.

/// A base URL where nothing listens (a port bound, then freed).
pub fn dead_base() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}
