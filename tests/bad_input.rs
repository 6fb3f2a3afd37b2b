//! Bad input never panics, never loses what was saved, and always says what to do in one line.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
mod servers;

use common::*;
use servers::is_root;

use std::path::Path;
use std::process::Command;

fn assert_one_line_failure(out: &std::process::Output, what: &str) -> String {
    let text = if out.stdout.is_empty() {
        stderr(out)
    } else {
        stdout(out)
    };
    assert_eq!(out.status.code(), Some(1), "{what}: {text}");
    assert!(
        !stderr(out).contains("panicked"),
        "{what} panicked: {}",
        stderr(out)
    );
    assert_eq!(text.lines().count(), 1, "{what}: not one line: {text:?}");
    assert!(!text.contains("hunter2"), "{what}: secret in the error");
    text
}

fn seeded() -> Helper {
    let h = Helper::new();
    h.store("ghcr.io", "keep-me", "hunter2");
    h.add("hub-prod", "dockerhub", None, "prod", "hunter2", &["prod"]);
    h
}

#[test]
fn malformed_protocol_input_table() {
    let h = seeded();
    let before = h.snapshot();
    let big = vec![b'a'; 8 * 1024 * 1024];
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "store",
            b"{\"ServerURL\":\"ghcr.io\",",
            "invalid credentials JSON",
        ),
        ("store", b"not json at all", "invalid credentials JSON"),
        (
            "store",
            b"{\"ServerURL\":\"ghcr.io\",\"Username\":\"\xff\xfe\",\"Secret\":\"x\"}",
            "invalid credentials JSON",
        ),
        ("store", b"\xff\xfe\xfd", "invalid credentials JSON"),
        ("store", &big, "larger than 1024 KiB"),
        ("get", &big, "larger than 1024 KiB"),
        (
            "store",
            b"[\"ghcr.io\",\"u\",\"p\"]",
            "must be a JSON object, got an array",
        ),
        (
            "store",
            b"\"ghcr.io\"",
            "must be a JSON object, got a string",
        ),
        ("store", b"{}", "no credentials server URL"),
        (
            "store",
            b"{\"ServerURL\":\"ghcr.io\"}",
            "no credentials username",
        ),
        (
            "store",
            b"{\"ServerURL\":\"ghcr.io\",\"Username\":[\"u\"],\"Secret\":\"x\"}",
            "Username must be a string, got an array",
        ),
        (
            "store",
            b"{\"ServerURL\":1,\"Username\":\"u\"}",
            "ServerURL must be a string, got a number",
        ),
        (
            "store",
            b"{\"ServerURL\":\"ghcr.io\",\"Username\":\"u\",\"Secret\":true}",
            "Secret must be a string, got a boolean",
        ),
        (
            "store",
            b"{\"ServerURL\":\"https://ghcr.io@evil.com\",\"Username\":\"u\",\"Secret\":\"x\"}",
            "user name or password",
        ),
        (
            "store",
            b"{\"ServerURL\":\"https://bob:hunter2@ghcr.io\",\"Username\":\"bob\",\"Secret\":\"hunter2\"}",
            "\"https://\u{2026}@ghcr.io\"",
        ),
        (
            "store",
            b"{\"ServerURL\":\"ftp://ghcr.io\",\"Username\":\"u\",\"Secret\":\"x\"}",
            "unsupported scheme",
        ),
        ("store", b"", "no credentials on stdin"),
        ("get", b"\xff\xfe", "not valid UTF-8"),
        ("erase", b"\xff", "not valid UTF-8"),
    ];
    for (verb, input, want) in cases {
        let out = h.run(&[verb], input);
        let text = assert_one_line_failure(&out, verb);
        assert!(
            text.contains(want),
            "{verb} {:?}: want {want:?}, got {text:?}",
            String::from_utf8_lossy(&input[..input.len().min(40)])
        );
        assert_eq!(h.snapshot(), before, "{verb}: the store changed");
    }
    // What was saved is still served.
    h.assert_serves("ghcr.io", None, "keep-me", "hunter2");
}

#[test]
fn corrupt_store_file_is_a_clear_error_and_is_left_alone() {
    let h = seeded();
    let path = h.store_dir().join("registries/ghcr.io.json");
    for garbage in [
        &b"{\"version\":1,\"registry\":\"ghcr.io\",\"credentials\":[{\"na"[..],
        b"\0\0\0\0",
        b"",
    ] {
        std::fs::write(&path, garbage).unwrap();
        let before = h.snapshot();
        for (verb, input) in [
            ("get", &b"ghcr.io"[..]),
            ("erase", b"ghcr.io"),
            (
                "store",
                br#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#,
            ),
        ] {
            let out = h.run(&[verb], input);
            let text = assert_one_line_failure(&out, verb);
            assert!(
                text.contains("is corrupt")
                    && text.contains("ghcr.io.json")
                    && text.contains("restore"),
                "{verb}: {text}"
            );
            assert_eq!(h.snapshot(), before, "{verb} changed a corrupt store");
        }
        // `list` reads the secret-free index; with the index damaged too it reads the files
        // and reports the damaged one.
        let index = h.store_dir().join("index.json");
        let saved_index = std::fs::read(&index).unwrap();
        std::fs::write(&index, b"{not json").unwrap();
        let text = assert_one_line_failure(&h.run(&["list"], b""), "list");
        assert!(
            text.contains("is corrupt") && text.contains("ghcr.io.json"),
            "{text}"
        );
        std::fs::write(&index, saved_index).unwrap();
    }
    // Other registries keep working.
    let out = h.run_env(&["get"], b"docker.io", &[("NORTHFLANK_PROJECT", "prod")]);
    assert_ok(&out, "get of an intact registry");
}

#[test]
fn oversized_store_file_is_refused() {
    let h = seeded();
    let path = h.store_dir().join("registries/ghcr.io.json");
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(65 * 1024 * 1024).unwrap();
    let text = assert_one_line_failure(&h.run(&["get"], b"ghcr.io"), "get");
    assert_contains(&text, "larger than 64 MiB");
}

/// Makes a directory immutable (even root cannot write it) for the test's lifetime.
struct Immutable<'a>(&'a Path);
impl<'a> Immutable<'a> {
    fn new(p: &'a Path) -> Option<Self> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(p)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Immutable(p))
    }
}
impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
    }
}

#[test]
fn unwritable_store_directory() {
    let h = seeded();
    let regs = h.store_dir().join("registries");
    let before = h.snapshot();
    let guard = if is_root() {
        Immutable::new(&regs)
    } else {
        None
    };
    if guard.is_none() {
        // Not root (or no chattr): ordinary permissions do the job.
        if is_root() {
            servers::skip(
                "unwritable_store_directory",
                "needs chattr (e2fsprogs) on an ext4/xfs /tmp when run as root",
            );
            return;
        }
        chmod(&regs, 0o500);
    }
    let cases: &[(&[&str], &[u8])] = &[
        (
            &["store"],
            br#"{"ServerURL":"quay.io","Username":"u","Secret":"hunter2"}"#,
        ),
        (
            &["store"],
            br#"{"ServerURL":"ghcr.io","Username":"u2","Secret":"hunter2"}"#,
        ),
        (&["erase"], b"ghcr.io"),
        (
            &[
                "add",
                "new-one",
                "--provider",
                "github",
                "--username",
                "u",
                "--password-stdin",
                "--project",
                "x",
            ],
            b"hunter2",
        ),
        (&["rm", "hub-prod"], b""),
    ];
    for (args, input) in cases {
        let out = h.run(args, input);
        let text = assert_one_line_failure(&out, args[0]);
        assert!(
            text.contains("cannot") && text.contains("NORTHFLANK_CONFIG_DIR"),
            "{args:?}: {text}"
        );
    }
    drop(guard);
    assert_eq!(h.snapshot(), before);
    // Reads still work on a read-only store.
    assert_ok(&h.run(&["get"], b"ghcr.io"), "get");
}

#[test]
fn store_path_that_is_a_file() {
    let h = Helper::new();
    let file = h.dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let mut cmd = h.cmd(&["store"]);
    cmd.env("NORTHFLANK_CONFIG_DIR", file.join("store"));
    let out = run_with_stdin(
        cmd,
        br#"{"ServerURL":"ghcr.io","Username":"u","Secret":"s"}"#,
    );
    let text = assert_one_line_failure(&out, "store");
    assert_contains(&text, "cannot create");
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}
