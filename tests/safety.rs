//! What a careless user or another local user can do to the store, the terminal and the
//! output, and what the helper does about it (issue 10, SPEC §5 and §7): refuse with the fix,
//! never hang, never panic, never write through a link or into a folder that is no store.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
mod servers;

use common::*;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

/// How long a command may run before it counts as waiting on a FIFO or a device.
const LIMIT: Duration = Duration::from_secs(15);

fn store_json(server: &str) -> Vec<u8> {
    serde_json::json!({"ServerURL": server, "Username": "u", "Secret": "hunter2"})
        .to_string()
        .into_bytes()
}

/// Whether this test can act as a second local user (chown, setpriv): it needs root, which
/// CI has; elsewhere a loud skip.
fn can_be_another_user(test: &str) -> bool {
    servers::need_root(test, "it acts as a second local user")
}

/// Runs `script` as the unprivileged user `nobody` (a second local user).
fn as_nobody(script: &str) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(["sh", "-c", script])
        .output()
        .unwrap_or_else(|e| panic!("setpriv (util-linux) is needed for this test: {e}"))
}

#[test]
fn a_store_another_user_can_write_is_refused_and_never_written_through() {
    if !can_be_another_user("a_store_another_user_can_write_is_refused_and_never_written_through") {
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
        assert_lacks(&msg, "hunter2");
    }
    assert!(!loot.exists(), "a save went through a planted link");
    assert_eq!(mode(&regs), 0o777, "never chmodded behind the user's back");
    let doctor = h.run(&["doctor"], b"");
    assert!(!doctor.status.success());
    assert_contains(
        &stdout(&doctor),
        &format!("{} is writable by other users", regs.display()),
    );
    // Fixed as told, everything works again.
    chmod(&regs, 0o700);
    assert_ok(&h.run(&["get"], b"ghcr.io"), "get after the fix");
}

#[test]
fn a_store_owned_by_another_user_is_refused() {
    if !can_be_another_user("a_store_owned_by_another_user_is_refused") {
        return;
    }
    let h = Helper::new();
    h.store("ghcr.io", "u", "hunter2");
    let file = h.store_dir().join("registries/ghcr.io.json");
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    let out = h.run(&["get"], b"ghcr.io");
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stdout(&out), "is owned by another user");
    assert_contains(&stdout(&out), "chown");
    std::os::unix::fs::chown(h.store_dir(), Some(65534), Some(65534)).unwrap();
    let out = h.run(&["store"], &store_json("quay.io"));
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stdout(&out), "is owned by another user");
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
    // Every command names the folder as no store, never a chmod to run on it (for /tmp, that
    // advice would strip its sticky bit), and doctor lists none of its files.
    std::fs::write(tmp_like.join(".tmp-notes"), b"mine").unwrap();
    for dir in [&tmp_like, &private_docs] {
        let env = [("NORTHFLANK_CONFIG_DIR", dir.to_str().unwrap())];
        for (args, input) in [
            (&["store"][..], store_json("ghcr.io")),
            (&["get"][..], b"ghcr.io".to_vec()),
            (&["list"][..], Vec::new()),
            (&["ls"][..], Vec::new()),
            (&["doctor"][..], Vec::new()),
        ] {
            let out = h.run_env(args, &input, &env);
            let all = format!("{}{}", stdout(&out), stderr(&out));
            assert!(!all.contains("chmod"), "{args:?}: {all}");
            // A private folder with no registries in it holds nothing to read, so reads
            // find nothing there; what would be refused says why.
            if dir == &tmp_like || matches!(args[0], "store" | "doctor") {
                assert_ne!(out.status.code(), Some(0), "{args:?} in {}", dir.display());
                assert_contains(&all, "is not a credential store");
            }
        }
    }
    assert!(
        tmp_like.join(".tmp-notes").exists(),
        "not swept as a temp file"
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
        assert_contains(&stdout(&out), "is a relative path");
    }
    let out = h.run_env(
        &["kubelet-config"],
        b"",
        &[("NORTHFLANK_CONFIG_DIR", "rel/store")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stderr(&out), "is a relative path");
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
    let out = run_within(h.cmd(&["get"]), b"quay.io", LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stdout(&out), "is a FIFO, not a regular file");
    std::fs::remove_file(&quay).unwrap();
    // A FIFO at index.json (derived data) blocks nothing: list, ls and store go on.
    let index = dir.join("index.json");
    let _ = std::fs::remove_file(&index);
    mkfifo(&index);
    let out = run_within(h.cmd(&["list"]), b"", LIMIT);
    assert_exact(&out, 0, "{\"ghcr.io\":\"u\"}\n");
    assert_ok(&run_within(h.cmd(&["ls"]), b"", LIMIT), "ls");
    assert_ok(
        &run_within(h.cmd(&["store"]), &store_json("gcr.io"), LIMIT),
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
    let out = run_within(h.cmd(&["store"]), &store_json("ghcr.io"), LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stdout(&out), "store.json is a FIFO");
}

#[test]
fn a_password_file_that_never_ends_is_refused_by_name() {
    let h = Helper::new();
    let out = run_within(
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
    assert_contains(
        &stderr(&out),
        "password file /dev/zero is larger than 1 MiB",
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
    assert_contains(&stdout(&out), r#""Username":"ok\nfailed  ghcr.io fake""#);
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
    assert_contains(&get, "\"bobby\"");
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
    if !can_be_another_user("export_writes_a_new_private_file_and_never_through_a_link") {
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
    assert_contains(&std::fs::read_to_string(&target).unwrap(), "ghcr.io");
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
    assert_contains(&stderr(&out), "writable by other users");
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
        assert_contains(&all, "user name or password");
    }
}

#[test]
fn a_password_in_any_registry_address_never_reaches_a_message() {
    let h = Helper::new();
    h.add("p1 token", "github", None, "octo", "ghp_p1secret", &["p1"]);
    let bad = "https://u:CANARYpass@evil.com";
    let config = h.dir.path().join("in.json");
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"{bad}":{{"auth":"dTpw"}},"u:CANARYpass@x.io":{{}}}}}}"#),
    )
    .unwrap();
    let kubelet = r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"u:CANARYpass@ghcr.io/app"}"#;
    let runs = [
        h.run(&["import-docker-config", config.to_str().unwrap()], b""),
        h.run(
            &[
                "add",
                "xone",
                "--provider",
                "custom",
                "--registry",
                bad,
                "--username",
                "u",
                "--password-stdin",
            ],
            b"s",
        ),
        h.run(&["configure", "--dry-run", "--registry", bad], b""),
        h.run(&["verify", bad], b""),
        h.run_env(
            &["kubelet"],
            kubelet.as_bytes(),
            &[("NORTHFLANK_PROJECT", "p1")],
        ),
    ];
    for out in runs {
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!all.contains("CANARYpass"), "{all}");
        assert!(all.contains('…'), "the address is shown redacted: {all}");
    }
}

#[test]
fn export_never_replaces_a_device_a_fifo_or_a_link_to_one() {
    let h = Helper::new();
    h.add("p1 token", "github", None, "octo", "ghp_p1secret", &["p1"]);
    let dir = h.dir.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    let fifo = dir.join("pipe");
    mkfifo(&fifo);
    let link = dir.join("null");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let folder = dir.join("folder");
    std::fs::create_dir(&folder).unwrap();
    for (target, kind) in [
        (&fifo, "a FIFO"),
        (&link, "a link to a device"),
        (&folder, "a directory"),
    ] {
        let out = h.run(
            &["export", "--project", "p1", "-o", target.to_str().unwrap()],
            b"",
        );
        assert_eq!(out.status.code(), Some(1), "{}", target.display());
        let err = stderr(&out);
        assert_contains(&err, kind);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!err.contains("ghp_p1secret"));
    }
    let t = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    use std::os::unix::fs::FileTypeExt;
    assert!(t.is_fifo(), "the FIFO is still there");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn a_restrict_conflict_names_the_credential_being_changed() {
    let h = Helper::new();
    h.add("first cred", "github", None, "u", "ghp_x", &["p2"]);
    h.add("second cred", "github", None, "u", "ghp_y", &["p1"]);
    let out = h.run(&["restrict", "first cred", "--project", "p1"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_contains(
        &stderr(&out),
        "already has credential \"second cred\" restricted to project p1, so \"first cred\" would be ambiguous",
    );
}
