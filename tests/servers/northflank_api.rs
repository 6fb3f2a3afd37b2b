//! Starts `northflank_api.py` (Northflank's API v1, registry credentials) on 127.0.0.1 for
//! one test, stopped when dropped, and reads its request counts. Tests reach it through
//! `NORTHFLANK_API_URL`, as a user would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::Value;

pub const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/servers/northflank_api.py"
);

/// A running fake Northflank API; stopped when dropped.
pub struct FakeApi {
    child: Child,
    /// Held open: the server exits when it closes, so it cannot outlive a crashed test.
    _stdin: ChildStdin,
    port: u16,
    dir: tempfile::TempDir,
}

impl FakeApi {
    /// Starts the server with `fixture` (see the script's docstring), or `None` when
    /// `python3` is missing outside CI.
    pub fn start(test: &str, fixture: &Value) -> Option<FakeApi> {
        let python = super::python3(test)?;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fixture.json");
        std::fs::write(&path, fixture.to_string()).expect("write fixture");
        let mut child = Command::new(python)
            .arg(SCRIPT)
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start northflank_api.py");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no port from the server: {line:?}"));
        Some(FakeApi {
            child,
            _stdin: stdin,
            port,
            dir,
        })
    }

    /// The API base, for `NORTHFLANK_API_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replaces the fixture (atomically: the server reloads it on its next request).
    pub fn set_fixture(&self, fixture: &Value) {
        let tmp = self.dir.path().join("fixture.json.tmp");
        std::fs::write(&tmp, fixture.to_string()).expect("write fixture");
        std::fs::rename(&tmp, self.dir.path().join("fixture.json")).expect("rename fixture");
    }

    /// `{"total": N, "paths": {path: count}}`: the requests it has answered.
    pub fn stats(&self) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect for stats");
        s.write_all(b"GET /__stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .expect("ask stats");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read stats");
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|_| panic!("stats are not JSON: {text:?}"))
    }

    /// How many requests went to `path`.
    pub fn count(&self, path: &str) -> u64 {
        self.stats()["paths"][path].as_u64().unwrap_or(0)
    }

    /// How many requests it answered in all.
    pub fn total(&self) -> u64 {
        self.stats()["total"].as_u64().unwrap_or(0)
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A credential for the fixture, current shape: `cred-N`, named `cred N`, for
/// `rN.example.com`, unrestricted, with the given `updatedAt`.
pub fn credential(n: usize, updated_at: &str) -> Value {
    serde_json::json!({
        "id": format!("cred-{n}"),
        "name": format!("cred {n}"),
        "provider": "custom",
        "registryUrl": format!("r{n}.example.com"),
        "username": format!("user{n}"),
        "password": format!("pw-{n}"),
        "restrictions": {"restricted": false, "projects": []},
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": updated_at,
    })
}
