//! The keychain backend end to end: the real binary against a real Secret Service.
//!
//! `secret_service` re-runs itself inside `dbus-run-session` with a private bus that has no
//! service activation (so killing the daemon really takes the keychain away, and nothing of
//! the machine's own session is touched), starts `gnome-keyring-daemon` there with an
//! unlocked login collection, and drives the protocol and the management commands through
//! separate processes — so a secret read back was really stored, not kept in memory.
//! `secret-tool` and `dbus-send` check the keychain from the outside, and `dbus-monitor`
//! watches what is said on the bus: how secrets travel, and that nothing asks for an unlock.
//! The same bus shows why Linux does not use keyring's Secret Service store: on a locked
//! collection it asks for an unlock prompt ([`keyring_store_prompts`]).
//!
//! Without gnome-keyring, dbus or libsecret-tools the test prints `SKIPPED: …` and passes —
//! except with `CI=true`, where it fails, so CI can never quietly skip it.

mod common;
use common::get_answer;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_docker-credential-northflank");
/// Set in the re-run inside the private bus.
const INNER: &str = "NORTHFLANK_TEST_INSIDE_DBUS_SESSION";
const TOOLS: [&str; 7] = [
    "dbus-run-session",
    "dbus-send",
    "dbus-monitor",
    "gnome-keyring-daemon",
    "secret-tool",
    "systemd-stdio-bridge",
    "kill",
];
/// The keychain timeout (5 s) plus room for a slow machine: past this, a call hung.
const HANG: Duration = Duration::from_secs(20);
/// Under this, a call that met a hung keychain waited for one timeout (5 s), not two.
const ONE_TIMEOUT: Duration = Duration::from_secs(8);

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `cmd` with `stdin`, and fails the test if it has not finished within [`HANG`].
fn run(mut cmd: Command, stdin: &[u8]) -> Out {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let Ok(out) = rx.recv_timeout(HANG) else {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("{cmd:?} hung for {HANG:?}");
    };
    let out = out.unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        took: start.elapsed(),
    }
}

/// A scratch home: the store, gnome-keyring's files, the runtime dir.
struct Home {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Home {
    fn new() -> Home {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        for d in ["home", "data", "config", "run", "store"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o700))
                .unwrap();
        }
        Home { _tmp: tmp, root }
    }

    fn store(&self) -> PathBuf {
        self.root.join("store")
    }

    /// A command with this home's environment and none of the caller's helper settings.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("HOME", self.root.join("home"))
            .env("XDG_DATA_HOME", self.root.join("data"))
            .env("XDG_CONFIG_HOME", self.root.join("config"))
            .env("XDG_RUNTIME_DIR", self.root.join("run"))
            .env("NORTHFLANK_CONFIG_DIR", self.store())
            .env_remove("NORTHFLANK_CREDENTIAL_BACKEND")
            .env_remove("NORTHFLANK_PROJECT");
        c
    }

    fn helper(&self, args: &[&str], stdin: &str) -> Out {
        let mut c = self.cmd(BIN);
        c.args(args);
        run(c, stdin.as_bytes())
    }

    fn ok(&self, args: &[&str], stdin: &str) -> Out {
        let out = self.helper(args, stdin);
        assert_eq!(
            out.code,
            Some(0),
            "{args:?}: stdout {:?} stderr {:?}",
            out.stdout,
            out.stderr
        );
        out
    }

    /// The id (keychain account) of the credential `name`, from the metadata.
    /// The stable id of the credential called `name`, as `ls --json` shows it.
    fn credential_id(&self, name: &str) -> String {
        let out = self.ok(&["ls", "--json"], "");
        let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let cred = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        cred["id"].as_str().unwrap().to_string()
    }

    /// The keychain account of the credential called `name`.
    fn id_of(&self, name: &str) -> String {
        let out = self.ok(&["ls", "--json"], "");
        let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let cred = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {}", out.stdout));
        let registry = cred["registry"].as_str().unwrap();
        let file = self.registry_file(registry);
        let v: serde_json::Value = serde_json::from_str(&file).unwrap();
        let record = v["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone();
        // The keychain item the record names (format 2), else its id (format 1).
        record
            .get("item")
            .unwrap_or(&record["id"])
            .as_str()
            .unwrap()
            .to_string()
    }

    fn registry_file(&self, registry: &str) -> String {
        let name: String = registry
            .bytes()
            .map(|b| {
                if b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect();
        std::fs::read_to_string(self.store().join("registries").join(name + ".json")).unwrap()
    }

    /// What `secret-tool` finds in the keychain for `account`, if anything.
    fn keychain_item(&self, account: &str) -> Option<String> {
        let mut c = self.cmd("secret-tool");
        c.args(["lookup", "service", "docker-credential-northflank"])
            .args(["username", account]);
        let out = run(c, b"");
        (out.code == Some(0)).then_some(out.stdout)
    }

    /// Fails if any file under the store holds `secret`.
    fn assert_not_on_disk(&self, secret: &str) {
        fn walk(dir: &Path, secret: &[u8]) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, secret);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    assert!(
                        !bytes.windows(secret.len()).any(|w| w == secret),
                        "secret found in {}",
                        path.display()
                    );
                }
            }
        }
        walk(&self.store(), secret.as_bytes());
    }

    fn recorded_backend(&self) -> Option<String> {
        let meta = std::fs::read_to_string(self.store().join("store.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&meta).unwrap();
        v["backend"].as_str().map(str::to_string)
    }

    /// The store's id, the prefix of the keychain items it owns.
    fn store_id(&self) -> String {
        let meta = std::fs::read_to_string(self.store().join("store.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&meta).unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    /// Saves a keychain item under our service that no record refers to.
    fn plant_item(&self, account: &str, secret: &str) {
        let mut c = self.cmd("secret-tool");
        c.args([
            "store",
            "--label=orphan",
            "service",
            "docker-credential-northflank",
        ])
        .args(["username", account]);
        assert_eq!(run(c, secret.as_bytes()).code, Some(0));
        assert_eq!(self.keychain_item(account).as_deref(), Some(secret));
    }
}

fn store_input(server: &str, user: &str, secret: &str) -> String {
    serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret}).to_string()
}

/// An error answer: one line on stdout, exit 1, quickly, naming `needle`.
fn assert_fast_error(out: &Out, needle: &str) {
    assert_eq!(out.code, Some(1), "stdout {:?}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 1, "{:?}", out.stdout);
    assert!(
        out.stdout.contains(needle),
        "{needle:?} not in {:?}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("credentials not found"),
        "a keychain failure must not read as not-found: {:?}",
        out.stdout
    );
    assert!(out.took < Duration::from_secs(3), "took {:?}", out.took);
}

#[test]
fn secret_service() {
    if std::env::var_os(INNER).is_some() {
        return inside_private_bus();
    }
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .map_or(true, |s| !s.success())
        })
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "the keychain test needs {} (Debian: apt-get install gnome-keyring dbus dbus-user-session libsecret-tools systemd)",
            missing.join(", ")
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true and {why}");
        }
        #[allow(clippy::print_stderr)]
        {
            eprintln!("\n\nSKIPPED: {why}\n\n");
        }
        return;
    }
    let home = Home::new();
    let config = home.root.join("bus.conf");
    std::fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            home.root.join("run").display()
        ),
    )
    .unwrap();
    let status = Command::new("dbus-run-session")
        .arg(format!("--config-file={}", config.display()))
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args([
            "secret_service",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the test inside dbus-run-session failed");
}

/// The keyring daemon of this test, killed when the test ends, pass or fail.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// gnome-keyring-daemon in the foreground (so we hold its pid), login collection created
/// and unlocked with a throwaway password.
fn start_keyring(home: &Home) -> Daemon {
    let mut child = home
        .cmd("gnome-keyring-daemon")
        .args(["--foreground", "--unlock", "--components=secrets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gnome-keyring-daemon");
    // The daemon reads the password up to EOF, so stdin is closed right after.
    let mut stdin = child.stdin.take().unwrap();
    let daemon = Daemon(child);
    stdin.write_all(b"test-password").unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut c = home.cmd("secret-tool");
        c.args(["store", "--label=ready", "service", "northflank-test-ready"]);
        if run(c, b"x").code == Some(0) {
            return daemon;
        }
        assert!(
            Instant::now() < deadline,
            "gnome-keyring-daemon never came up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn dbus_send(home: &Home, args: &[&str]) -> String {
    let mut c = home.cmd("dbus-send");
    c.args([
        "--session",
        "--print-reply",
        "--dest=org.freedesktop.secrets",
    ])
    .args(args);
    let out = run(c, b"");
    assert_eq!(out.code, Some(0), "dbus-send {args:?}: {}", out.stderr);
    out.stdout
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `dbus-monitor` on the private bus, recording the calls to the Secret Service between
/// [`Monitor::start`] and [`Monitor::finish`]. Both ends are marked by a call of our own that
/// the monitor must have seen, so the record is complete and nothing else's.
struct Monitor<'h> {
    home: &'h Home,
    child: Child,
    log: PathBuf,
}

impl<'h> Monitor<'h> {
    fn start(home: &'h Home) -> Monitor<'h> {
        let log = home.root.join("monitor.log");
        let child = home
            .cmd("dbus-monitor")
            .args([
                "--session",
                "type='method_call',interface='org.freedesktop.Secret.Service'",
                "type='method_call',interface='org.freedesktop.Secret.Prompt'",
                "type='method_call',interface='org.freedesktop.Secret.Item'",
            ])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-monitor");
        let monitor = Monitor { home, child, log };
        monitor.mark("monitor-begin");
        monitor
    }

    /// Makes a harmless call naming `marker` until the monitor has recorded it.
    fn mark(&self, marker: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            dbus_send(
                self.home,
                &[
                    "/org/freedesktop/secrets",
                    "org.freedesktop.Secret.Service.ReadAlias",
                    &format!("string:{marker}"),
                ],
            );
            std::thread::sleep(Duration::from_millis(50));
            if std::fs::read_to_string(&self.log).unwrap().contains(marker) {
                return;
            }
            assert!(Instant::now() < deadline, "dbus-monitor never saw {marker}");
        }
    }

    /// What was called between the two markers.
    fn finish(mut self) -> String {
        self.mark("monitor-end");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap();
        let begin = log.rfind("monitor-begin").unwrap();
        let end = log.find("monitor-end").unwrap();
        log[begin..end].to_string()
    }
}

/// The session algorithms asked for in `OpenSession` calls of a [`Monitor`] record.
fn session_algorithms(calls: &str) -> Vec<String> {
    let mut lines = calls.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if line.contains("member=OpenSession") {
            let arg = lines.next().unwrap_or_default().trim();
            found.push(
                arg.trim_start_matches("string ")
                    .trim_matches('"')
                    .to_string(),
            );
        }
    }
    found
}

/// The D-Bus methods called in a [`Monitor`] record.
fn members(calls: &str) -> Vec<&str> {
    calls
        .lines()
        .filter_map(|l| l.split("member=").nth(1))
        .collect()
}

/// Why src/store/keychain/linux.rs talks to the Secret Service itself instead of through
/// keyring's `zbus-secret-service-keyring-store`: asked for an item in a locked collection,
/// that store calls `Unlock` and then `Prompt`, which on a desktop opens a password dialog
/// and waits until someone answers it — in `docker pull`, cron or CI, forever. If this ever
/// fails, keyring's store no longer prompts and Linux could use it (docs/keychain.md).
#[cfg(all(unix, not(target_os = "macos")))]
fn keyring_store_prompts(home: &Home, item: &str) {
    let monitor = Monitor::start(home);
    let item = item.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let answer = keyring::Entry::new("docker-credential-northflank", &item)
            .and_then(|entry| entry.get_secret());
        let _ = tx.send(answer.map(|secret| secret.len()));
    });
    // It may return once the prompt is dismissed (no prompter on this bus) or wait on it.
    let answer = rx.recv_timeout(HANG);
    let calls = monitor.finish();
    let members = members(&calls);
    assert!(
        members.contains(&"Unlock") && members.contains(&"Prompt"),
        "keyring's Secret Service store no longer asks to unlock a locked collection \
         (answer {answer:?}, calls {members:?}): Linux could use it, see docs/keychain.md"
    );
    assert!(
        !matches!(answer, Ok(Ok(_))),
        "the collection was unlocked without a password"
    );
}

fn inside_private_bus() {
    let home = Home::new();
    let daemon = start_keyring(&home);
    let pid = daemon.0.id();

    // The first save picks the keychain, because one answers, silently, and records it.
    let out = home.ok(&["store"], &store_input("ghcr.io", "octo", "ghp_first"));
    assert_eq!(out.stdout, "");
    assert!(!out.stderr.contains("UNENCRYPTED"), "{}", out.stderr);
    assert_eq!(home.recorded_backend().as_deref(), Some("keyring"));
    let login = home.id_of("login-ghcr-io");
    assert_eq!(home.keychain_item(&login).as_deref(), Some("ghp_first"));
    home.assert_not_on_disk("ghp_first");

    // Read back by another process, exactly. On this local bus the secret travels in a
    // `plain` session (no key exchange: the cost of a `get`, docs/keychain.md).
    let monitor = Monitor::start(&home);
    let out = home.ok(&["get"], "https://ghcr.io");
    assert_eq!(
        out.stdout,
        get_answer("https://ghcr.io", "octo", "ghp_first")
    );
    assert_eq!(session_algorithms(&monitor.finish()), ["plain"]);

    // A bus that is not a local socket (here: reached through a program, as over ssh) gets
    // the encrypted session, and the secret arrives the same.
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap();
    let socket = address.split(',').next().unwrap();
    let monitor = Monitor::start(&home);
    let mut c = home.cmd(BIN);
    c.arg("get").env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unixexec:path=/usr/bin/systemd-stdio-bridge,argv1=--bus-path={socket}"),
    );
    let out = run(c, b"ghcr.io");
    assert_eq!(
        out.stdout,
        get_answer("ghcr.io", "octo", "ghp_first"),
        "{}",
        out.stderr
    );
    assert_eq!(
        session_algorithms(&monitor.finish()),
        ["dh-ietf1024-sha256-aes128-cbc-pkcs7"]
    );
    assert_eq!(home.ok(&["list"], "").stdout, "{\"ghcr.io\":\"octo\"}\n");

    // docker login again: username and secret both replaced. The new secret goes to a new
    // item and the old one is deleted after the record is committed, so a failed commit
    // never leaves the record pointing at a changed or missing item.
    home.ok(&["store"], &store_input("ghcr.io", "octo2", "ghp_second"));
    let relogin = home.id_of("login-ghcr-io");
    assert_ne!(relogin, login);
    assert_eq!(home.keychain_item(&relogin).as_deref(), Some("ghp_second"));
    assert_eq!(home.keychain_item(&login), None, "the old item is gone");
    let login = relogin;
    let out = home.ok(&["get"], "ghcr.io");
    assert_eq!(out.stdout, get_answer("ghcr.io", "octo2", "ghp_second"));

    // Unicode and 64 KiB, through the protocol and back, byte for byte.
    let big: String = "ключ🔑 ✓ \"quoted\" "
        .chars()
        .cycle()
        .take(64 * 1024)
        .collect();
    assert!(big.len() >= 64 * 1024);
    home.ok(
        &["store"],
        &store_input("registry.example.com:5050", "ü", &big),
    );
    let out = home.ok(&["get"], "registry.example.com:5050");
    let answer: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(answer["Secret"].as_str().unwrap(), big);
    let big_id = home.id_of("login-registry-example-com-5050");
    assert_eq!(home.keychain_item(&big_id).as_deref(), Some(big.as_str()));
    home.assert_not_on_disk("ключ🔑");

    // add/rm: rm deletes the keychain item too.
    home.ok(
        &[
            "add",
            "ci-token",
            "--provider",
            "custom",
            "--registry",
            "r.example",
            "--username",
            "bot",
            "--password-stdin",
        ],
        "add-secret\n",
    );
    let ci = home.id_of("ci-token");
    assert_eq!(home.keychain_item(&ci).as_deref(), Some("add-secret"));
    // A rename keeps the keychain item: its account is the id, not the name.
    home.ok(&["rename", "ci-token", "ci-bot"], "");
    assert_eq!(home.id_of("ci-bot"), ci);
    let out = home.ok(&["get"], "r.example");
    assert_eq!(out.stdout, get_answer("r.example", "bot", "add-secret"));
    home.ok(&["rm", "ci-bot"], "");
    assert_eq!(home.keychain_item(&ci), None);

    // import-docker-config puts its secrets in the recorded backend too.
    let config = home.root.join("config.json");
    std::fs::write(
        &config,
        r#"{"auths":{"imp.example.com":{"auth":"aW1wOmltcG9ydGVkLXNlY3JldA=="}}}"#,
    )
    .unwrap();
    home.ok(&["import-docker-config", config.to_str().unwrap()], "");
    let out = home.ok(&["get"], "imp.example.com");
    assert_eq!(
        out.stdout,
        get_answer("imp.example.com", "imp", "imported-secret")
    );
    home.assert_not_on_disk("imported-secret");
    home.ok(&["erase"], "imp.example.com");

    // Items left by writers that died between the keychain and the store (an unused item of
    // this store under our service) are swept by the next keychain write; referenced items
    // stay, and so do items of other stores sharing the keychain.
    let orphan = format!("{}.0rphan0rphan0rph", home.store_id());
    home.plant_item(&orphan, "orphan-secret");
    home.plant_item("another-store.0rphan0rphan0rph", "other-store-secret");
    home.ok(
        &["store"],
        &store_input("sweep.example.com", "s", "sweep-secret"),
    );
    assert_eq!(home.keychain_item(&orphan), None, "the orphan was swept");
    assert_eq!(
        home.keychain_item("another-store.0rphan0rphan0rph")
            .as_deref(),
        Some("other-store-secret"),
        "another store's item is left alone"
    );
    assert_eq!(home.keychain_item(&big_id).as_deref(), Some(big.as_str()));
    assert_eq!(home.keychain_item(&login).as_deref(), Some("ghp_second"));
    home.ok(&["erase"], "sweep.example.com");

    // docker logout: the whole credential goes, keychain item included.
    home.ok(&["erase"], "registry.example.com:5050");
    assert_eq!(home.keychain_item(&big_id), None);
    let out = home.helper(&["get"], "registry.example.com:5050");
    assert_eq!(out.stdout, "credentials not found in native keychain\n");

    // migrate to the file store and back; every step readable by a fresh process.
    let id = home.credential_id("login-ghcr-io");
    let out = home.ok(&["migrate", "--to", "file"], "");
    assert!(
        out.stdout.contains("new secrets now go to file"),
        "{}",
        out.stdout
    );
    assert_eq!(home.keychain_item(&login), None);
    assert!(home.registry_file("ghcr.io").contains("ghp_second"));
    assert_eq!(home.recorded_backend().as_deref(), Some("file"));
    assert_eq!(
        home.ok(&["get"], "ghcr.io").stdout,
        get_answer("ghcr.io", "octo2", "ghp_second")
    );
    home.ok(&["migrate", "--to", "keyring"], "");
    assert_eq!(
        home.credential_id("login-ghcr-io"),
        id,
        "the credential's id survives migration"
    );
    let login = home.id_of("login-ghcr-io");
    assert_eq!(home.keychain_item(&login).as_deref(), Some("ghp_second"));
    home.assert_not_on_disk("ghp_second");
    assert_eq!(
        home.ok(&["get"], "ghcr.io").stdout,
        get_answer("ghcr.io", "octo2", "ghp_second")
    );

    // A hung keychain: every call gives up after the timeout with a clear error, and a
    // command that needs the keychain more than once (`store`: the orphan sweep, then the
    // new item) waits for one timeout, not one per call, while it holds the store's lock.
    signal(pid, "-STOP");
    let get = home.helper(&["get"], "ghcr.io");
    let store = home.helper(&["store"], &store_input("ghcr.io", "octo3", "ghp_hung"));
    signal(pid, "-CONT");
    for out in [&get, &store] {
        assert_eq!(out.code, Some(1));
        assert!(
            out.stdout.contains("did not answer within 5 s"),
            "{}",
            out.stdout
        );
        assert!(out.took < ONE_TIMEOUT, "took {:?}", out.took);
    }
    assert_eq!(
        home.ok(&["get"], "ghcr.io").stdout,
        get_answer("ghcr.io", "octo2", "ghp_second")
    );

    // A locked collection: refused at once, no prompt waited for, nothing lost.
    dbus_send(
        &home,
        &[
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ],
    );
    let locked = dbus_send(
        &home,
        &[
            "/org/freedesktop/secrets/collection/login",
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.Secret.Collection",
            "string:Locked",
        ],
    );
    assert!(
        locked.contains("boolean true"),
        "lock did not take: {locked}"
    );
    let monitor = Monitor::start(&home);
    assert_fast_error(&home.helper(&["get"], "ghcr.io"), "locked");
    assert_fast_error(
        &home.helper(&["store"], &store_input("ghcr.io", "octo3", "ghp_third")),
        "locked",
    );
    assert_fast_error(&home.helper(&["erase"], "ghcr.io"), "locked");
    let calls = monitor.finish();
    let members = members(&calls);
    assert!(members.contains(&"SearchItems"), "{members:?}");
    assert!(
        !members.contains(&"Unlock") && !members.contains(&"Prompt"),
        "the helper asked to unlock: {members:?}"
    );
    #[cfg(all(unix, not(target_os = "macos")))]
    keyring_store_prompts(&home, &login);
    assert_eq!(
        home.ok(&["list"], "").stdout,
        "{\"ghcr.io\":\"octo2\"}\n",
        "list never needs the keychain, and the refused calls changed nothing"
    );

    // The keychain goes away mid-session: a clear error naming the fix, at once.
    drop(daemon);
    let out = home.helper(&["get"], "ghcr.io");
    assert_fast_error(&out, "no Secret Service on the session bus");
    assert!(
        out.stdout.contains("NORTHFLANK_CREDENTIAL_BACKEND=file"),
        "{}",
        out.stdout
    );
}

/// Headless: no session bus at all (SSH, cron, containers). Needs no keychain installed.
#[test]
fn without_a_session_bus() {
    let home = Home::new();
    let headless = |args: &[&str], stdin: &str, backend: Option<&str>| {
        let mut c = home.cmd(BIN);
        c.args(args).env_remove("DBUS_SESSION_BUS_ADDRESS");
        if let Some(b) = backend {
            c.env("NORTHFLANK_CREDENTIAL_BACKEND", b);
        }
        run(c, stdin.as_bytes())
    };

    // Asking for the keychain fails fast, names the cause and the fix, and records nothing.
    let out = headless(
        &["store"],
        &store_input("ghcr.io", "u", "s1"),
        Some("keyring"),
    );
    assert_fast_error(&out, "no D-Bus session bus");
    assert!(out.stdout.contains("NORTHFLANK_CREDENTIAL_BACKEND=file"));
    assert_eq!(home.recorded_backend(), None);
    let out = headless(
        &["store"],
        &store_input("ghcr.io", "u", "s1"),
        Some("vault"),
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stdout.contains("must be file or keyring"),
        "{}",
        out.stdout
    );

    // Unset: the first save falls back to the file store, says so once, and records it.
    let out = headless(&["store"], &store_input("ghcr.io", "u", "s1"), None);
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("UNENCRYPTED"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&home.store().display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(home.recorded_backend().as_deref(), Some("file"));
    let out = headless(&["store"], &store_input("quay.io", "u", "s2"), None);
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""));

    // A file-backed get never touches the keychain: it works with a bus address that
    // could not possibly answer.
    let mut c = home.cmd(BIN);
    c.arg("get")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let out = run(c, b"ghcr.io");
    assert_eq!(out.stdout, get_answer("ghcr.io", "u", "s1"));
}
