//! The binary and store side of the integration tests: run the real binary against a private
//! store ([`Helper`], the one fixture for that), drive the protocol in-process ([`Wire`]), and
//! the answers to compare with ([`get_answer`], [`NOT_FOUND`], [`assert_exact`]). Servers and
//! outside programs are `tests/servers/`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_docker-credential-northflank");

/// A throwaway home with everything the binary could touch inside it: the store
/// (`store/`), docker's config (`docker/config.json`, through `DOCKER_CONFIG`), containers'
/// auth file (`containers/auth.json`, through `REGISTRY_AUTH_FILE`); the home itself is
/// `HOME`. Secrets go to the file backend, never the machine's keychain.
pub struct Helper {
    pub dir: tempfile::TempDir,
}

impl Helper {
    pub fn new() -> Self {
        Helper {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `rel` inside the temp dir.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `HOME`: the temp dir itself.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The store directory (inside the temp dir, so tests can see it being created).
    pub fn store_dir(&self) -> PathBuf {
        self.path("store")
    }

    /// docker's config file, where `DOCKER_CONFIG` points.
    pub fn docker_config(&self) -> PathBuf {
        self.path("docker/config.json")
    }

    /// containers' (podman's) auth file, where `REGISTRY_AUTH_FILE` points.
    pub fn auth_file(&self) -> PathBuf {
        self.path("containers/auth.json")
    }

    /// A command for the binary with a clean, private environment: `PATH` and the paths
    /// above, nothing else (no `NORTHFLANK_PROJECT`, no `XDG_*`).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("NORTHFLANK_CONFIG_DIR", self.store_dir())
            .env("NORTHFLANK_CREDENTIAL_BACKEND", "file")
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("REGISTRY_AUTH_FILE", self.auth_file());
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

    /// Runs and expects success.
    pub fn ok(&self, args: &[&str], stdin: &[u8]) -> Output {
        let out = self.run(args, stdin);
        assert_ok(&out, &format!("{args:?}"));
        out
    }

    /// Runs and expects failure with an error message on stderr.
    pub fn fails(&self, args: &[&str], stdin: &[u8]) -> Output {
        let out = self.run(args, stdin);
        assert!(
            !out.status.success(),
            "{args:?} succeeded:\n{}",
            stdout(&out)
        );
        assert!(
            !out.stderr.is_empty(),
            "{args:?}: no error message on stderr"
        );
        out
    }

    /// `get` of `server` with `NORTHFLANK_PROJECT=project` (`None`: unset).
    pub fn get_as(&self, server: &str, project: Option<&str>) -> Output {
        self.run_env(&["get"], server.as_bytes(), &project_env(project))
    }

    /// `get` of `server` as `project` answers exactly `user` and `secret`, exit 0.
    pub fn assert_serves(&self, server: &str, project: Option<&str>, user: &str, secret: &str) {
        assert_exact(
            &self.get_as(server, project),
            0,
            &get_answer(server, user, secret),
        );
    }

    /// What `list` answers as `project`; panics unless it succeeds.
    pub fn list_as(&self, project: Option<&str>) -> String {
        let out = self.run_env(&["list"], b"", &project_env(project));
        assert_ok(&out, "list");
        stdout(&out)
    }

    /// `ls --json ARGS…`, parsed; panics unless it succeeds.
    pub fn ls_json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["ls", "--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all, b"");
        serde_json::from_slice(&out.stdout).expect("ls --json answers a JSON array")
    }

    /// The credential names `ls --json ARGS…` lists, in its order.
    pub fn ls_names(&self, args: &[&str]) -> Vec<String> {
        self.ls_json(args)
            .iter()
            .map(|c| c["name"].as_str().expect("a name").to_string())
            .collect()
    }

    /// `store` through the protocol; panics unless it succeeds.
    pub fn store(&self, server: &str, user: &str, secret: &str) {
        let json = serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret})
            .to_string();
        let out = self.run(&["store"], json.as_bytes());
        assert_ok(&out, "store");
    }

    /// `add` a credential from the CLI, the secret on stdin as it is; panics unless it
    /// succeeds. Returns the output (warnings are on stderr).
    pub fn add(
        &self,
        name: &str,
        provider: &str,
        registry: Option<&str>,
        user: &str,
        secret: &str,
        projects: &[&str],
    ) -> Output {
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
        out
    }

    /// Every file of the store with its bytes, to prove a failed command changed nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        walk(&self.store_dir(), &mut files);
        files
    }
}

/// `NORTHFLANK_PROJECT=project`, or nothing for `None`: the environment a command runs in
/// for that project.
pub fn project_env(project: Option<&str>) -> Vec<(&str, &str)> {
    project
        .map(|p| ("NORTHFLANK_PROJECT", p))
        .into_iter()
        .collect()
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

/// Waits for `child`, or kills it and fails the test once `limit` has passed: for commands
/// that must never wait (on a FIFO, a device, an open stdin). A bound for a hang, not a
/// measurement.
pub fn wait_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("wait for helper").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("wait for helper")
}

/// [`run_with_stdin`], failing the test instead of hanging past `limit` ([`wait_within`]).
pub fn run_within(cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    let what = format!("{cmd:?}");
    wait_within(spawn_with_stdin(cmd, stdin), limit, &what)
}

/// What the binary wrote to stdout; panics unless it is UTF-8.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// What the binary wrote to stderr; panics unless it is UTF-8.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// stdout then stderr.
pub fn all(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// The permission bits (with setuid, setgid, sticky) of `p` itself, not of a link's target.
pub fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

pub fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[track_caller]
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: status {:?}, stdout {:?}, stderr {:?}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// `text` contains `want`; the whole text is shown when it does not.
#[track_caller]
pub fn assert_contains(text: &str, want: &str) {
    assert!(text.contains(want), "{want:?} is not in:\n{text}");
}

/// `text` does not contain `unwanted` (a secret, a raw control character…).
#[track_caller]
pub fn assert_lacks(text: &str, unwanted: &str) {
    assert!(!text.contains(unwanted), "{unwanted:?} is in:\n{text}");
}

/// Asserts exit code and exact stdout bytes.
#[track_caller]
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
        let version = docker_credential_northflank::store::FORMAT_VERSION;
        let meta = format!(r#"{{"version":{version},"backend":"file"}}"#);
        std::fs::write(store.join("store.json"), meta).unwrap();
        chmod(&store.join("store.json"), 0o600);
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
