//! Shared helpers for the integration tests: run the real binary against a private store.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_docker-credential-northflank");

/// A throwaway store directory and the environment that points the binary at it.
pub struct Helper {
    pub dir: tempfile::TempDir,
}

impl Helper {
    pub fn new() -> Self {
        Helper {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The store directory (inside the temp dir, so tests can see it being created).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A command for the binary with a clean, private environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("NORTHFLANK_CONFIG_DIR", self.store_dir())
            .env("NORTHFLANK_CREDENTIAL_BACKEND", "file");
        cmd
    }

    /// Runs the binary with `args`, `stdin` and extra environment.
    pub fn run_env(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.cmd(args);
        cmd.envs(env.iter().copied());
        run_with_stdin(cmd, stdin)
    }

    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.run_env(args, stdin, &[])
    }

    pub fn spawn(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Child {
        let mut cmd = self.cmd(args);
        cmd.envs(env.iter().copied());
        spawn_with_stdin(cmd, stdin)
    }

    /// `store` through the protocol; panics unless it succeeds.
    pub fn store(&self, server: &str, user: &str, secret: &str) {
        let json = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret})
            .to_string();
        let out = self.run(&["store"], json.as_bytes());
        assert_ok(&out, "store");
    }

    /// `add` a credential from the CLI; panics unless it succeeds.
    pub fn add(
        &self,
        name: &str,
        provider: &str,
        registry: Option<&str>,
        user: &str,
        secret: &str,
        projects: &[&str],
    ) {
        let mut args = vec![
            "add",
            name,
            "--provider",
            provider,
            "--username",
            user,
            "--password-stdin",
        ];
        if let Some(r) = registry {
            args.extend(["--registry", r]);
        }
        for p in projects {
            args.extend(["--project", p]);
        }
        let out = self.run(&args, secret.as_bytes());
        assert_ok(&out, "add");
    }

    /// Every file of the store with its bytes, to prove a failed command changed nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        walk(&self.store_dir(), &mut files);
        files
    }
}

fn walk(dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, files);
        } else if p.file_name().is_some_and(|n| n != ".lock") {
            files.insert(p.clone(), std::fs::read(&p).unwrap_or_default());
        }
    }
}

pub fn spawn_with_stdin(mut cmd: Command, stdin: &[u8]) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn helper");
    let mut pipe = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    // A writer thread, so a helper that stops reading early (oversized input) cannot block us.
    std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    child
}

pub fn run_with_stdin(cmd: Command, stdin: &[u8]) -> Output {
    spawn_with_stdin(cmd, stdin)
        .wait_with_output()
        .expect("wait for helper")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: status {:?}, stdout {:?}, stderr {:?}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Asserts exit code and exact stdout bytes.
pub fn assert_exact(out: &Output, code: i32, want: &str) {
    assert_eq!(
        (out.status.code(), stdout(out).as_str()),
        (Some(code), want),
        "stderr: {}",
        stderr(out)
    );
}

pub const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// The protocol driven in-process (no process start): fast enough for many golden cases.
pub struct Wire {
    pub dir: tempfile::TempDir,
    notes: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Wire {
    /// An empty store whose secrets go to the file backend (never the machine's keychain).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
        std::fs::write(
            store.join("store.json"),
            br#"{"version":2,"backend":"file"}"#,
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            store.join("store.json"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        Wire {
            dir,
            notes: Default::default(),
        }
    }

    pub fn store(&self) -> docker_credential_northflank::store::Store {
        let notes = self.notes.clone();
        docker_credential_northflank::store::Store::new(self.dir.path().join("store")).with_notify(
            std::sync::Arc::new(move |m| notes.lock().unwrap().push(m.to_string())),
        )
    }

    /// Runs `verb` with `stdin` in `project` (`None`: NORTHFLANK_PROJECT unset); returns the
    /// exit code and exactly what went to stdout.
    pub fn call(&self, verb: &str, stdin: &[u8], project: Option<&str>) -> (u8, String) {
        use docker_credential_northflank::{policy::Project, protocol};
        let call = protocol::Call::parse(&["helper".into(), verb.into()], |_| false);
        let project = Project::from_env(project.map(std::ffi::OsStr::new));
        let mut out = Vec::new();
        let code = protocol::run(&call, stdin, &mut out, || {
            Ok(protocol::View {
                store: self.store(),
                project,
            })
        });
        (code, String::from_utf8(out).expect("stdout is UTF-8"))
    }

    /// `store` through the protocol; panics unless it succeeds.
    pub fn login(&self, server: &str, user: &str, secret: &str, project: Option<&str>) {
        let json = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret});
        assert_eq!(
            self.call("store", json.to_string().as_bytes(), project),
            (0, String::new())
        );
    }

    /// The notices (stderr lines) so far, and forgets them.
    pub fn notes(&self) -> Vec<String> {
        std::mem::take(&mut self.notes.lock().unwrap())
    }

    /// (name, username, projects) of every saved credential, sorted by name.
    pub fn saved(&self) -> Vec<(String, String, Vec<String>)> {
        let mut all: Vec<_> = self
            .store()
            .summaries()
            .unwrap()
            .into_values()
            .flatten()
            .map(|c| {
                (
                    c.name.clone(),
                    c.username.clone(),
                    c.restrictions.projects.clone(),
                )
            })
            .collect();
        all.sort();
        all
    }
}

/// What `get` answers for a credential: `{"ServerURL":…,"Username":…,"Secret":…}` and a
/// newline, escaped as Go's encoder escapes (built here independently of the code under test).
pub fn get_answer(server: &str, user: &str, secret: &str) -> String {
    let go = |s: &str| {
        serde_json::to_string(s)
            .unwrap()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
    };
    format!(
        "{{\"ServerURL\":{},\"Username\":{},\"Secret\":{}}}\n",
        go(server),
        go(user),
        go(secret)
    )
}
