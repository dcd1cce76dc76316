//! Driving the `atauth` binary from tests: its commands, and `atauth serve` listening on port 0
//! with its addresses read from what it prints. The generic parts (served processes, services,
//! PostgreSQL databases) are `atauth_test_support`'s.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

pub use atauth_test_support::process::ServedProcess;

pub const BIN: &str = env!("CARGO_BIN_EXE_atauth");

/// `atauth` with `args`, none of the `ATAUTH_*` variables of the caller's environment, and
/// `env` set.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = atauth_test_support::process::clean_command(Path::new(BIN), args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `atauth` to completion with `stdin`; panics unless it succeeds. Returns stdout.
pub fn run_ok(args: &[&str], stdin: &str) -> String {
    atauth_test_support::process::run_ok(command(args, &[]), stdin)
}

/// `atauth <global> serve --listen 127.0.0.1:0 <args>`, waiting for the address it listens on.
pub fn serve(global: &[&str], args: &[&str], env: &[(&str, &str)]) -> ServedProcess {
    let mut all: Vec<&str> = global.to_vec();
    all.extend(["serve", "--listen", "127.0.0.1:0"]);
    all.extend_from_slice(args);
    ServedProcess::spawn(command(&all, env))
}
