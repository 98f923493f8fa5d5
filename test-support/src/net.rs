//! Addresses for the unreachable-server cases.

use std::os::fd::IntoRawFd;

/// A base URL where nothing listens: connecting is refused at once.
///
/// The port stays bound (a socket that never listens, kept open until the
/// test process exits), so no other server of a parallel test can be given
/// it: a port bound and then freed can be reused by the next `bind(0)`, and
/// the "dead" CP would then answer.
pub fn dead_base() -> String {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind 127.0.0.1:0");
    let addr = socket.local_addr().expect("its address");
    // Deliberately kept open for the process' lifetime (one fd per call).
    let _ = socket.into_raw_fd();
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dead_base_refuses_and_is_not_handed_out_again() {
        let dead = super::dead_base();
        let addr = dead.trim_start_matches("http://");
        let err = std::net::TcpStream::connect(addr).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
        assert!(
            std::net::TcpListener::bind(addr).is_err(),
            "the port is still held"
        );
    }
}
