//! Loopback addresses for tests, handed over without a bind-then-release race: a server binds
//! `127.0.0.1:0` itself and keeps the listener; an address where nothing listens stays
//! reserved for as long as the test needs it refused.

use async_trait::async_trait;
use atauth_fetch::Resolve;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// A listener on an ephemeral loopback port, kept by the caller and handed to the server.
pub async fn loopback_listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// A loopback port on which nothing listens, reserved while this lives: the socket is bound
/// (without `SO_REUSEADDR`, so no one else can bind the port) but never listens, so every
/// connection to it is refused.
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl ClosedPort {
    pub fn reserve() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let addr = socket.local_addr().expect("bound address");
        Self {
            _socket: socket,
            addr,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A resolver answering every name with fixed addresses (none: "no such host") and recording
/// the names asked.
pub struct FakeDns {
    answer: Vec<IpAddr>,
    asked: Mutex<Vec<String>>,
}

impl FakeDns {
    pub fn new(answer: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            answer: answer
                .iter()
                .map(|a| a.parse().expect("IP address"))
                .collect(),
            asked: Mutex::new(Vec::new()),
        })
    }

    /// The names asked so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("asked").clone()
    }
}

#[async_trait]
impl Resolve for FakeDns {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.asked.lock().expect("asked").push(host.to_owned());
        if self.answer.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such host"));
        }
        Ok(self.answer.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_refuses_connections_and_cannot_be_taken() {
        let closed = ClosedPort::reserve();
        let refused = tokio::net::TcpStream::connect(closed.addr()).await;
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(io::ErrorKind::ConnectionRefused)
        );
        assert!(tokio::net::TcpListener::bind(closed.addr()).await.is_err());
    }
}
