//! Servers the integration tests start on 127.0.0.1, and the outside programs they need.
//! Include with `mod servers;` from a test file in `tests/` (benches include it by path).
//!
//! - [`registry`]: Debian's `docker-registry` with htpasswd users, over http or TLS;
//! - [`pki`]: a CA and server certificates made with `openssl`;
//! - [`mock_http`]: a scripted HTTP/1.1 server of our own that records what it was sent;
//! - [`fake_ecr`]: Amazon ECR's `GetAuthorizationToken` (`fake_ecr.py`), checking Signature
//!   Version 4 as AWS does;
//! - [`northflank_api`]: Northflank's API v1 registry-credential endpoints
//!   (`northflank_api.py`), for `sync`.
//!
//! Here: the one check for outside programs and privileges ([`have_programs`], [`need_root`],
//! [`have_docker_daemon`], all through [`skip`]: a loud SKIPPED line locally, a failure under
//! `CI=true`), [`free_port`], [`python3`] and [`Script`] (a Python server process).
#![allow(dead_code)]

pub mod fake_ecr;
pub mod mock_http;
pub mod northflank_api;
pub mod pki;
pub mod registry;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

/// The Debian package of each outside program the tests run, named in the SKIPPED line.
const PACKAGES: &[(&str, &str)] = &[
    ("chattr", "e2fsprogs"),
    ("curl", "curl"),
    ("docker", "docker.io"),
    ("docker-registry", "docker-registry"),
    ("htpasswd", "apache2-utils"),
    ("openssl", "openssl"),
    ("python3", "python3"),
    ("setpriv", "util-linux"),
];

/// The first `name` on PATH (what `Command::new(name)` runs).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Says that `test` cannot run here, and why. Under `CI=true` that is a failure (a panic): a
/// skipped test must never pass for a run one. Elsewhere: a loud SKIPPED line written
/// straight to the process's stderr (libtest hides a passing test's `eprintln!`); the caller
/// then returns.
pub fn skip(test: &str, why: &str) {
    let msg = format!("{test}: {why}");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}; CI=true, so this is a failure");
    }
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
}

/// `true` when every program is on PATH; otherwise [`skip`] with the missing ones and their
/// Debian packages, and `false`.
pub fn have_programs(test: &str, names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| find_program(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let packages: Vec<&str> = missing
        .iter()
        .map(|m| {
            PACKAGES
                .iter()
                .find(|(p, _)| p == m)
                .map_or(*m, |(_, package)| *package)
        })
        .collect();
    skip(
        test,
        &format!(
            "needs {} (Debian packages {})",
            missing.join(", "),
            packages.join(", ")
        ),
    );
    false
}

/// Whether the tests run as root (where permission bits stop no write).
pub fn is_root() -> bool {
    docker_credential_northflank::fsutil::euid() == Some(0)
}

/// `true` as root; otherwise [`skip`] saying what root is needed for, and `false`.
pub fn need_root(test: &str, why: &str) -> bool {
    let root = is_root();
    if !root {
        skip(test, &format!("needs root ({why})"));
    }
    root
}

/// Whether `docker` can run here: the CLI, and a daemon it reaches (`docker info`).
pub fn have_docker_daemon(test: &str) -> bool {
    if !have_programs(test, &["docker"]) {
        return false;
    }
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(test, "the docker daemon does not answer (docker info)");
    }
    ok
}

/// Runs an outside program to completion; panics with its stderr unless it succeeds.
/// Returns its stdout.
pub fn run_program(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// `Basic base64(user:password)`, the `Authorization` value a registry takes.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
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

/// A Python server script (`fake_ecr.py`, `northflank_api.py`) run for one test. It prints its
/// port on the first line of stdout once it listens, and exits when its stdin closes, so a
/// killed test leaves no server behind; killed and reaped when dropped.
pub struct Script {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl Script {
    /// Starts `python3 SCRIPT ARGS…`. `None` (after [`skip`]) without python3.
    pub fn start(test: &str, script: &str, args: &[&OsStr]) -> Option<Script> {
        let python = python3(test)?;
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {script}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // A bound for a stuck start only; it prints its port as soon as it listens.
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{script} did not print its port (got {line:?})");
        };
        Some(Script {
            child,
            _stdin: stdin,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
