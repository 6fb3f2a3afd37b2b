//! Servers the integration tests start on 127.0.0.1, and the outside programs they need.
//! Include with `mod servers;` from a test file in `tests/`.
//!
//! - [`fake_ecr`]: Amazon ECR's `GetAuthorizationToken` (`fake_ecr.py`), checking Signature
//!   Version 4 as AWS does;
//! - [`northflank_api`]: Northflank's API v1 registry-credential endpoints
//!   (`northflank_api.py`), for `sync`;
//! - [`registry`]: Debian's `docker-registry` with htpasswd users, e.g. a registry that accepts
//!   only user `AWS` with the token the fake ECR issues.
#![allow(dead_code)]

pub mod fake_ecr;
pub mod northflank_api;
pub mod registry;

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

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

/// The Python 3 interpreter itself, asked once per test process: `python3` on PATH may be a
/// version-manager shim (pyenv) that costs more to start than the test. `None` as
/// [`have_programs`] says when there is none.
pub fn python3(test: &str) -> Option<&'static Path> {
    if !have_programs(test, &["python3"]) {
        return None;
    }
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    let path = PYTHON.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .stderr(Stdio::inherit())
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|p| PathBuf::from(p.trim()))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"))
    });
    Some(path)
}
