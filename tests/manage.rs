//! The management commands, run through the real binary against temporary stores and config
//! files. Every path the binary could touch (store, docker config, containers auth file, home)
//! points into a fresh temp dir per test.

mod common;
mod servers;

use common::*;

use std::fs;
use std::process::Command;
use std::time::Duration;

/// The store with one GitHub credential for ghcr.io (user `u`), as most configure tests start.
/// The secrets in this file are piped with a final newline, as `echo $TOKEN |` sends them.
fn with_github() -> Helper {
    let h = Helper::new();
    h.add("GitHub", "github", None, "u", "ghp_x\n", &[]);
    h
}

fn keyfile_text(extra: &str) -> String {
    format!(
        r#"{{"type":"service_account","project_id":"proj","private_key_id":"abc","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvSECRETKEY\n-----END PRIVATE KEY-----\n","client_email":"ci@proj.iam.gserviceaccount.com"{extra}}}"#
    )
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

// ---------------------------------------------------------------------------------------------
// add

#[test]
fn add_for_every_provider_then_get_serves_it() {
    let h = Helper::new();
    h.add(
        "Docker Hub",
        "dockerhub",
        None,
        "hubuser",
        "dckr_pat_hub\n",
        &[],
    );
    h.add("GitHub", "github", None, "octo", "ghp_github\n", &[]);
    h.add("GitLab com", "gitlab", None, "gl", "glpat-gitlabcom\n", &[]);
    h.add(
        "GitLab self",
        "gitlab",
        Some("Gitlab.Example.com:5050"),
        "me",
        "glpat-selfhosted\n",
        &[],
    );
    h.add(
        "Local",
        "custom",
        Some("127.0.0.1:5000"),
        "u",
        "pw:with:colons\n",
        &["p1"],
    );
    let key = h.path("key.json");
    fs::write(&key, keyfile_text("")).unwrap();
    let out = h.ok(
        &[
            "add",
            "GCR asia",
            "--provider",
            "gcr-asia",
            "--keyfile",
            key.to_str().unwrap(),
        ],
        b"",
    );
    assert_contains(&stdout(&out), "asia.gcr.io");
    assert_lacks(&all(&out), "MIIEvSECRETKEY");

    h.assert_serves("docker.io", None, "hubuser", "dckr_pat_hub");
    h.assert_serves("ghcr.io", None, "octo", "ghp_github");
    h.assert_serves("registry.gitlab.com", None, "gl", "glpat-gitlabcom");
    h.assert_serves("gitlab.example.com:5050", None, "me", "glpat-selfhosted");
    h.assert_serves("127.0.0.1:5000", Some("p1"), "u", "pw:with:colons");
    assert_exact(&h.get_as("127.0.0.1:5000", None), 1, NOT_FOUND);
    h.assert_serves("asia.gcr.io", None, "_json_key", &keyfile_text(""));

    let listed = h.ls_json(&[]);
    let rows: Vec<(String, String, String)> = listed
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["provider"].as_str().unwrap().to_string(),
                r["registry"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for row in [
        ("GitLab self", "gitlab", "gitlab.example.com:5050"),
        ("GCR asia", "gcr-asia", "asia.gcr.io"),
        ("Docker Hub", "dockerhub", "https://index.docker.io/v1/"),
    ] {
        let row = (row.0.to_string(), row.1.to_string(), row.2.to_string());
        assert!(rows.contains(&row), "{row:?} not in {rows:?}");
    }
    for secret in ["dckr_pat_hub", "ghp_github", "glpat-", "pw:with", "MIIEv"] {
        assert!(
            !serde_json::to_string(&listed).unwrap().contains(secret),
            "ls --json shows {secret}"
        );
    }
}

#[test]
fn secrets_come_from_stdin_a_file_or_a_terminal_never_argv() {
    let h = Helper::new();
    let file = h.path("pw.txt");
    fs::write(&file, "from-file\r\n").unwrap();
    h.ok(
        &[
            "add",
            "From file",
            "--provider",
            "custom",
            "--registry",
            "r.example.com",
            "--username",
            "u",
            "--password-file",
            file.to_str().unwrap(),
        ],
        b"",
    );
    h.assert_serves("r.example.com", None, "u", "from-file");
    // No source and stdin is not a terminal: refuse, do not hang.
    let out = h.fails(
        &[
            "add",
            "No secret",
            "--provider",
            "github",
            "--username",
            "u",
        ],
        b"",
    );
    assert_contains(&stderr(&out), "--password-stdin");
    assert_eq!(stderr(&out).lines().count(), 1);
    // There is no option that takes a secret as an argument.
    let out = h.fails(
        &[
            "add",
            "Argv",
            "--provider",
            "github",
            "--username",
            "u",
            "--password",
            "ghp_inargv",
        ],
        b"",
    );
    assert_lacks(&stderr(&out), "ghp_inargv");
    h.fails(
        &[
            "add",
            "Empty",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
        ],
        b"\n",
    );
    let ls = stdout(&h.ok(&["ls"], b""));
    assert!(!ls.contains("No secret") && !ls.contains("Argv") && !ls.contains("Empty"));
}

#[test]
fn tokens_that_look_wrong_get_a_warning_that_never_shows_them() {
    let h = Helper::new();
    let out = h.add("GitHub", "github", None, "u", "MyAccountPassword1\n", &[]);
    assert_contains(&stderr(&out), "warning:");
    assert_contains(&stderr(&out), "GitHub token");
    assert_lacks(&all(&out), "MyAccountPassword1");
    let out = h.add("Hub", "dockerhub", None, "u", "glpat-wrongplace\n", &[]);
    assert_contains(&stderr(&out), "looks like a GitLab token");
    assert_lacks(&all(&out), "glpat-wrongplace");
    // Warned, not refused.
    assert_contains(&stdout(&h.get_as("ghcr.io", None)), "MyAccountPassword1");
    let out = h.add("GitHub 2", "github", None, "u", "github_pat_ok\n", &["p"]);
    assert_lacks(&stderr(&out), "warning");
}

#[test]
fn keyfile_is_checked_field_by_field_and_never_printed() {
    let h = Helper::new();
    let key = h.path("key.json");
    let path = key.to_str().unwrap();
    let add = |name: &str, extra: &[&str]| {
        let mut args = vec!["add", name, "--provider", "gcr-eu", "--keyfile", path];
        args.extend_from_slice(extra);
        h.run(&args, b"")
    };
    let bad = [
        (
            r#"{"type":"authorized_user","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----MIIEvSECRETKEY"}"#,
            "\"authorized_user\", expected \"service_account\"",
        ),
        (
            r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----MIIEvSECRETKEY"}"#,
            "no \"client_email\" field",
        ),
        (
            r#"{"type":"service_account","client_email":"a@b"}"#,
            "no \"private_key\" field",
        ),
        (
            r#"{"type":"service_account","client_email":"a@b","private_key":"MIIEvSECRETKEY"}"#,
            "\"private_key\" that is not a PEM private key",
        ),
        (
            "{\"type\": \"service_account\", MIIEvSECRETKEY",
            "is not valid JSON",
        ),
    ];
    for (text, want) in bad {
        fs::write(&key, text).unwrap();
        let out = add("GCR", &[]);
        assert!(!out.status.success(), "{text}");
        assert!(stderr(&out).contains(want), "{text}: {}", stderr(&out));
        assert_contains(&stderr(&out), path);
        assert_lacks(&all(&out), "MIIEvSECRETKEY");
        assert_eq!(stderr(&out).lines().count(), 1);
    }
    fs::write(&key, keyfile_text("")).unwrap();
    let out = h.run(
        &["add", "GitHub", "--provider", "github", "--keyfile", path],
        b"",
    );
    assert!(!out.status.success());
    assert_contains(&stderr(&out), "--keyfile is for the gcr providers");
    let out = add("GCR", &["--username", "someone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_contains(
        &stderr(&out),
        "warning: GCR takes a keyfile with the user name _json_key",
    );
    assert_contains(&stderr(&out), "ci@proj.iam.gserviceaccount.com");
    // A key piped in as the password of `_json_key` gets the same check, as a warning.
    let out = h.run(
        &[
            "add",
            "GCR piped",
            "--provider",
            "gcr",
            "--username",
            "_json_key",
            "--password-stdin",
        ],
        b"{\"type\":\"service_account\"}",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_contains(
        &stderr(&out),
        "warning: the secret for _json_key has no \"client_email\"",
    );
    // A keyfile from a pipe, as `--keyfile <(gcloud …)` gives it, like a password file.
    let script = format!(
        "exec \"$0\" add 'GCR piped key' --provider gcr --project p9 --keyfile <(cat {path})",
    );
    let mut c = Command::new("bash");
    c.args(["-c", &script, BIN]).env_clear();
    for (k, v) in h.cmd(&[]).get_envs() {
        c.env(k, v.unwrap_or_default());
    }
    let out = run_with_stdin(c, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    // Files that cannot be used say how to point at the right one.
    for (flag, target, want) in [
        (
            "--keyfile",
            "/nonexistent/key.json",
            "it does not exist: check the path",
        ),
        (
            "--keyfile",
            "/",
            "is a directory: give the path of the file itself",
        ),
        (
            "--password-file",
            "/nonexistent/pw",
            "it does not exist: check the path",
        ),
    ] {
        let mut args = vec!["add", "Bad file", "--provider", "gcr", flag, target];
        if flag == "--password-file" {
            args.extend(["--username", "_json_key"]);
        }
        let out = h.run(&args, b"");
        assert_eq!(out.status.code(), Some(1), "{target}");
        assert_contains(&stderr(&out), want);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
}

// ---------------------------------------------------------------------------------------------
// ls, rename, rm, restrict

#[test]
fn ls_is_an_aligned_table_and_project_shows_what_it_gets() {
    let h = Helper::new();
    h.add("Shared", "github", None, "everyone", "ghp_a\n", &[]);
    h.add("For p1", "github", None, "p1user", "ghp_b\n", &["p1"]);
    h.add(
        "Other registry",
        "custom",
        Some("localhost:5000"),
        "x",
        "pw\n",
        &["p2"],
    );
    let table = stdout(&h.ok(&["ls"], b""));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("NAME"));
    for col in [
        "PROVIDER",
        "REGISTRY",
        "USERNAME",
        "RESTRICTED TO",
        "UPDATED",
    ] {
        let at = lines[0].find(col).unwrap();
        // Every row has a cell starting at the header's column.
        for row in &lines[1..] {
            assert_ne!(row.as_bytes()[at], b' ', "{col} misaligned in {row:?}");
            assert_eq!(row.as_bytes()[at - 1], b' ', "{col} misaligned in {row:?}");
        }
    }
    assert_lacks(&table, "ghp_");

    // p1 is served its own credential for ghcr.io (not the shared one) and nothing for p2's.
    let p1 = stdout(&h.ok(&["ls", "--project", "p1"], b""));
    assert!(
        p1.contains("For p1") && !p1.contains("Shared") && !p1.contains("Other"),
        "{p1}"
    );
    assert_eq!(h.ls_names(&["--project", "p3"]), ["Shared"]);

    h.ok(&["rename", "For p1", "Project one"], b"");
    h.assert_serves("ghcr.io", Some("p1"), "p1user", "ghp_b");
    let out = h.fails(&["rename", "Project one", "Shared"], b"");
    assert_contains(&stderr(&out), "already exists");
    let out = h.fails(&["rename", "Project one", "1bad"], b"");
    assert_contains(&stderr(&out), "invalid credential name");
    let out = h.fails(&["rename", "Missing", "Whatever"], b"");
    assert_contains(&stderr(&out), "no credential named");
    let ls = stdout(&h.ok(&["ls"], b""));
    assert!(ls.contains("Project one") && !ls.contains("For p1"));

    // restrict that would make two answers for p1 is refused; rm removes.
    let out = h.fails(&["restrict", "Shared", "--project", "p1"], b"");
    assert_contains(&stderr(&out), "ambiguous");
    h.ok(&["rm", "Project one"], b"");
    h.assert_serves("ghcr.io", Some("p1"), "everyone", "ghp_a");
}

#[test]
fn every_command_has_help() {
    let h = Helper::new();
    for cmd in [
        "add",
        "ls",
        "rm",
        "restrict",
        "rename",
        "import-docker-config",
        "configure",
        "doctor",
    ] {
        let out = h.ok(&[cmd, "--help"], b"");
        assert!(
            stdout(&out).contains("Usage: docker-credential-northflank"),
            "{cmd}"
        );
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    let h = Helper::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = h.ok(&["completions", shell], b"");
        let script = stdout(&out);
        for cmd in ["add", "import-docker-config", "kubelet-config", "migrate"] {
            assert!(script.contains(cmd), "{shell} completion lacks {cmd}");
        }
        assert!(
            script.contains("dockerhub") && script.contains("northflank"),
            "{shell}: provider values"
        );
    }
    // The bash script is valid bash.
    let script = stdout(&h.ok(&["completions", "bash"], b""));
    let path = h.path("completion.bash");
    fs::write(&path, script).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "bash -n rejects the completion script");
    let page = stdout(&h.ok(&["manpage"], b""));
    assert_contains(&page, ".TH docker-credential-northflank 1");
    assert!(
        page.contains("import\\-docker\\-config") || page.contains("import-docker-config"),
        "{page}"
    );
    assert!(
        page.contains("credentials.Serve"),
        "the page explains the protocol verbs"
    );
}

// ---------------------------------------------------------------------------------------------
// import-docker-config

fn import_fixture() -> String {
    format!(
        r#"{{
  "auths": {{
    "ghcr.io": {{ "auth": "{}" }},
    "https://index.docker.io/v1/": {{ "auth": "{}", "email": "x@y" }},
    "registry.example.com": {{ "identitytoken": "idtok-SECRET" }},
    "quay.io": {{ "username": "quser", "password": "qpass-SECRET" }},
    "marker.example.com": {{}},
    "bad64.example.com": {{ "auth": "%%%SECRET" }},
    "nocolon.example.com": {{ "auth": "{}" }}
  }},
  "credsStore": "desktop",
  "credHelpers": {{ "gcr.io": "gcloud" }}
}}"#,
        b64("octo:ghp_colon:SECRET"),
        b64("hubuser:hub-SECRET"),
        b64("nocolonSECRET")
    )
}

#[test]
fn import_saves_each_entry_and_reports_the_rest() {
    let h = Helper::new();
    let file = h.path("config.json");
    fs::write(&file, import_fixture()).unwrap();
    let path = file.to_str().unwrap();

    let dry = h.run(&["import-docker-config", path, "--dry-run"], b"");
    assert!(!dry.status.success(), "bad entries fail the run");
    let text = all(&dry);
    assert_lacks(&text, "SECRET");
    assert_contains(
        &text,
        "would create \"import-ghcr-io\" for ghcr.io (user octo",
    );
    assert_contains(
        &text,
        "would create \"import-docker-hub\" for https://index.docker.io/v1/",
    );
    assert_contains(&text, "user <token>");
    assert_contains(&text, "dry run: nothing was saved");
    assert!(
        !h.path("store/registries").exists()
            || stdout(&h.ok(&["ls", "--json"], b"")).trim() == "[]"
    );

    let out = h.run(&["import-docker-config", path], b"");
    assert!(!out.status.success());
    let text = all(&out);
    assert_lacks(&text, "SECRET");
    for want in [
        "skipped credsStore",
        "skipped gcr.io: credHelpers",
        "skipped marker.example.com: no credentials",
        "failed  bad64.example.com: \"auth\" is not valid base64",
        "failed  nocolon.example.com: \"auth\" decodes to text without a colon",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(
        stderr(&out)
            .trim_end()
            .ends_with("2 entries could not be imported (see above); the others were saved"),
        "{}",
        stderr(&out)
    );
    h.assert_serves("ghcr.io", None, "octo", "ghp_colon:SECRET");
    h.assert_serves("docker.io", None, "hubuser", "hub-SECRET");
    h.assert_serves("registry.example.com", None, "<token>", "idtok-SECRET");
    h.assert_serves("quay.io", None, "quser", "qpass-SECRET");

    // Importing again updates the same credentials: no duplicates, no ambiguity.
    let again = format!(
        r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
        b64("octo2:new")
    );
    let out = h.ok(&["import-docker-config", "-"], again.as_bytes());
    assert_contains(
        &stdout(&out),
        "update \"import-ghcr-io\" for ghcr.io (user octo2, all projects)",
    );
    h.assert_serves("ghcr.io", None, "octo2", "new");
    let listed = stdout(&h.ok(&["ls", "--json"], b""));
    assert_eq!(listed.matches("\"ghcr.io\"").count(), 1, "{listed}");
}

#[test]
fn import_for_a_project_creates_restricted_credentials_and_never_ambiguity() {
    let h = Helper::new();
    h.add("Shared", "github", None, "shared", "ghp_shared\n", &[]);
    h.add(
        "Two projects",
        "custom",
        Some("r.example.com"),
        "t",
        "two\n",
        &["p1", "p2"],
    );
    let file = format!(
        r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}},"r.example.com":{{"auth":"{}"}}}}}}"#,
        b64("mine:ghp_p1"),
        b64("r:p1only")
    );
    let out = h.run(
        &["import-docker-config", "-", "--project", "p1"],
        file.as_bytes(),
    );
    assert!(!out.status.success());
    assert_contains(
        &stdout(&out),
        "create \"import-ghcr-io\" for ghcr.io (user mine, projects p1)",
    );
    assert!(
        stdout(&out).contains("failed  r.example.com:") && stdout(&out).contains("ambiguous"),
        "{}",
        stdout(&out)
    );
    // The unrestricted credential is untouched; p1 gets its own.
    h.assert_serves("ghcr.io", None, "shared", "ghp_shared");
    h.assert_serves("ghcr.io", Some("p1"), "mine", "ghp_p1");
    h.assert_serves("r.example.com", Some("p1"), "t", "two");
}

#[test]
fn import_refuses_files_that_are_not_docker_configs() {
    let h = Helper::new();
    for (input, want) in [
        (&b"not json"[..], "is not valid JSON"),
        (b"[1,2]", "is not a JSON object"),
        (b"{\"other\":1}", "has no \"auths\""),
        (b"{\"auths\":[]}", "\"auths\" is not an object"),
    ] {
        let out = h.fails(&["import-docker-config", "-"], input);
        assert_contains(&stderr(&out), want);
        assert_eq!(stderr(&out).lines().count(), 1);
    }
    let out = h.fails(&["import-docker-config", "/nonexistent/config.json"], b"");
    assert_contains(&stderr(&out), "cannot read /nonexistent/config.json");
}

// ---------------------------------------------------------------------------------------------
// configure

/// A config.json as a person might have edited it: 4-space indent, spaces around colons, an
/// exponent, escapes, an existing helper for another host, and a saved `auths` secret.
const UNUSUAL: &str = "{\n    \"auths\" : {\n        \"quay.io\" : { \"auth\" : \"cXVheTpTRUNSRVQ=\" }\n    },\n    \"credHelpers\" : {\n        \"gcr.io\" : \"gcloud\",\n        \"ghcr.io\" : \"other\"\n    },\n    \"experimental\" : \"enabled\",\n    \"n\" : 1.50e3,\n    \"s\" : \"\\u00e9\\/\"\n}\n";

/// UNUSUAL as docker writes it: tabs, `": "`, one member a line, `1.50e3` as the number it
/// is, escapes decoded; every key and value kept, in order. The file's final newline is kept.
const UNUSUAL_AS_DOCKER: &str = "{\n\t\"auths\": {\n\t\t\"quay.io\": {\n\t\t\t\"auth\": \"cXVheTpTRUNSRVQ=\"\n\t\t}\n\t},\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"ghcr.io\": \"other\"\n\t},\n\t\"experimental\": \"enabled\",\n\t\"n\": 1500.0,\n\t\"s\": \"é/\"\n}\n";

#[test]
fn configure_keeps_everything_else_rendered_as_docker_does() {
    let h = with_github();
    h.add("Hub", "dockerhub", None, "u", "pw\n", &[]);
    h.add(
        "Local",
        "custom",
        Some("127.0.0.1:5000"),
        "u",
        "pw\n",
        &["p"],
    );
    fs::create_dir_all(h.path("docker")).unwrap();
    fs::write(h.docker_config(), UNUSUAL).unwrap();
    chmod(&h.docker_config(), 0o640);

    // Dry run: a diff, secrets redacted, nothing written.
    let out = h.ok(&["configure", "--dry-run"], b"");
    let text = stdout(&out);
    assert_contains(&text, "+\t\t\"127.0.0.1:5000\": \"northflank\"");
    assert_contains(&text, "written as docker writes it");
    assert_contains(&text, "dry run: nothing was written");
    assert_lacks(&text, "cXVheTpTRUNSRVQ=");
    assert_eq!(fs::read_to_string(h.docker_config()).unwrap(), UNUSUAL);
    assert!(!h.auth_file().exists());

    let out = h.ok(&["configure"], b"");
    assert_contains(
        &stderr(&out),
        "ghcr.io is handled by docker-credential-other; left alone (configure --force takes it over)",
    );
    let want = UNUSUAL_AS_DOCKER.replace(
        "\t\t\"ghcr.io\": \"other\"\n",
        "\t\t\"ghcr.io\": \"other\",\n\t\t\"127.0.0.1:5000\": \"northflank\",\n\t\t\"https://index.docker.io/v1/\": \"northflank\"\n",
    );
    assert_eq!(fs::read_to_string(h.docker_config()).unwrap(), want);
    assert_eq!(mode(&h.docker_config()), 0o640, "mode kept");
    // containers' auth.json did not exist: created as podman creates it, with docker.io for
    // Hub, mode 0600.
    let auth: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(h.auth_file()).unwrap()).unwrap();
    assert_eq!(
        auth,
        serde_json::json!({"credHelpers": {"127.0.0.1:5000": "northflank", "docker.io": "northflank", "ghcr.io": "northflank"}})
    );
    assert_eq!(
        fs::read_to_string(h.auth_file()).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"127.0.0.1:5000\": \"northflank\",\n\t\t\"docker.io\": \"northflank\",\n\t\t\"ghcr.io\": \"northflank\"\n\t}\n}"
    );
    assert_eq!(mode(&h.auth_file()), 0o600);

    // Twice changes nothing.
    let before = (
        fs::read(h.docker_config()).unwrap(),
        fs::read(h.auth_file()).unwrap(),
    );
    let out = h.ok(&["configure"], b"");
    assert_lacks(&stdout(&out), "updated");
    assert_eq!(
        before,
        (
            fs::read(h.docker_config()).unwrap(),
            fs::read(h.auth_file()).unwrap()
        )
    );

    // --force takes over; --remove takes away only our entries.
    h.ok(&["configure", "--force"], b"");
    let text = fs::read_to_string(h.docker_config()).unwrap();
    assert_contains(&text, "\"ghcr.io\": \"northflank\"");
    assert_contains(&text, "\"gcr.io\": \"gcloud\"");
    h.ok(&["configure", "--remove"], b"");
    let after = fs::read_to_string(h.docker_config()).unwrap();
    assert_eq!(
        after,
        UNUSUAL_AS_DOCKER.replace(",\n\t\t\"ghcr.io\": \"other\"", "")
    );
    let auth = fs::read_to_string(h.auth_file()).unwrap();
    assert_eq!(auth.trim(), "{}", "{auth}");
}

#[test]
fn configure_with_nothing_saved_succeeds_and_writes_nothing() {
    let h = Helper::new();
    let out = h.ok(&["configure"], b"");
    assert_contains(&stdout(&out), "nothing to wire");
    assert!(!h.docker_config().exists() && !h.auth_file().exists());
    // Extra hosts can be wired before anything is saved.
    h.ok(
        &["configure", "--registry", "Registry.Example.com:443"],
        b"",
    );
    let text = fs::read_to_string(h.docker_config()).unwrap();
    assert_eq!(
        text, "{\n\t\"credHelpers\": {\n\t\t\"registry.example.com\": \"northflank\"\n\t}\n}",
        "a new file is exactly what `docker login` would create (no final newline)"
    );
}

#[test]
fn configure_finds_the_files_where_the_tools_look() {
    let h = with_github();
    // No DOCKER_CONFIG: ~/.docker/config.json. No REGISTRY_AUTH_FILE: $XDG_RUNTIME_DIR first.
    let mut c = h.cmd(&["configure"]);
    c.env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env("XDG_RUNTIME_DIR", h.path("run"));
    let out = run_with_stdin(c, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(h.home().join(".docker/config.json").exists());
    assert!(h.path("run/containers/auth.json").exists());
    // Without XDG_RUNTIME_DIR: ~/.config/containers/auth.json.
    let mut c = h.cmd(&["configure"]);
    c.env_remove("REGISTRY_AUTH_FILE");
    assert!(run_with_stdin(c, b"").status.success());
    assert!(h.home().join(".config/containers/auth.json").exists());
}

#[test]
fn configure_refuses_unreadable_or_broken_files_and_changes_nothing() {
    // Tests run as root, which reads any file whatever its mode, so "unreadable" is a
    // directory where the file should be; "broken" is invalid JSON or a wrong shape.
    let h = with_github();
    fs::create_dir_all(h.docker_config()).unwrap();
    let out = h.fails(&["configure"], b"");
    assert_contains(&stderr(&out), "cannot read");
    assert_contains(&stderr(&out), "nothing was changed");
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(
        !h.auth_file().exists(),
        "the other file was not written either"
    );
    fs::remove_dir(h.docker_config()).unwrap();

    for broken in [
        "{\"auths\": {",
        "[]",
        "{\"credHelpers\": []}",
        "{\"a\":1} trailing",
    ] {
        fs::write(h.docker_config(), broken).unwrap();
        let out = h.fails(&["configure"], b"");
        assert_contains(&stderr(&out), "config.json");
        assert_eq!(fs::read_to_string(h.docker_config()).unwrap(), broken);
        assert!(!h.auth_file().exists());
    }
    // A broken auth.json stops the docker config from being written too.
    fs::write(h.docker_config(), "{}").unwrap();
    fs::create_dir_all(h.path("containers")).unwrap();
    fs::write(h.auth_file(), "{not json").unwrap();
    let out = h.fails(&["configure"], b"");
    assert_contains(&stderr(&out), "auth.json is not valid JSON");
    assert_eq!(fs::read_to_string(h.docker_config()).unwrap(), "{}");
}

#[cfg(unix)]
#[test]
fn configure_writes_through_a_symlink() {
    let h = with_github();
    fs::create_dir_all(h.path("docker")).unwrap();
    fs::write(h.path("dotfiles.json"), "{}").unwrap();
    // The file the link points to is written; the link stays a link.
    let configure_through = |target: &std::path::Path, written: &str| {
        let _ = fs::remove_file(h.docker_config());
        std::os::unix::fs::symlink(target, h.docker_config()).unwrap();
        h.ok(&["configure"], b"");
        assert!(
            fs::symlink_metadata(h.docker_config())
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_contains(&fs::read_to_string(h.path(written)).unwrap(), "ghcr.io");
    };
    configure_through(&h.path("dotfiles.json"), "dotfiles.json");
    // A dangling link: its target is created, as docker does.
    configure_through("../dotfiles/new.json".as_ref(), "dotfiles/new.json");
    assert_eq!(mode(&h.path("dotfiles")), 0o700, "a new folder is private");
}

/// The claim of `configure`'s layout, checked against docker itself: the file `configure`
/// writes is byte for byte the file docker writes when it saves the same content. Docker is
/// made to save by switching contexts (its CLI rewrites config.json then; no daemon needed).
#[test]
fn configure_writes_config_json_byte_for_byte_as_docker_saves_it() {
    if !servers::have_programs(
        "configure_writes_config_json_byte_for_byte_as_docker_saves_it",
        &["docker"],
    ) {
        return;
    }
    let h = with_github();
    h.add("Hub", "dockerhub", None, "u", "pw\n", &[]);
    fs::create_dir_all(h.path("docker")).unwrap();
    // Members in docker's own field order (credHelpers comes after these), so that only
    // layout and escaping can differ.
    fs::write(
        h.docker_config(),
        r#"{"auths":{"a.io":{"auth":"dTpw"},"b.io":{}},"HttpHeaders":{"X-A":"1"},"psFormat":"<x & y>\u2028\u0001é\"\\/","detachKeys":"ctrl-x"}"#,
    )
    .unwrap();
    h.ok(&["configure"], b"");
    let ours = fs::read_to_string(h.docker_config()).unwrap();
    assert_contains(&ours, "\"credHelpers\": {");

    // The same content, compact, saved again by docker.
    let value: serde_json::Value = serde_json::from_str(&ours).unwrap();
    fs::write(h.docker_config(), serde_json::to_string(&value).unwrap()).unwrap();
    for args in [
        &[
            "context",
            "create",
            "nf-layout",
            "--docker",
            "host=unix:///nonexistent.sock",
        ][..],
        &["context", "use", "nf-layout"],
        &["context", "use", "default"],
    ] {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_CONFIG", h.path("docker"))
            .env("HOME", h.home())
            .output()
            .unwrap();
        assert!(out.status.success(), "docker {args:?}: {out:?}");
    }
    assert_eq!(fs::read_to_string(h.docker_config()).unwrap(), ours);
}

/// How long a command may take before it counts as hanging (the point of the tests that use
/// it is that nothing waits on a FIFO).
const HANG: Duration = Duration::from_secs(20);

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_at_config_json_is_an_error_never_a_hang() {
    let h = Helper::new();
    fs::create_dir_all(h.path("docker")).unwrap();
    let status = Command::new("mkfifo")
        .arg(h.docker_config())
        .status()
        .expect("mkfifo");
    assert!(status.success());

    // `add` saves, then looks at docker's config for its hint: it must not wait there.
    let out = run_within(
        h.cmd(&[
            "add",
            "GitHub",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
        ]),
        b"ghp_x\n",
        HANG,
    );
    assert!(out.status.success(), "{}", all(&out));
    h.assert_serves("ghcr.io", None, "u", "ghp_x");

    let out = run_within(h.cmd(&["configure"]), b"", HANG);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("config.json: it is a FIFO, not a regular file")
            && stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    assert!(!h.auth_file().exists(), "the other file was not written");

    let out = run_within(h.cmd(&["doctor"]), b"", HANG);
    assert!(!out.status.success());
    assert_contains(&stdout(&out), "is a FIFO");

    // A config.json that is a link to /dev/zero is refused, not read without end.
    fs::remove_file(h.docker_config()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", h.docker_config()).unwrap();
    let out = run_within(h.cmd(&["configure"]), b"", HANG);
    assert!(!out.status.success());
    assert_contains(&stderr(&out), "it is a device, not a regular file");
}

/// Both files are read and planned first; when a write still fails (here: auth.json's folder
/// cannot be created inside /proc), the error says that docker's file was already updated.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_second_write_names_the_file_already_updated() {
    let h = with_github();
    let mut c = h.cmd(&["configure"]);
    c.env("REGISTRY_AUTH_FILE", "/proc/self/no-such-folder/auth.json");
    let out = run_with_stdin(c, b"");
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_contains(&err, "cannot write /proc/self/no-such-folder/auth.json");
    assert_contains(
        &err,
        &format!("but {} was already updated", h.docker_config().display()),
    );
    let docker = fs::read_to_string(h.docker_config()).unwrap();
    assert_contains(&docker, "\"ghcr.io\": \"northflank\"");
}

#[test]
fn configure_keeps_a_crlf_file_crlf() {
    let h = with_github();
    fs::create_dir_all(h.path("docker")).unwrap();
    fs::write(h.docker_config(), "{\r\n  \"auths\": {}\r\n}\r\n").unwrap();
    h.ok(&["configure"], b"");
    let text = fs::read_to_string(h.docker_config()).unwrap();
    assert_eq!(
        text,
        "{\r\n\t\"auths\": {},\r\n\t\"credHelpers\": {\r\n\t\t\"ghcr.io\": \"northflank\"\r\n\t}\r\n}\r\n"
    );
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
}

/// The diff keeps the file's tabs but escapes what a terminal would act on, wherever it
/// comes from in the file.
#[test]
fn configure_dry_run_keeps_tabs_and_escapes_terminal_controls() {
    let h = with_github();
    fs::create_dir_all(h.path("docker")).unwrap();
    fs::write(
        h.docker_config(),
        "{\"credHelpers\": {\"gcr.io\": \"x\u{202e}y\u{85}\"}}",
    )
    .unwrap();
    let out = h.ok(&["configure", "--dry-run"], b"");
    let all = all(&out);
    assert!(
        !all.contains('\u{202e}') && !all.contains('\u{85}'),
        "{all:?}"
    );
    assert_contains(
        &stdout(&out),
        "+\t\t\"gcr.io\": \"x\\u{202e}y\\u{85}\",\n+\t\t\"ghcr.io\": \"northflank\"",
    );
}

/// Docker (Go) and podman take the last value of a key listed twice. `--remove` takes away
/// only members that are ours: another helper's member stays, and answers from then on.
#[test]
fn configure_remove_never_removes_another_helpers_duplicate() {
    let h = with_github();
    fs::create_dir_all(h.path("docker")).unwrap();
    // ghcr.io is effectively ours (last), quay.io effectively desktop's.
    let dup = r#"{"credHelpers": {"ghcr.io": "other", "quay.io": "northflank", "ghcr.io": "northflank", "quay.io": "desktop"}}"#;
    fs::write(h.docker_config(), dup).unwrap();

    let out = h.ok(&["configure"], b"");
    assert_contains(&stdout(&out), "= ghcr.io (already set)");
    assert_eq!(
        fs::read_to_string(h.docker_config()).unwrap(),
        dup,
        "nothing to change"
    );

    let out = h.ok(&["configure", "--remove"], b"");
    assert_contains(
        &stdout(&out),
        "- ghcr.io (its other entry, docker-credential-other, answers from now on)",
    );
    assert_contains(&stdout(&out), "ghcr.io was listed 2 times");
    assert_eq!(
        fs::read_to_string(h.docker_config()).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"other\",\n\t\t\"quay.io\": \"desktop\"\n\t}\n}",
        "each key once, with the value the tools use"
    );

    // The other way round: the other helper's value is the one docker uses; left alone.
    fs::write(
        h.docker_config(),
        r#"{"credHelpers": {"ghcr.io": "northflank", "ghcr.io": "other"}}"#,
    )
    .unwrap();
    let out = h.ok(&["configure"], b"");
    assert_contains(
        &stderr(&out),
        "ghcr.io is handled by docker-credential-other",
    );
    let out = h.ok(&["configure", "--remove"], b"");
    assert_contains(
        &stdout(&out),
        "- ghcr.io (an unused duplicate: docker-credential-other still answers)",
    );
    assert_eq!(
        fs::read_to_string(h.docker_config()).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"other\"\n\t}\n}"
    );
}

// ---------------------------------------------------------------------------------------------
// doctor

#[cfg(unix)]
/// A folder holding the helper under its own name, for a PATH that finds it (as `doctor`
/// checks).
fn on_path(h: &Helper) -> std::path::PathBuf {
    let bin_dir = h.path("bin");
    fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("docker-credential-northflank")).unwrap();
    bin_dir
}

#[test]
fn doctor_reports_problems_with_fixes_and_passes_when_all_is_well() {
    let h = Helper::new();
    let bin_dir = on_path(&h);
    let doctor = |path: &str, project: Option<&str>| {
        let mut c = h.cmd(&["doctor"]);
        c.env("PATH", path).envs(project_env(project));
        run_with_stdin(c, b"")
    };
    let on_path = bin_dir.to_str().unwrap();

    // Nothing saved, binary on PATH: healthy.
    let out = doctor(on_path, None);
    assert!(out.status.success(), "{}", all(&out));
    assert_contains(&stdout(&out), "(this binary)");

    h.add("GitHub", "github", None, "u", "ghp_x\n", &["p1"]);
    let out = doctor("/nonexistent", Some("bad id!"));
    assert!(!out.status.success());
    let text = stdout(&out);
    for want in [
        "FAIL  docker-credential-northflank is not on PATH",
        "fix: docker-credential-northflank configure",
        "FAIL  NORTHFLANK_PROJECT=\"bad id!\" is not a project id",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    for line in text.lines().filter(|l| l.starts_with("FAIL")) {
        assert!(line.contains("fix:"), "no fix on {line:?}");
    }

    h.ok(&["configure"], b"");
    let out = doctor(on_path, Some("p1"));
    assert!(out.status.success(), "{}", all(&out));
    assert_contains(&stdout(&out), "sees: ghcr.io (GitHub)");
    assert_contains(&stdout(&out), "backend: file");

    // A store file others can read, and a corrupt one, are failures.
    let reg = h.path("store/registries/ghcr.io.json");
    chmod(&reg, 0o644);
    fs::write(h.path("store/registries/quay.io.json"), "{broken").unwrap();
    chmod(&h.path("store/registries/quay.io.json"), 0o600);
    let out = doctor(on_path, Some("p1"));
    assert!(!out.status.success());
    assert_contains(&stdout(&out), "chmod 600");
    assert_contains(&stdout(&out), "quay.io.json is corrupt");
}

#[test]
fn a_docker_creds_store_naming_this_helper_counts_as_wired() {
    let h = Helper::new();
    let bin_dir = on_path(&h);
    fs::create_dir_all(h.docker_config().parent().unwrap()).unwrap();
    fs::write(h.docker_config(), r#"{"credsStore":"northflank"}"#).unwrap();
    let out = h.run(
        &[
            "add",
            "GitHub",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
        ],
        b"ghp_x",
    );
    assert_ok(&out, "add");
    assert_lacks(&stderr(&out), "does not send");
    // A registry docker sends to another helper takes configure --force, and the hint says so.
    fs::write(
        h.docker_config(),
        r#"{"credsStore":"northflank","credHelpers":{"quay.io":"other"}}"#,
    )
    .unwrap();
    let out = h.run(
        &[
            "add",
            "Quay",
            "--provider",
            "custom",
            "--registry",
            "quay.io",
            "--username",
            "u",
            "--password-stdin",
        ],
        b"pw",
    );
    assert_ok(&out, "add quay");
    assert_contains(
        &stderr(&out),
        "docker sends quay.io to docker-credential-other",
    );
    assert_contains(&stderr(&out), "configure --force");
    h.ok(&["rm", "Quay"], b"");
    fs::write(h.docker_config(), r#"{"credsStore":"northflank"}"#).unwrap();
    fs::create_dir_all(h.auth_file().parent().unwrap()).unwrap();
    fs::write(h.auth_file(), r#"{"credHelpers":{"ghcr.io":"northflank"}}"#).unwrap();
    let mut c = h.cmd(&["doctor"]);
    c.env("PATH", bin_dir.to_str().unwrap());
    let out = run_with_stdin(c, b"");
    assert!(out.status.success(), "{}", all(&out));
    assert_contains(
        &stdout(&out),
        "sends every other registry here too (credsStore)",
    );
    // Containers' tools read no credsStore: there, the registry still needs its entry.
    fs::write(h.auth_file(), r#"{"credsStore":"northflank"}"#).unwrap();
    let mut c = h.cmd(&["doctor"]);
    c.env("PATH", bin_dir.to_str().unwrap());
    let out = run_with_stdin(c, b"");
    assert!(!out.status.success());
    assert_contains(&stdout(&out), "podman/skopeo/buildah: saved but not wired");
}

// ---------------------------------------------------------------------------------------------
// The protocol is unchanged by all of the above.

#[test]
fn protocol_verbs_stay_byte_exact() {
    let h = Helper::new();
    h.add("GitHub", "github", None, "u<&>", "ghp_x\n", &[]);
    assert_eq!(
        stdout(&h.get_as("https://ghcr.io/v2/", None)),
        "{\"ServerURL\":\"https://ghcr.io/v2/\",\"Username\":\"u\\u003c\\u0026\\u003e\",\"Secret\":\"ghp_x\"}\n"
    );
    assert_eq!(
        stdout(&h.ok(&["list"], b"")),
        "{\"ghcr.io\":\"u\\u003c\\u0026\\u003e\"}\n"
    );
    let out = h.run(&["list", "extra"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.is_empty());
}
