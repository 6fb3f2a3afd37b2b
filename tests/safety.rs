//! What a careless user or another local user can do to the store, the terminal and the
//! output, and what the helper does about it (issue 10, SPEC §5 and §7): refuse with the fix,
//! never hang, never panic, never write through a link or into a folder that is no store.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

/// Runs `cmd` to completion, or kills it and fails the test after `limit`: the helper must
/// never wait on a FIFO or a device.
fn bounded(cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let mut child = spawn_with_stdin(cmd, stdin);
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("{shown} hung for over {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const LIMIT: Duration = Duration::from_secs(15);

fn store_json(server: &str) -> Vec<u8> {
    serde_json::json!({"ServerURL": server, "Username": "u", "Secret": "hunter2"})
        .to_string()
        .into_bytes()
}

/// Whether this test can act as a second local user (chown, setpriv): it needs root. Says so
/// loudly and skips otherwise — except under `CI=true`, where CI runs as root and a skip
/// would hide a missing test.
fn can_be_another_user() -> bool {
    let root = fsutil_euid() == 0;
    if !root {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI must run these tests as root"
        );
        eprintln!("SKIPPED: this test needs root (it acts as a second local user)");
    }
    root
}

fn fsutil_euid() -> u32 {
    docker_credential_northflank::fsutil::euid().unwrap_or(0)
}

/// Runs `script` as the unprivileged user `nobody` (a second local user).
fn as_nobody(script: &str) -> Output {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["sh", "-c", script])
        .output();
    match out {
        Ok(out) => out,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("setpriv is needed (util-linux): {e}")
        }
        Err(e) => panic!("setpriv (util-linux) is needed for this test: {e}"),
    }
}

#[test]
fn a_store_another_user_can_write_is_refused_and_never_written_through() {
    if !can_be_another_user() {
        return;
    }
    let h = Helper::new();
    h.store("ghcr.io", "u", "hunter2");
    // A careless setup: the registries folder open to everyone, the path to it traversable.
    chmod(h.dir.path(), 0o755);
    chmod(&h.store_dir(), 0o755);
    let regs = h.store_dir().join("registries");
    chmod(&regs, 0o777);
    // The other user plants links where a predictable temp file would go, pointing at a file
    // of theirs, hoping to receive the next save.
    let loot = std::env::temp_dir().join(format!("nf-loot-{}", std::process::id()));
    let _ = std::fs::remove_file(&loot);
    let planted = as_nobody(&format!(
        "for p in $(seq 1 400); do ln -s {loot} {regs}/.tmp-$p; done; ln -s {loot} {regs}/.tmp-{me}",
        loot = loot.display(),
        regs = regs.display(),
        me = std::process::id() + 1
    ));
    assert!(planted.status.success(), "{}", stderr(&planted));
    for verb in ["store", "get"] {
        let input = if verb == "store" {
            store_json("ghcr.io")
        } else {
            b"ghcr.io".to_vec()
        };
        let out = h.run(&[verb], &input);
        assert_eq!(out.status.code(), Some(1), "{verb}");
        let msg = stdout(&out);
        assert!(
            msg.contains("writable by other users")
                && msg.contains(&format!("chmod 700 {}", regs.display())),
            "{verb}: {msg}"
        );
        assert!(!msg.contains("hunter2"));
    }
    assert!(!loot.exists(), "a save went through a planted link");
    assert_eq!(mode(&regs), 0o777, "never chmodded behind the user's back");
    let doctor = h.run(&["doctor"], b"");
    assert!(!doctor.status.success());
    assert!(
        stdout(&doctor).contains(&format!("{} is writable by other users", regs.display())),
        "{}",
        stdout(&doctor)
    );
    // Fixed as told, everything works again.
    chmod(&regs, 0o700);
    assert_ok(&h.run(&["get"], b"ghcr.io"), "get after the fix");
}

#[test]
fn a_store_owned_by_another_user_is_refused() {
    if !can_be_another_user() {
        return;
    }
    let h = Helper::new();
    h.store("ghcr.io", "u", "hunter2");
    let file = h.store_dir().join("registries/ghcr.io.json");
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    let out = h.run(&["get"], b"ghcr.io");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("is owned by another user"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("chown"), "{}", stdout(&out));
    std::os::unix::fs::chown(h.store_dir(), Some(65534), Some(65534)).unwrap();
    let out = h.run(&["store"], &store_json("quay.io"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("is owned by another user"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_folder_that_is_no_store_is_never_chmodded_or_written_into() {
    let h = Helper::new();
    // NORTHFLANK_CONFIG_DIR=/tmp, as a sudo -E kubelet setup with a typo would have it.
    let tmp_like = h.dir.path().join("tmp");
    std::fs::create_dir(&tmp_like).unwrap();
    std::fs::write(tmp_like.join("someone-elses-file"), b"x").unwrap();
    chmod(&tmp_like, 0o1777);
    let private_docs = h.dir.path().join("docs");
    std::fs::create_dir(&private_docs).unwrap();
    std::fs::write(private_docs.join("notes.txt"), b"mine").unwrap();
    chmod(&private_docs, 0o700);
    for dir in [&tmp_like, &private_docs] {
        let before: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        let mode_before = mode(dir);
        let out = h.run_env(
            &["store"],
            &store_json("ghcr.io"),
            &[("NORTHFLANK_CONFIG_DIR", dir.to_str().unwrap())],
        );
        assert_eq!(out.status.code(), Some(1), "{}", dir.display());
        assert_eq!(stdout(&out).lines().count(), 1);
        let after: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(after, before, "nothing written into {}", dir.display());
        assert_eq!(mode(dir), mode_before, "{} not chmodded", dir.display());
    }
    let out = h.run_env(
        &["store"],
        &store_json("ghcr.io"),
        &[("NORTHFLANK_CONFIG_DIR", private_docs.to_str().unwrap())],
    );
    assert!(
        stdout(&out).contains("is not a credential store"),
        "{}",
        stdout(&out)
    );
    assert_eq!(mode(&tmp_like), 0o1777, "the sticky bit is kept");
}

#[test]
fn a_symlinked_store_folder_keeps_its_target_as_it_is() {
    let h = Helper::new();
    let real = h.dir.path().join("real-store");
    std::fs::create_dir(&real).unwrap();
    chmod(&real, 0o750);
    let link = h.dir.path().join("store-link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let env = [("NORTHFLANK_CONFIG_DIR", link.to_str().unwrap())];
    assert_ok(
        &h.run_env(&["store"], &store_json("ghcr.io"), &env),
        "store through a link",
    );
    assert_eq!(
        mode(&real),
        0o750,
        "the target's mode is the user's business"
    );
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(real.join("registries/ghcr.io.json").is_file());
    let out = h.run_env(&["get"], b"ghcr.io", &env);
    assert_ok(&out, "get through a link");
}

#[test]
fn a_relative_store_folder_is_refused() {
    let h = Helper::new();
    for verb in ["get", "store"] {
        let out = h.run_env(
            &[verb],
            &store_json("ghcr.io"),
            &[("NORTHFLANK_CONFIG_DIR", "rel/store")],
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stdout(&out).contains("is a relative path"),
            "{}",
            stdout(&out)
        );
    }
    let out = h.run_env(
        &["kubelet-config"],
        b"",
        &[("NORTHFLANK_CONFIG_DIR", "rel/store")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is a relative path"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fifos_and_devices_in_the_store_are_errors_never_hangs() {
    let h = Helper::new();
    h.store("ghcr.io", "u", "p");
    h.store("quay.io", "q", "p");
    let dir = h.store_dir();
    // A FIFO where a registry file belongs: `get` says so, at once.
    let quay = dir.join("registries/quay.io.json");
    std::fs::remove_file(&quay).unwrap();
    mkfifo(&quay);
    let out = bounded(h.cmd(&["get"]), b"quay.io", LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("is a FIFO, not a regular file"),
        "{}",
        stdout(&out)
    );
    std::fs::remove_file(&quay).unwrap();
    // A FIFO at index.json (derived data) blocks nothing: list, ls and store go on.
    let index = dir.join("index.json");
    let _ = std::fs::remove_file(&index);
    mkfifo(&index);
    let out = bounded(h.cmd(&["list"]), b"", LIMIT);
    assert_exact(&out, 0, "{\"ghcr.io\":\"u\"}\n");
    assert_ok(&bounded(h.cmd(&["ls"]), b"", LIMIT), "ls");
    assert_ok(
        &bounded(h.cmd(&["store"]), &store_json("gcr.io"), LIMIT),
        "store",
    );
    assert!(
        std::fs::metadata(&index).unwrap().is_file(),
        "the next writer replaced it"
    );
    // A FIFO at store.json: a clear error for writers.
    let meta = dir.join("store.json");
    std::fs::remove_file(&meta).unwrap();
    mkfifo(&meta);
    let out = bounded(h.cmd(&["store"]), &store_json("ghcr.io"), LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("store.json is a FIFO"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_password_file_that_never_ends_is_refused_by_name() {
    let h = Helper::new();
    let out = bounded(
        h.cmd(&[
            "add",
            "zero",
            "--provider",
            "custom",
            "--registry",
            "r.example.com",
            "--username",
            "u",
            "--password-file",
            "/dev/zero",
        ]),
        b"",
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("password file /dev/zero is larger than 1 MiB"),
        "{}",
        stderr(&out)
    );
}

/// Runs `sh -c SCRIPT` with `$BIN` set to the helper and the helper's test environment.
fn shell(h: &Helper, script: &str) -> Output {
    let mut cmd = h.cmd(&[]);
    let env: Vec<_> = cmd
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned())))
        .collect();
    let mut sh = Command::new("sh");
    sh.args(["-c", script]).env_clear().env("BIN", BIN);
    for (k, v) in env {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    cmd.stdin(Stdio::null());
    sh.output().unwrap()
}

#[test]
fn closed_pipes_end_quietly_and_full_disks_are_errors() {
    let h = Helper::new();
    for i in 0..30 {
        h.store(&format!("r{i}.example.com"), "u", "p");
    }
    for cmd in [
        "ls",
        "ls --json",
        "export --project p1",
        "kubelet-config --project p1",
        "configure --dry-run",
    ] {
        // A reader that stops early: no panic, no message.
        let out = shell(
            &h,
            &format!("(\"$BIN\" {cmd}; echo \"rc=$?\" >&2) | head -c 1 >/dev/null"),
        );
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{cmd}: {err}");
        assert!(!err.contains("rc=134"), "{cmd} aborted: {err}");
        let rc = err.lines().last().unwrap_or_default();
        assert!(rc == "rc=141" || rc == "rc=0", "{cmd}: {err}");
        assert!(
            !err.contains("cannot write") && !err.contains("closed"),
            "{cmd}: a closed pipe is not an error worth a word: {err}"
        );
        // A full disk: one line that says so, exit 1.
        let out = shell(&h, &format!("\"$BIN\" {cmd} >/dev/full"));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
        assert!(err.contains("No space left on device"), "{cmd}: {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
    // With stdout closed, `get` and `list` deliver nothing: that is a failure, said on stderr.
    for verb in ["get", "list", "version"] {
        let out = shell(&h, &format!("echo r1.example.com | \"$BIN\" {verb} >&-"));
        assert_eq!(out.status.code(), Some(1), "{verb}");
        assert!(
            stderr(&out).contains("stdout is closed"),
            "{verb}: {}",
            stderr(&out)
        );
    }
    // store and erase answer nothing, so they still work.
    let out = shell(
        &h,
        "echo '{\"ServerURL\":\"z.example.com\",\"Username\":\"u\",\"Secret\":\"s\"}' | \"$BIN\" store >&-",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn nothing_from_a_file_reaches_the_terminal_raw() {
    let h = Helper::new();
    let nasty = [
        "\u{1b}[2J\u{1b}[31mEVIL",
        "ok\nfailed  ghcr.io fake",
        "a\u{2028}b",
        "x\u{202e}gpj.exe",
        "\u{9b}31m",
    ];
    let mut auths = serde_json::Map::new();
    for (i, user) in nasty.iter().enumerate() {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw{i}"));
        auths.insert(
            format!("r{i}.example.com"),
            serde_json::json!({ "auth": auth }),
        );
    }
    let config = h.dir.path().join("config.json");
    std::fs::write(&config, serde_json::json!({ "auths": auths }).to_string()).unwrap();
    for args in [
        vec![
            "import-docker-config",
            config.to_str().unwrap(),
            "--dry-run",
        ],
        vec!["import-docker-config", config.to_str().unwrap()],
        vec!["ls"],
    ] {
        let out = h.run(&args, b"");
        assert_ok(&out, &args.join(" "));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        for c in ['\u{1b}', '\u{9b}', '\u{2028}', '\u{202e}'] {
            assert!(!all.contains(c), "{args:?} printed {c:?} raw: {all:?}");
        }
        assert!(
            !all.lines().any(|l| l.starts_with("failed  ghcr.io")),
            "{args:?}: a faked line: {all}"
        );
    }
    // The saved user names are exact all the same: the escaping is for the terminal only.
    let out = h.run(&["get"], b"r1.example.com");
    assert!(
        stdout(&out).contains(r#""Username":"ok\nfailed  ghcr.io fake""#),
        "{}",
        stdout(&out)
    );
}

#[test]
fn list_agrees_with_get_after_any_hand_edit() {
    let h = Helper::new();
    h.store("ghcr.io", "alice", "p");
    h.store("quay.io", "q", "p");
    assert_exact(
        &h.run(&["list"], b""),
        0,
        "{\"ghcr.io\":\"alice\",\"quay.io\":\"q\"}\n",
    );
    // Same size, modification time put back: only the status-change time tells.
    let file = h.store_dir().join("registries/ghcr.io.json");
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("alice", "bobby");
    std::fs::write(&file, text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let get = stdout(&h.run(&["get"], b"ghcr.io"));
    assert!(get.contains("\"bobby\""), "{get}");
    assert_exact(
        &h.run(&["list"], b""),
        0,
        "{\"ghcr.io\":\"bobby\",\"quay.io\":\"q\"}\n",
    );
    let ls = stdout(&h.run(&["ls"], b""));
    assert!(ls.contains("bobby") && !ls.contains("alice"), "{ls}");
}

#[test]
fn export_writes_a_new_private_file_and_never_through_a_link() {
    if !can_be_another_user() {
        return;
    }
    let h = Helper::new();
    h.add("p1 token", "github", None, "octo", "ghp_p1secret", &["p1"]);
    let out_dir = h.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    chmod(&out_dir, 0o700);
    // A link at the target, pointing at a file the secrets must never reach.
    let victim = h.dir.path().join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    chmod(&victim, 0o644);
    let target = out_dir.join("config.json");
    std::os::unix::fs::symlink(&victim, &target).unwrap();
    let out = h.run(
        &["export", "--project", "p1", "-o", target.to_str().unwrap()],
        b"",
    );
    assert_ok(&out, "export -o");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"keep",
        "written through the link"
    );
    assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
    assert_eq!(mode(&target), 0o600);
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("ghcr.io")
    );
    // A file there owned by someone else is replaced by a new one of ours, not written into.
    std::fs::write(&victim, b"keep").unwrap();
    std::fs::remove_file(&target).unwrap();
    std::fs::write(&target, b"theirs").unwrap();
    std::os::unix::fs::chown(&target, Some(65534), Some(65534)).unwrap();
    chmod(&target, 0o666);
    assert_ok(
        &h.run(
            &["export", "--project", "p1", "-o", target.to_str().unwrap()],
            b"",
        ),
        "export over theirs",
    );
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));
    // A folder others can write is refused unless asked for.
    let shared = h.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    let there = shared.join("config.json");
    let out = h.run(
        &["export", "--project", "p1", "-o", there.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("writable by other users"),
        "{}",
        stderr(&out)
    );
    assert!(!there.exists());
    let out = h.run(
        &[
            "export",
            "--project",
            "p1",
            "-o",
            there.to_str().unwrap(),
            "--allow-shared-folder",
        ],
        b"",
    );
    assert_ok(&out, "export --allow-shared-folder");
    assert_eq!(mode(&there), 0o600);
}

#[test]
fn a_store_whose_server_url_holds_a_password_never_echoes_it() {
    let h = Helper::new();
    for server in [
        "https://bob:pa/ss@ghcr.io",
        "https://bob:p?a#s@ghcr.io/v2/",
        "bob:hunter2@ghcr.io",
    ] {
        let input =
            serde_json::json!({"ServerURL": server, "Username": "u", "Secret": "s"}).to_string();
        let out = h.run(&["store"], input.as_bytes());
        assert_eq!(out.status.code(), Some(1), "{server}");
        let all = format!("{}{}", stdout(&out), stderr(&out));
        for secret in ["pa/ss", "p?a#s", "hunter2"] {
            assert!(!all.contains(secret), "{server}: {all}");
        }
        assert!(all.contains("user name or password"), "{all}");
    }
}

#[test]
fn a_restrict_conflict_names_the_credential_being_changed() {
    let h = Helper::new();
    h.add("first cred", "github", None, "u", "ghp_x", &["p2"]);
    h.add("second cred", "github", None, "u", "ghp_y", &["p1"]);
    let out = h.run(&["restrict", "first cred", "--project", "p1"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("already has credential \"second cred\" restricted to project p1, so \"first cred\" would be ambiguous"),
        "{}",
        stderr(&out)
    );
}
