//! `deploy/atauth.env.example` names exactly the variables `atauth serve` reads: each one is a
//! flag's `env` (as `--help` reports it) or the log filter, and every flag's variable is there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test code: it drives real servers and processes, on real time, with real keys"
)]

use std::collections::BTreeSet;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_atauth");
const EXAMPLE: &str = include_str!("../../../deploy/atauth.env.example");
/// Read directly from the environment, not through a flag (the log filter, and the secrets
/// whose flags take a file instead).
const NOT_FLAGS: &[&str] = &["ATAUTH_LOG", "ATAUTH_MASTER_KEY", "ATAUTH_ADMIN_TOKEN"];
/// Flags that make no sense in a production environment file (tests only, `--dev` only).
const NOT_IN_EXAMPLE: &[&str] = &[];

/// `ATAUTH_*` names in `text` followed by `terminator` (`=` in the example, `=` or `]` in help).
fn variables(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len() - "ATAUTH_".len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| name.len() > "ATAUTH_".len())
        .collect()
}

fn help(args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("ATAUTH_") {
            cmd.env_remove(key);
        }
    }
    let output = cmd.output().expect("atauth --help");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_example_environment_file_names_every_serve_flag_and_nothing_else() {
    // Assignments, commented out or not: `NAME=value` at the start of a line.
    let in_example: BTreeSet<String> = EXAMPLE
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| name.starts_with("ATAUTH_"))
        .map(str::to_string)
        .collect();
    assert!(in_example.contains("ATAUTH_DATABASE"), "{in_example:?}");

    let mut flags = variables(&help(&["serve", "--help"]), "[env: ATAUTH_");
    flags.extend(variables(&help(&["--help"]), "[env: ATAUTH_"));
    assert!(flags.contains("ATAUTH_LISTEN"), "{flags:?}");

    for name in &in_example {
        assert!(
            flags.contains(name) || NOT_FLAGS.contains(&name.as_str()),
            "{name} in deploy/atauth.env.example is not a flag of `atauth serve` ({flags:?})"
        );
    }
    for name in &flags {
        assert!(
            in_example.contains(name) || NOT_IN_EXAMPLE.contains(&name.as_str()),
            "`atauth serve` reads {name}, which deploy/atauth.env.example does not document"
        );
    }
}
