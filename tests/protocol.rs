//! Golden tests: the exact bytes and exit codes of every row of the protocol table
//! (`credentials.Serve` in docker-credential-helpers), driven through the real binary.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
use common::*;

const USAGE: &str = "Usage: docker-credential-northflank <store|get|erase|list|version>\n";
const VERSION: &str = concat!(
    "docker-credential-northflank (github.com/northflank/docker-credential-northflank) v",
    env!("CARGO_PKG_VERSION"),
    "\n"
);

#[test]
fn store_then_get_echoes_the_callers_server_url() {
    let h = Helper::new();
    let out = h.run(
        &["store"],
        b"{\"ServerURL\":\"ghcr.io\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}\n",
    );
    assert_exact(&out, 0, "");
    assert!(out.stderr.is_empty());
    for server in ["ghcr.io", "https://GHCR.io/v2/", "ghcr.io.\n"] {
        let out = h.run(&["get"], server.as_bytes());
        let want = format!(
            "{{\"ServerURL\":\"{}\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}}\n",
            server.trim()
        );
        assert_exact(&out, 0, &want);
        assert!(out.stderr.is_empty(), "get is silent on success");
    }
}

#[test]
fn get_misses_answer_the_exact_not_found_line() {
    let h = Helper::new();
    assert_exact(&h.run(&["get"], b"ghcr.io"), 1, NOT_FOUND);
    h.store("ghcr.io", "u", "p");
    // Lookalikes get nothing of ghcr.io's.
    for server in [
        "ghcr.io.evil.com",
        "evilghcr.io",
        "https://ghcr.io@evil.com",
        "ghcr.io%2f",
        "ftp://ghcr.io",
        "ghcr.io:5000",
    ] {
        assert_exact(&h.run(&["get"], server.as_bytes()), 1, NOT_FOUND);
    }
    // An embedded newline is refused, not glued into "ghcr.io".
    assert_exact(&h.run(&["get"], b"ghcr\n.io"), 1, NOT_FOUND);
}

#[test]
fn invalid_server_says_why_on_stderr_only() {
    let h = Helper::new();
    let out = h.run(&["get"], b"https://ghcr.io@evil.com");
    assert_exact(&out, 1, NOT_FOUND);
    let err = stderr(&out);
    assert_contains(&err, "user name or password");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn empty_server_string() {
    let h = Helper::new();
    for verb in ["get", "erase"] {
        assert_exact(&h.run(&[verb], b""), 1, "no credentials server URL\n");
        assert_exact(&h.run(&[verb], b" \r\n"), 1, "no credentials server URL\n");
    }
}

#[test]
fn store_errors_are_the_serve_strings() {
    let h = Helper::new();
    assert_exact(
        &h.run(
            &["store"],
            br#"{"ServerURL":"","Username":"u","Secret":"s"}"#,
        ),
        1,
        "no credentials server URL\n",
    );
    assert_exact(
        &h.run(&["store"], br#"{"Username":"u"}"#),
        1,
        "no credentials server URL\n",
    );
    assert_exact(
        &h.run(
            &["store"],
            br#"{"ServerURL":"ghcr.io","Username":"","Secret":"s"}"#,
        ),
        1,
        "no credentials username\n",
    );
    assert_exact(
        &h.run(&["store"], br#"{"ServerURL":"ghcr.io","Secret":"s"}"#),
        1,
        "no credentials username\n",
    );
    assert!(h.snapshot().is_empty(), "nothing saved by failed stores");
}

#[test]
fn empty_secret_is_accepted() {
    let h = Helper::new();
    assert_exact(
        &h.run(
            &["store"],
            br#"{"ServerURL":"ghcr.io","Username":"u","Secret":""}"#,
        ),
        0,
        "",
    );
    assert_exact(
        &h.run(&["get"], b"ghcr.io"),
        0,
        "{\"ServerURL\":\"ghcr.io\",\"Username\":\"u\",\"Secret\":\"\"}\n",
    );
}

#[test]
fn identity_tokens_round_trip() {
    let h = Helper::new();
    h.store("https://index.docker.io/v1/", "<token>", "eyJhbGciOi.tok");
    assert_exact(
        &h.run(&["get"], b"https://index.docker.io/v1/"),
        0,
        "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"\\u003ctoken\\u003e\",\"Secret\":\"eyJhbGciOi.tok\"}\n",
    );
    assert_exact(
        &h.run(&["list"], b""),
        0,
        "{\"https://index.docker.io/v1/\":\"\\u003ctoken\\u003e\"}\n",
    );
}

#[test]
fn go_escaping_of_every_awkward_character() {
    let h = Helper::new();
    // Python's json.dumps style: spaces, \u escapes, a surrogate pair, no trailing newline.
    let input = br#"{"ServerURL": "ghcr.io", "Username": "a<b>&c", "Secret": "\u2028\u2029\u001b\b\f\n\r\t\"\\\u00e9\ud83d\ude00\u007f"}"#;
    assert_exact(&h.run(&["store"], input), 0, "");
    assert_exact(
        &h.run(&["get"], b"ghcr.io"),
        0,
        "{\"ServerURL\":\"ghcr.io\",\"Username\":\"a\\u003cb\\u003e\\u0026c\",\
         \"Secret\":\"\\u2028\\u2029\\u001b\\b\\f\\n\\r\\t\\\"\\\\\u{e9}\u{1f600}\u{7f}\"}\n",
    );
}

#[test]
fn go_client_json_with_raw_utf8_and_newline() {
    let h = Helper::new();
    let input = "{\"ServerURL\":\"ghcr.io\",\"Username\":\"j\u{f6}rg\",\"Secret\":\"p\u{e4}ss\"}\n";
    assert_exact(&h.run(&["store"], input.as_bytes()), 0, "");
    assert_exact(
        &h.run(&["get"], b"ghcr.io\n"),
        0,
        "{\"ServerURL\":\"ghcr.io\",\"Username\":\"j\u{f6}rg\",\"Secret\":\"p\u{e4}ss\"}\n",
    );
}

#[test]
fn a_100_kib_secret_works() {
    let h = Helper::new();
    let secret: String = (0..100 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    h.store("gcr.io", "_json_key", &secret);
    let out = h.run(&["get"], b"gcr.io");
    assert_exact(
        &out,
        0,
        &format!(
            "{{\"ServerURL\":\"gcr.io\",\"Username\":\"_json_key\",\"Secret\":\"{secret}\"}}\n"
        ),
    );
}

#[test]
fn store_replaces_username_and_secret() {
    let h = Helper::new();
    h.store("ghcr.io", "old-user", "old");
    h.store("https://ghcr.io", "new-user", "new");
    assert_exact(
        &h.run(&["get"], b"ghcr.io"),
        0,
        "{\"ServerURL\":\"ghcr.io\",\"Username\":\"new-user\",\"Secret\":\"new\"}\n",
    );
    assert_exact(&h.run(&["list"], b""), 0, "{\"ghcr.io\":\"new-user\"}\n");
}

#[test]
fn erase_removes_and_is_silent_when_missing() {
    let h = Helper::new();
    assert_exact(&h.run(&["erase"], b"ghcr.io"), 0, "");
    assert!(
        !h.store_dir().exists(),
        "an erase of nothing creates nothing"
    );
    h.store("ghcr.io", "u", "p");
    assert_exact(&h.run(&["erase"], b"https://ghcr.io/"), 0, "");
    assert_exact(&h.run(&["get"], b"ghcr.io"), 1, NOT_FOUND);
    assert_exact(&h.run(&["erase"], b"ghcr.io"), 0, "");
    assert_exact(&h.run(&["erase"], b"not a host"), 0, "");
}

#[test]
fn list_is_sorted_canonical_and_empty_is_braces() {
    let h = Helper::new();
    assert_exact(&h.run(&["list"], b""), 0, "{}\n");
    h.store("GHCR.IO", "g", "1");
    h.store("docker.io", "d", "2");
    h.store("localhost:5000", "l", "3");
    h.store("https://index.docker.io/v1/access-token", "a", "4");
    h.store("[::1]:443", "v6", "5");
    assert_exact(
        &h.run(&["list"], b""),
        0,
        "{\"[::1]\":\"v6\",\"ghcr.io\":\"g\",\"https://index.docker.io/v1/\":\"d\",\
         \"https://index.docker.io/v1/access-token\":\"a\",\"localhost:5000\":\"l\"}\n",
    );
}

#[test]
fn docker_hub_spellings_share_one_credential() {
    let h = Helper::new();
    h.store("docker.io", "hubuser", "pw");
    for s in [
        "https://index.docker.io/v1/",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "https://index.docker.io/v1",
    ] {
        let out = h.run(&["get"], s.as_bytes());
        assert_exact(
            &out,
            0,
            &format!("{{\"ServerURL\":\"{s}\",\"Username\":\"hubuser\",\"Secret\":\"pw\"}}\n"),
        );
    }
    // The OAuth token keys stay separate.
    assert_exact(
        &h.run(&["get"], b"https://index.docker.io/v1/access-token"),
        1,
        NOT_FOUND,
    );
    h.store(
        "https://index.docker.io/v1/refresh-token",
        "rt",
        "r..client",
    );
    assert_exact(
        &h.run(&["get"], b"docker.io"),
        0,
        "{\"ServerURL\":\"docker.io\",\"Username\":\"hubuser\",\"Secret\":\"pw\"}\n",
    );
}

#[test]
fn version_and_help() {
    let h = Helper::new();
    for arg in ["version", "-v", "--version"] {
        assert_exact(&h.run(&[arg], b""), 0, VERSION);
    }
    for arg in ["-h", "--help", "help"] {
        let out = h.run(&[arg], b"");
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).starts_with(USAGE), "{}", stdout(&out));
    }
}

#[test]
fn argument_count_and_unknown_verbs() {
    let h = Helper::new();
    assert_exact(&h.run(&[], b""), 1, USAGE);
    assert_exact(&h.run(&["get", "extra"], b"ghcr.io"), 1, USAGE);
    assert_exact(&h.run(&["list", "x"], b""), 1, USAGE);
    assert_exact(&h.run(&["frobnicate", "x"], b""), 1, USAGE);
    assert_exact(&h.run(&["--version", "x"], b""), 1, USAGE);
    assert_exact(&h.run(&["-h", "x"], b""), 1, USAGE);
    assert_exact(
        &h.run(&["frobnicate"], b""),
        1,
        "docker-credential-northflank: unknown action: frobnicate\n",
    );
    assert_exact(
        &h.run(&["GET"], b""),
        1,
        "docker-credential-northflank: unknown action: GET\n",
    );
}

#[test]
fn list_and_version_never_read_stdin() {
    let h = Helper::new();
    h.store("ghcr.io", "u", "p");
    for verb in ["list", "version"] {
        // stdin stays open and empty, as on a terminal: the helper must not wait for it.
        let child = h
            .cmd(&[verb])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_within(child, std::time::Duration::from_secs(20), verb);
        assert!(out.status.success(), "{verb} failed");
    }
}

#[test]
fn not_found_is_one_line_without_backtrace() {
    let h = Helper::new();
    let out = h.run_env(
        &["get"],
        b"ghcr.io",
        &[("RUST_BACKTRACE", "1"), ("RUST_LIB_BACKTRACE", "1")],
    );
    assert_exact(&out, 1, NOT_FOUND);
    assert!(
        out.stderr.is_empty(),
        "no backtrace or noise: {}",
        stderr(&out)
    );
}

#[test]
fn version_needs_no_store_or_home() {
    let out = std::process::Command::new(BIN)
        .arg("version")
        .env_clear()
        .output()
        .unwrap();
    assert_exact(&out, 0, VERSION);
}
