//! Starts `fake_ecr.py` (Amazon ECR's `GetAuthorizationToken` on 127.0.0.1) and reads its
//! request count, for tests that assert "one exchange".

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use docker_credential_northflank::http;
use serde_json::{Value, json};

pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/fake_ecr.py");

/// The key pair the fake accepts unless configured otherwise (AWS's documentation examples).
pub const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// A running fake ECR; stopped when dropped.
pub struct FakeEcr {
    child: Child,
    port: u16,
    /// Held open: the server exits when it closes, so a killed test leaves no server behind.
    _stdin: ChildStdin,
    _dir: tempfile::TempDir,
}

/// What the fake saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Every `GetAuthorizationToken` request, whatever its answer.
    pub requests: u64,
    /// One per answered request: `ok`, or the error type (`ThrottlingException`, …).
    pub outcomes: Vec<String>,
    /// The headers of the last request (lower-case names, `authorization` left out).
    pub last: Value,
}

impl FakeEcr {
    /// Starts the fake with `config` (see `fake_ecr.py` for the fields) merged over the
    /// defaults: one key pair ([`KEY_ID`], [`SECRET_KEY`]), [`REGION`], [`ACCOUNT`], 12-hour
    /// tokens. `None` (after a loud SKIPPED line, or a failure under `CI=true`) without
    /// python3.
    pub fn start(test: &str, config: &Value) -> Option<FakeEcr> {
        if !super::have_programs(test, &["python3"]) {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fake-ecr.json");
        let mut full = json!({
            "keys": [{"id": KEY_ID, "secret": SECRET_KEY}],
            "region": REGION,
            "account": ACCOUNT,
        });
        for (k, v) in config.as_object().expect("config is an object") {
            full[k] = v.clone();
        }
        std::fs::write(&path, full.to_string()).expect("write config");
        let mut child = Command::new("python3")
            .arg(SCRIPT)
            .arg("--config")
            .arg(&path)
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python3 fake_ecr.py");
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
            panic!("fake_ecr.py did not print its port (got {line:?})");
        };
        Some(FakeEcr {
            child,
            port,
            _stdin: stdin,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:PORT`, what `AWS_ENDPOINT_URL_ECR` is set to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stats(&self) -> Stats {
        let v = self.control(http::Method::Get, "stats", None);
        Stats {
            requests: v["requests"].as_u64().expect("requests"),
            outcomes: v["outcomes"]
                .as_array()
                .expect("outcomes")
                .iter()
                .map(|o| o.as_str().expect("outcome").to_string())
                .collect(),
            last: v["last"].clone(),
        }
    }

    /// Merges `patch` into the running fake's config (mode, script, token, lifetime, keys…).
    pub fn configure(&self, patch: &Value) {
        self.control(http::Method::Post, "config", Some(patch));
    }

    fn control(&self, method: http::Method, what: &str, body: Option<&Value>) -> Value {
        let client = http::Client::new(&http::Options::default()).expect("client");
        let url = format!("{}/__fake/{what}", self.url());
        let body = body.map(Value::to_string);
        let resp = client
            .send(&http::Request {
                method,
                body: body.as_deref().map(str::as_bytes),
                ..http::Request::get(&url)
            })
            .expect("fake ECR control request");
        assert_eq!(resp.status, 200, "{what}: {:?}", resp.body);
        serde_json::from_slice(&resp.body).expect("control answer is JSON")
    }
}

impl Drop for FakeEcr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
