//! Starts `northflank_api.py` (Northflank's API v1, registry credentials) on 127.0.0.1 for
//! one test, stopped when dropped, and reads its request counts. Tests reach it through
//! `NORTHFLANK_API_URL`, as a user would.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use super::Script;

pub const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/servers/northflank_api.py"
);

/// A running fake Northflank API; stopped when dropped.
pub struct FakeApi {
    server: Script,
    dir: tempfile::TempDir,
}

impl FakeApi {
    /// Starts the server with `fixture` (see the script's docstring), or `None` when
    /// `python3` is missing outside CI.
    pub fn start(test: &str, fixture: &Value) -> Option<FakeApi> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fixture.json");
        std::fs::write(&path, fixture.to_string()).expect("write fixture");
        let server = Script::start(test, SCRIPT, &[path.as_os_str()])?;
        Some(FakeApi { server, dir })
    }

    /// The API base, for `NORTHFLANK_API_URL`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Replaces the fixture (atomically: the server reloads it on its next request).
    pub fn set_fixture(&self, fixture: &Value) {
        let tmp = self.dir.path().join("fixture.json.tmp");
        std::fs::write(&tmp, fixture.to_string()).expect("write fixture");
        std::fs::rename(&tmp, self.dir.path().join("fixture.json")).expect("rename fixture");
    }

    /// `{"total": N, "paths": {path: count}}`: the requests it has answered.
    pub fn stats(&self) -> Value {
        let mut s =
            TcpStream::connect(("127.0.0.1", self.server.port())).expect("connect for stats");
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
