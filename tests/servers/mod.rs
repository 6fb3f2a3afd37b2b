//! Servers the integration tests start on 127.0.0.1, and the outside programs they need.
//! Include with `mod servers;` from a test file in `tests/`.
//!
//! - [`fake_ecr`]: Amazon ECR's `GetAuthorizationToken` (`fake_ecr.py`), checking Signature
//!   Version 4 as AWS does;
//! - [`registry`]: Debian's `docker-registry` with htpasswd users, e.g. a registry that accepts
//!   only user `AWS` with the token the fake ECR issues.
#![allow(dead_code)]

pub mod fake_ecr;
pub mod registry;

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

/// The first `name` on PATH (what `Command::new(name)` runs).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `true` when every program is there. Missing under `CI=true`: the test fails. Elsewhere: a
/// loud SKIPPED line on the process's stderr (libtest hides a passing test's `eprintln!`), and
/// the caller returns.
pub fn have_programs(test: &str, names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| find_program(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: needs {} (Debian packages python3, docker-registry, apache2-utils)",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}; CI=true, so this is a failure");
    }
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
    false
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}
