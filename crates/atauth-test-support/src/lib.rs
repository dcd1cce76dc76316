//! What the tests of every atauth crate share, written once: the HTML forms of the member
//! pages and a browser that submits them ([`browser`]), DPoP proofs and PKCE ([`oauth`]), a
//! throw-away certificate authority ([`pki`]), the external services of the test run and the
//! ones a test starts itself ([`services`], [`postgres`], [`redis`]), loopback addresses handed
//! over without a bind-then-release race ([`net`]), and a child process that reports where it
//! listens ([`process`]).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it starts real servers and processes and waits on real time; a failed step fails the test"
)]

pub mod browser;
pub mod html;
pub mod net;
pub mod oauth;
pub mod pki;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod services;
