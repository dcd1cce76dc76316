//! External services for the scale-out and outage tests: the shared PostgreSQL and Redis of
//! `scripts/with-services`, and servers a test starts, stops and restarts itself (a Redis, a
//! throw-away PostgreSQL cluster), all from `atauth_test_support`.

pub use atauth_test_support::net::ClosedPort;
pub use atauth_test_support::postgres::{Cluster, PgTestDatabase};
pub use atauth_test_support::redis::RedisServer;
pub use atauth_test_support::services::{eventually, postgres_url, redis_url, unavailable};
