//! The management commands, run through the real binary against temporary stores and config
//! files. Every path the binary could touch (store, docker config, containers auth file, home)
//! points into a fresh temp dir per test.

mod common;
use common::get_answer;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_docker-credential-northflank");

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(env.path("home")).unwrap();
        env
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn docker_config(&self) -> PathBuf {
        self.path("docker/config.json")
    }

    fn auth_file(&self) -> PathBuf {
        self.path("containers/auth.json")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("NORTHFLANK_CONFIG_DIR", self.path("store"))
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("REGISTRY_AUTH_FILE", self.auth_file())
            .env("HOME", self.path("home"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("NORTHFLANK_PROJECT")
            .env_remove("NORTHFLANK_CREDENTIAL_BACKEND");
        c
    }

    fn run_with(&self, mut cmd: Command, stdin: Option<&[u8]>) -> Out {
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        Out(child.wait_with_output().unwrap())
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Out {
        self.run_with(self.cmd(args), stdin)
    }

    /// Runs and expects success.
    fn ok(&self, args: &[&str], stdin: Option<&[u8]>) -> Out {
        let out = self.run(args, stdin);
        assert!(
            out.0.status.success(),
            "{args:?} failed:\n{}\n{}",
            out.stdout(),
            out.stderr()
        );
        out
    }

    /// Runs and expects failure with a one-line error on stderr.
    fn fails(&self, args: &[&str], stdin: Option<&[u8]>) -> Out {
        let out = self.run(args, stdin);
        assert!(
            !out.0.status.success(),
            "{args:?} succeeded:\n{}",
            out.stdout()
        );
        assert!(
            !out.0.stderr.is_empty(),
            "{args:?}: no error message on stderr"
        );
        out
    }

    fn get(&self, server: &str, project: Option<&str>) -> String {
        let mut c = self.cmd(&["get"]);
        if let Some(p) = project {
            c.env("NORTHFLANK_PROJECT", p);
        }
        self.run_with(c, Some(server.as_bytes())).stdout()
    }

    /// `get` of `server` (as `project`) answers exactly `user` and `secret`.
    fn assert_serves(&self, server: &str, project: Option<&str>, user: &str, secret: &str) {
        assert_eq!(
            self.get(server, project),
            get_answer(server, user, secret),
            "get {server}"
        );
    }

    fn add(&self, name: &str, args: &[&str], secret: &str) -> Out {
        let mut all = vec!["add", name];
        all.extend_from_slice(args);
        all.push("--password-stdin");
        self.ok(&all, Some(format!("{secret}\n").as_bytes()))
    }
}

struct Out(Output);

impl Out {
    fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }
    fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }
    fn all(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
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

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// add

#[test]
fn add_for_every_provider_then_get_serves_it() {
    let env = Env::new();
    env.add(
        "Docker Hub",
        &["--provider", "dockerhub", "--username", "hubuser"],
        "dckr_pat_hub",
    );
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "octo"],
        "ghp_github",
    );
    env.add(
        "GitLab com",
        &["--provider", "gitlab", "--username", "gl"],
        "glpat-gitlabcom",
    );
    env.add(
        "GitLab self",
        &[
            "--provider",
            "gitlab",
            "--registry",
            "Gitlab.Example.com:5050",
            "--username",
            "me",
        ],
        "glpat-selfhosted",
    );
    env.add(
        "Local",
        &[
            "--provider",
            "custom",
            "--registry",
            "127.0.0.1:5000",
            "--username",
            "u",
            "--project",
            "p1",
        ],
        "pw:with:colons",
    );
    let key = env.path("key.json");
    fs::write(&key, keyfile_text("")).unwrap();
    let out = env.ok(
        &[
            "add",
            "GCR asia",
            "--provider",
            "gcr-asia",
            "--keyfile",
            key.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.stdout().contains("asia.gcr.io"), "{}", out.stdout());
    assert!(!out.all().contains("MIIEvSECRETKEY"));

    env.assert_serves("docker.io", None, "hubuser", "dckr_pat_hub");
    env.assert_serves("ghcr.io", None, "octo", "ghp_github");
    env.assert_serves("registry.gitlab.com", None, "gl", "glpat-gitlabcom");
    env.assert_serves("gitlab.example.com:5050", None, "me", "glpat-selfhosted");
    env.assert_serves("127.0.0.1:5000", Some("p1"), "u", "pw:with:colons");
    assert_eq!(
        env.get("127.0.0.1:5000", None),
        "credentials not found in native keychain\n"
    );
    env.assert_serves("asia.gcr.io", None, "_json_key", &keyfile_text(""));

    let listed: serde_json::Value =
        serde_json::from_str(&env.ok(&["ls", "--json"], None).stdout()).unwrap();
    let rows: Vec<(String, String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["provider"].as_str().unwrap().to_string(),
                r["registry"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(rows.contains(&(
        "GitLab self".into(),
        "gitlab".into(),
        "gitlab.example.com:5050".into()
    )));
    assert!(rows.contains(&("GCR asia".into(), "gcr-asia".into(), "asia.gcr.io".into())));
    assert!(rows.contains(&(
        "Docker Hub".into(),
        "dockerhub".into(),
        "https://index.docker.io/v1/".into()
    )));
    for secret in ["dckr_pat_hub", "ghp_github", "glpat-", "pw:with", "MIIEv"] {
        assert!(
            !listed.to_string().contains(secret),
            "ls --json shows {secret}"
        );
    }
}

#[test]
fn secrets_come_from_stdin_a_file_or_a_terminal_never_argv() {
    let env = Env::new();
    let file = env.path("pw.txt");
    fs::write(&file, "from-file\r\n").unwrap();
    env.ok(
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
        None,
    );
    env.assert_serves("r.example.com", None, "u", "from-file");
    // No source and stdin is not a terminal: refuse, do not hang.
    let out = env.fails(
        &[
            "add",
            "No secret",
            "--provider",
            "github",
            "--username",
            "u",
        ],
        None,
    );
    assert!(
        out.stderr().contains("--password-stdin"),
        "{}",
        out.stderr()
    );
    assert_eq!(out.stderr().lines().count(), 1);
    // There is no option that takes a secret as an argument.
    let out = env.fails(
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
        None,
    );
    assert!(!out.stderr().contains("ghp_inargv"), "{}", out.stderr());
    env.fails(
        &[
            "add",
            "Empty",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
        ],
        Some(b"\n"),
    );
    let ls = env.ok(&["ls"], None).stdout();
    assert!(!ls.contains("No secret") && !ls.contains("Argv") && !ls.contains("Empty"));
}

#[test]
fn tokens_that_look_wrong_get_a_warning_that_never_shows_them() {
    let env = Env::new();
    let out = env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "MyAccountPassword1",
    );
    assert!(out.stderr().contains("warning:"), "{}", out.stderr());
    assert!(out.stderr().contains("GitHub token"), "{}", out.stderr());
    assert!(!out.all().contains("MyAccountPassword1"));
    let out = env.add(
        "Hub",
        &["--provider", "dockerhub", "--username", "u"],
        "glpat-wrongplace",
    );
    assert!(
        out.stderr().contains("looks like a GitLab token"),
        "{}",
        out.stderr()
    );
    assert!(!out.all().contains("glpat-wrongplace"));
    // Warned, not refused.
    assert!(env.get("ghcr.io", None).contains("MyAccountPassword1"));
    let out = env.add(
        "GitHub 2",
        &["--provider", "github", "--username", "u", "--project", "p"],
        "github_pat_ok",
    );
    assert!(!out.stderr().contains("warning"), "{}", out.stderr());
}

#[test]
fn keyfile_is_checked_field_by_field_and_never_printed() {
    let env = Env::new();
    let key = env.path("key.json");
    let path = key.to_str().unwrap();
    let add = |name: &str, extra: &[&str]| {
        let mut args = vec!["add", name, "--provider", "gcr-eu", "--keyfile", path];
        args.extend_from_slice(extra);
        env.run(&args, None)
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
        assert!(!out.0.status.success(), "{text}");
        assert!(out.stderr().contains(want), "{text}: {}", out.stderr());
        assert!(out.stderr().contains(path), "{}", out.stderr());
        assert!(!out.all().contains("MIIEvSECRETKEY"), "{}", out.all());
        assert_eq!(out.stderr().lines().count(), 1);
    }
    fs::write(&key, keyfile_text("")).unwrap();
    let out = env.run(
        &["add", "GitHub", "--provider", "github", "--keyfile", path],
        None,
    );
    assert!(!out.0.status.success());
    assert!(
        out.stderr().contains("--keyfile is for the gcr providers"),
        "{}",
        out.stderr()
    );
    let out = add("GCR", &["--username", "someone"]);
    assert!(out.0.status.success(), "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("warning: GCR takes a keyfile with the user name _json_key")
    );
    assert!(out.stderr().contains("ci@proj.iam.gserviceaccount.com"));
    // A key piped in as the password of `_json_key` gets the same check, as a warning.
    let out = env.run(
        &[
            "add",
            "GCR piped",
            "--provider",
            "gcr",
            "--username",
            "_json_key",
            "--password-stdin",
        ],
        Some(b"{\"type\":\"service_account\"}"),
    );
    assert!(out.0.status.success(), "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("warning: the secret for _json_key has no \"client_email\""),
        "{}",
        out.stderr()
    );
}

// ---------------------------------------------------------------------------------------------
// ls, rename, rm, restrict

#[test]
fn ls_is_an_aligned_table_and_project_shows_what_it_gets() {
    let env = Env::new();
    env.add(
        "Shared",
        &["--provider", "github", "--username", "everyone"],
        "ghp_a",
    );
    env.add(
        "For p1",
        &[
            "--provider",
            "github",
            "--username",
            "p1user",
            "--project",
            "p1",
        ],
        "ghp_b",
    );
    env.add(
        "Other registry",
        &[
            "--provider",
            "custom",
            "--registry",
            "localhost:5000",
            "--username",
            "x",
            "--project",
            "p2",
        ],
        "pw",
    );
    let table = env.ok(&["ls"], None).stdout();
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
    assert!(!table.contains("ghp_"));

    // p1 is served its own credential for ghcr.io (not the shared one) and nothing for p2's.
    let p1 = env.ok(&["ls", "--project", "p1"], None).stdout();
    assert!(
        p1.contains("For p1") && !p1.contains("Shared") && !p1.contains("Other"),
        "{p1}"
    );
    let p3 = env.ok(&["ls", "--project", "p3", "--json"], None).stdout();
    let names: Vec<String> = serde_json::from_str::<serde_json::Value>(&p3)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Shared"]);

    env.ok(&["rename", "For p1", "Project one"], None);
    env.assert_serves("ghcr.io", Some("p1"), "p1user", "ghp_b");
    let out = env.fails(&["rename", "Project one", "Shared"], None);
    assert!(out.stderr().contains("already exists"));
    let out = env.fails(&["rename", "Project one", "1bad"], None);
    assert!(out.stderr().contains("invalid credential name"));
    let out = env.fails(&["rename", "Missing", "Whatever"], None);
    assert!(out.stderr().contains("no credential named"));
    let ls = env.ok(&["ls"], None).stdout();
    assert!(ls.contains("Project one") && !ls.contains("For p1"));

    // restrict that would make two answers for p1 is refused; rm removes.
    let out = env.fails(&["restrict", "Shared", "--project", "p1"], None);
    assert!(out.stderr().contains("ambiguous"), "{}", out.stderr());
    env.ok(&["rm", "Project one"], None);
    env.assert_serves("ghcr.io", Some("p1"), "everyone", "ghp_a");
}

#[test]
fn every_command_has_help() {
    let env = Env::new();
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
        let out = env.ok(&[cmd, "--help"], None);
        assert!(
            out.stdout().contains("Usage: docker-credential-northflank"),
            "{cmd}"
        );
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.ok(&["completions", shell], None);
        let script = out.stdout();
        for cmd in ["add", "import-docker-config", "kubelet-config", "migrate"] {
            assert!(script.contains(cmd), "{shell} completion lacks {cmd}");
        }
        assert!(
            script.contains("dockerhub") && script.contains("northflank"),
            "{shell}: provider values"
        );
    }
    // The bash script is valid bash.
    let script = env.ok(&["completions", "bash"], None).stdout();
    let path = env.path("completion.bash");
    fs::write(&path, script).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success(), "bash -n rejects the completion script");
    let page = env.ok(&["manpage"], None).stdout();
    assert!(
        page.contains(".TH docker-credential-northflank 1"),
        "{page}"
    );
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
    let env = Env::new();
    let file = env.path("config.json");
    fs::write(&file, import_fixture()).unwrap();
    let path = file.to_str().unwrap();

    let dry = env.run(&["import-docker-config", path, "--dry-run"], None);
    assert!(!dry.0.status.success(), "bad entries fail the run");
    let text = dry.all();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(
        text.contains("would create \"import-ghcr-io\" for ghcr.io (user octo"),
        "{text}"
    );
    assert!(
        text.contains("would create \"import-docker-hub\" for https://index.docker.io/v1/"),
        "{text}"
    );
    assert!(text.contains("user <token>"), "{text}");
    assert!(text.contains("dry run: nothing was saved"));
    assert!(
        !env.path("store/registries").exists()
            || env.ok(&["ls", "--json"], None).stdout().trim() == "[]"
    );

    let out = env.run(&["import-docker-config", path], None);
    assert!(!out.0.status.success());
    let text = out.all();
    assert!(!text.contains("SECRET"), "{text}");
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
        out.stderr()
            .trim_end()
            .ends_with("2 entries could not be imported (see above); the others were saved"),
        "{}",
        out.stderr()
    );
    env.assert_serves("ghcr.io", None, "octo", "ghp_colon:SECRET");
    env.assert_serves("docker.io", None, "hubuser", "hub-SECRET");
    env.assert_serves("registry.example.com", None, "<token>", "idtok-SECRET");
    env.assert_serves("quay.io", None, "quser", "qpass-SECRET");

    // Importing again updates the same credentials: no duplicates, no ambiguity.
    let again = format!(
        r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
        b64("octo2:new")
    );
    let out = env.ok(&["import-docker-config", "-"], Some(again.as_bytes()));
    assert!(
        out.stdout()
            .contains("update \"import-ghcr-io\" for ghcr.io (user octo2, all projects)"),
        "{}",
        out.stdout()
    );
    env.assert_serves("ghcr.io", None, "octo2", "new");
    let listed = env.ok(&["ls", "--json"], None).stdout();
    assert_eq!(listed.matches("\"ghcr.io\"").count(), 1, "{listed}");
}

#[test]
fn import_for_a_project_creates_restricted_credentials_and_never_ambiguity() {
    let env = Env::new();
    env.add(
        "Shared",
        &["--provider", "github", "--username", "shared"],
        "ghp_shared",
    );
    env.add(
        "Two projects",
        &[
            "--provider",
            "custom",
            "--registry",
            "r.example.com",
            "--username",
            "t",
            "--project",
            "p1",
            "--project",
            "p2",
        ],
        "two",
    );
    let file = format!(
        r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}},"r.example.com":{{"auth":"{}"}}}}}}"#,
        b64("mine:ghp_p1"),
        b64("r:p1only")
    );
    let out = env.run(
        &["import-docker-config", "-", "--project", "p1"],
        Some(file.as_bytes()),
    );
    assert!(!out.0.status.success());
    assert!(
        out.stdout()
            .contains("create \"import-ghcr-io\" for ghcr.io (user mine, projects p1)"),
        "{}",
        out.stdout()
    );
    assert!(
        out.stdout().contains("failed  r.example.com:") && out.stdout().contains("ambiguous"),
        "{}",
        out.stdout()
    );
    // The unrestricted credential is untouched; p1 gets its own.
    env.assert_serves("ghcr.io", None, "shared", "ghp_shared");
    env.assert_serves("ghcr.io", Some("p1"), "mine", "ghp_p1");
    env.assert_serves("r.example.com", Some("p1"), "t", "two");
}

#[test]
fn import_refuses_files_that_are_not_docker_configs() {
    let env = Env::new();
    for (input, want) in [
        (&b"not json"[..], "is not valid JSON"),
        (b"[1,2]", "is not a JSON object"),
        (b"{\"other\":1}", "has no \"auths\""),
        (b"{\"auths\":[]}", "\"auths\" is not an object"),
    ] {
        let out = env.fails(&["import-docker-config", "-"], Some(input));
        assert!(out.stderr().contains(want), "{}", out.stderr());
        assert_eq!(out.stderr().lines().count(), 1);
    }
    let out = env.fails(&["import-docker-config", "/nonexistent/config.json"], None);
    assert!(
        out.stderr()
            .contains("cannot read /nonexistent/config.json")
    );
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
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    env.add("Hub", &["--provider", "dockerhub", "--username", "u"], "pw");
    env.add(
        "Local",
        &[
            "--provider",
            "custom",
            "--registry",
            "127.0.0.1:5000",
            "--username",
            "u",
            "--project",
            "p",
        ],
        "pw",
    );
    fs::create_dir_all(env.path("docker")).unwrap();
    fs::write(env.docker_config(), UNUSUAL).unwrap();
    set_mode(&env.docker_config(), 0o640);

    // Dry run: a diff, secrets redacted, nothing written.
    let out = env.ok(&["configure", "--dry-run"], None);
    let text = out.stdout();
    assert!(
        text.contains("+\t\t\"127.0.0.1:5000\": \"northflank\""),
        "{text}"
    );
    assert!(text.contains("written as docker writes it"), "{text}");
    assert!(text.contains("dry run: nothing was written"));
    assert!(!text.contains("cXVheTpTRUNSRVQ="), "{text}");
    assert_eq!(fs::read_to_string(env.docker_config()).unwrap(), UNUSUAL);
    assert!(!env.auth_file().exists());

    let out = env.ok(&["configure"], None);
    assert!(out.stderr().contains("ghcr.io is handled by docker-credential-other; left alone (configure --force takes it over)"), "{}", out.stderr());
    let want = UNUSUAL_AS_DOCKER.replace(
        "\t\t\"ghcr.io\": \"other\"\n",
        "\t\t\"ghcr.io\": \"other\",\n\t\t\"127.0.0.1:5000\": \"northflank\",\n\t\t\"https://index.docker.io/v1/\": \"northflank\"\n",
    );
    assert_eq!(fs::read_to_string(env.docker_config()).unwrap(), want);
    assert_eq!(mode(&env.docker_config()), 0o640, "mode kept");
    // containers' auth.json did not exist: created as podman creates it, with docker.io for
    // Hub, mode 0600.
    let auth: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(env.auth_file()).unwrap()).unwrap();
    assert_eq!(
        auth,
        serde_json::json!({"credHelpers": {"127.0.0.1:5000": "northflank", "docker.io": "northflank", "ghcr.io": "northflank"}})
    );
    assert_eq!(
        fs::read_to_string(env.auth_file()).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"127.0.0.1:5000\": \"northflank\",\n\t\t\"docker.io\": \"northflank\",\n\t\t\"ghcr.io\": \"northflank\"\n\t}\n}"
    );
    assert_eq!(mode(&env.auth_file()), 0o600);

    // Twice changes nothing.
    let before = (
        fs::read(env.docker_config()).unwrap(),
        fs::read(env.auth_file()).unwrap(),
    );
    let out = env.ok(&["configure"], None);
    assert!(!out.stdout().contains("updated"), "{}", out.stdout());
    assert_eq!(
        before,
        (
            fs::read(env.docker_config()).unwrap(),
            fs::read(env.auth_file()).unwrap()
        )
    );

    // --force takes over; --remove takes away only our entries.
    env.ok(&["configure", "--force"], None);
    let text = fs::read_to_string(env.docker_config()).unwrap();
    assert!(text.contains("\"ghcr.io\": \"northflank\""), "{text}");
    assert!(text.contains("\"gcr.io\": \"gcloud\""));
    env.ok(&["configure", "--remove"], None);
    let after = fs::read_to_string(env.docker_config()).unwrap();
    assert_eq!(
        after,
        UNUSUAL_AS_DOCKER.replace(",\n\t\t\"ghcr.io\": \"other\"", "")
    );
    let auth = fs::read_to_string(env.auth_file()).unwrap();
    assert_eq!(auth.trim(), "{}", "{auth}");
}

#[test]
fn configure_with_nothing_saved_succeeds_and_writes_nothing() {
    let env = Env::new();
    let out = env.ok(&["configure"], None);
    assert!(out.stdout().contains("nothing to wire"), "{}", out.stdout());
    assert!(!env.docker_config().exists() && !env.auth_file().exists());
    // Extra hosts can be wired before anything is saved.
    env.ok(
        &["configure", "--registry", "Registry.Example.com:443"],
        None,
    );
    let text = fs::read_to_string(env.docker_config()).unwrap();
    assert_eq!(
        text, "{\n\t\"credHelpers\": {\n\t\t\"registry.example.com\": \"northflank\"\n\t}\n}",
        "a new file is exactly what `docker login` would create (no final newline)"
    );
}

#[test]
fn configure_finds_the_files_where_the_tools_look() {
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    // No DOCKER_CONFIG: ~/.docker/config.json. No REGISTRY_AUTH_FILE: $XDG_RUNTIME_DIR first.
    let mut c = env.cmd(&["configure"]);
    c.env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env("XDG_RUNTIME_DIR", env.path("run"));
    let out = env.run_with(c, None);
    assert!(out.0.status.success(), "{}", out.stderr());
    assert!(env.path("home/.docker/config.json").exists());
    assert!(env.path("run/containers/auth.json").exists());
    // Without XDG_RUNTIME_DIR: ~/.config/containers/auth.json.
    let mut c = env.cmd(&["configure"]);
    c.env_remove("REGISTRY_AUTH_FILE");
    assert!(env.run_with(c, None).0.status.success());
    assert!(env.path("home/.config/containers/auth.json").exists());
}

#[test]
fn configure_refuses_unreadable_or_broken_files_and_changes_nothing() {
    // Tests run as root, which reads any file whatever its mode, so "unreadable" is a
    // directory where the file should be; "broken" is invalid JSON or a wrong shape.
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    fs::create_dir_all(env.docker_config()).unwrap();
    let out = env.fails(&["configure"], None);
    assert!(out.stderr().contains("cannot read"), "{}", out.stderr());
    assert!(out.stderr().contains("nothing was changed"));
    assert_eq!(out.stderr().lines().count(), 1);
    assert!(
        !env.auth_file().exists(),
        "the other file was not written either"
    );
    fs::remove_dir(env.docker_config()).unwrap();

    for broken in [
        "{\"auths\": {",
        "[]",
        "{\"credHelpers\": []}",
        "{\"a\":1} trailing",
    ] {
        fs::write(env.docker_config(), broken).unwrap();
        let out = env.fails(&["configure"], None);
        assert!(out.stderr().contains("config.json"), "{}", out.stderr());
        assert_eq!(fs::read_to_string(env.docker_config()).unwrap(), broken);
        assert!(!env.auth_file().exists());
    }
    // A broken auth.json stops the docker config from being written too.
    fs::write(env.docker_config(), "{}").unwrap();
    fs::create_dir_all(env.path("containers")).unwrap();
    fs::write(env.auth_file(), "{not json").unwrap();
    let out = env.fails(&["configure"], None);
    assert!(
        out.stderr().contains("auth.json is not valid JSON"),
        "{}",
        out.stderr()
    );
    assert_eq!(fs::read_to_string(env.docker_config()).unwrap(), "{}");
}

#[cfg(unix)]
#[test]
fn configure_writes_through_a_symlink() {
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    fs::create_dir_all(env.path("docker")).unwrap();
    fs::write(env.path("dotfiles.json"), "{}").unwrap();
    std::os::unix::fs::symlink(env.path("dotfiles.json"), env.docker_config()).unwrap();
    env.ok(&["configure"], None);
    assert!(
        fs::symlink_metadata(env.docker_config())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(env.path("dotfiles.json"))
            .unwrap()
            .contains("ghcr.io")
    );
    // A dangling link: its target is created, as docker does, and the link stays.
    fs::remove_file(env.docker_config()).unwrap();
    std::os::unix::fs::symlink("../dotfiles/new.json", env.docker_config()).unwrap();
    env.ok(&["configure"], None);
    assert!(
        fs::symlink_metadata(env.docker_config())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(env.path("dotfiles/new.json"))
            .unwrap()
            .contains("ghcr.io")
    );
    assert_eq!(
        mode(&env.path("dotfiles")),
        0o700,
        "a new folder is private"
    );
}

/// Whether the docker CLI is on PATH. Missing under `CI=true`: the test fails. Elsewhere: a
/// loud SKIPPED line, and the caller returns.
fn have_docker(test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("docker").is_file()));
    if !found {
        let msg = format!("{test}: needs the docker CLI on PATH");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}; CI=true, so this is a failure");
        }
        // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
    }
    found
}

/// The claim of `configure`'s layout, checked against docker itself: the file `configure`
/// writes is byte for byte the file docker writes when it saves the same content. Docker is
/// made to save by switching contexts (its CLI rewrites config.json then; no daemon needed).
#[test]
fn configure_writes_config_json_byte_for_byte_as_docker_saves_it() {
    if !have_docker("configure_writes_config_json_byte_for_byte_as_docker_saves_it") {
        return;
    }
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    env.add("Hub", &["--provider", "dockerhub", "--username", "u"], "pw");
    fs::create_dir_all(env.path("docker")).unwrap();
    // Members in docker's own field order (credHelpers comes after these), so that only
    // layout and escaping can differ.
    fs::write(
        env.docker_config(),
        r#"{"auths":{"a.io":{"auth":"dTpw"},"b.io":{}},"HttpHeaders":{"X-A":"1"},"psFormat":"<x & y>\u2028\u0001é\"\\/","detachKeys":"ctrl-x"}"#,
    )
    .unwrap();
    env.ok(&["configure"], None);
    let ours = fs::read_to_string(env.docker_config()).unwrap();
    assert!(ours.contains("\"credHelpers\": {"), "{ours}");

    // The same content, compact, saved again by docker.
    let value: serde_json::Value = serde_json::from_str(&ours).unwrap();
    fs::write(env.docker_config(), serde_json::to_string(&value).unwrap()).unwrap();
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
            .env("DOCKER_CONFIG", env.path("docker"))
            .env("HOME", env.path("home"))
            .output()
            .unwrap();
        assert!(out.status.success(), "docker {args:?}: {out:?}");
    }
    assert_eq!(fs::read_to_string(env.docker_config()).unwrap(), ours);
}

/// Runs `cmd` (with `stdin`), failing the test instead of hanging if it has not ended
/// within 20 s: the point of the tests that use it is that nothing waits on a FIFO.
#[cfg(unix)]
fn run_within(mut cmd: Command, stdin: &[u8]) -> Out {
    use std::time::{Duration, Instant};
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{cmd:?} still running after 20 s: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Out(child.wait_with_output().unwrap())
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_at_config_json_is_an_error_never_a_hang() {
    let env = Env::new();
    fs::create_dir_all(env.path("docker")).unwrap();
    let status = Command::new("mkfifo")
        .arg(env.docker_config())
        .status()
        .expect("mkfifo");
    assert!(status.success());

    // `add` saves, then looks at docker's config for its hint: it must not wait there.
    let out = run_within(
        env.cmd(&[
            "add",
            "GitHub",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
        ]),
        b"ghp_x\n",
    );
    assert!(out.0.status.success(), "{}", out.all());
    env.assert_serves("ghcr.io", None, "u", "ghp_x");

    let out = run_within(env.cmd(&["configure"]), b"");
    assert!(!out.0.status.success());
    assert!(
        out.stderr()
            .contains("config.json: it is a FIFO, not a regular file")
            && out.stderr().contains("nothing was changed"),
        "{}",
        out.stderr()
    );
    assert!(!env.auth_file().exists(), "the other file was not written");

    let out = run_within(env.cmd(&["doctor"]), b"");
    assert!(!out.0.status.success());
    assert!(out.stdout().contains("is a FIFO"), "{}", out.stdout());

    // A config.json that is a link to /dev/zero is refused, not read without end.
    fs::remove_file(env.docker_config()).unwrap();
    std::os::unix::fs::symlink("/dev/zero", env.docker_config()).unwrap();
    let out = run_within(env.cmd(&["configure"]), b"");
    assert!(!out.0.status.success());
    assert!(
        out.stderr().contains("it is a device, not a regular file"),
        "{}",
        out.stderr()
    );
}

/// Both files are read and planned first; when a write still fails (here: auth.json's folder
/// cannot be created inside /proc), the error says that docker's file was already updated.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_second_write_names_the_file_already_updated() {
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    let mut c = env.cmd(&["configure"]);
    c.env("REGISTRY_AUTH_FILE", "/proc/self/no-such-folder/auth.json");
    let out = env.run_with(c, None);
    assert!(!out.0.status.success(), "{}", out.stdout());
    let err = out.stderr();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot write /proc/self/no-such-folder/auth.json"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "but {} was already updated",
            env.docker_config().display()
        )),
        "{err}"
    );
    let docker = fs::read_to_string(env.docker_config()).unwrap();
    assert!(docker.contains("\"ghcr.io\": \"northflank\""), "{docker}");
}

#[test]
fn configure_keeps_a_crlf_file_crlf() {
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    fs::create_dir_all(env.path("docker")).unwrap();
    fs::write(env.docker_config(), "{\r\n  \"auths\": {}\r\n}\r\n").unwrap();
    env.ok(&["configure"], None);
    let text = fs::read_to_string(env.docker_config()).unwrap();
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
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    fs::create_dir_all(env.path("docker")).unwrap();
    fs::write(
        env.docker_config(),
        "{\"credHelpers\": {\"gcr.io\": \"x\u{202e}y\u{85}\"}}",
    )
    .unwrap();
    let out = env.ok(&["configure", "--dry-run"], None);
    let all = out.all();
    assert!(
        !all.contains('\u{202e}') && !all.contains('\u{85}'),
        "{all:?}"
    );
    assert!(
        out.stdout()
            .contains("+\t\t\"gcr.io\": \"x\\u{202e}y\\u{85}\",\n+\t\t\"ghcr.io\": \"northflank\""),
        "{}",
        out.stdout()
    );
}

/// Docker (Go) and podman take the last value of a key listed twice. `--remove` takes away
/// only members that are ours: another helper's member stays, and answers from then on.
#[test]
fn configure_remove_never_removes_another_helpers_duplicate() {
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u"],
        "ghp_x",
    );
    fs::create_dir_all(env.path("docker")).unwrap();
    // ghcr.io is effectively ours (last), quay.io effectively desktop's.
    let dup = r#"{"credHelpers": {"ghcr.io": "other", "quay.io": "northflank", "ghcr.io": "northflank", "quay.io": "desktop"}}"#;
    fs::write(env.docker_config(), dup).unwrap();

    let out = env.ok(&["configure"], None);
    assert!(
        out.stdout().contains("= ghcr.io (already set)"),
        "{}",
        out.stdout()
    );
    assert_eq!(
        fs::read_to_string(env.docker_config()).unwrap(),
        dup,
        "nothing to change"
    );

    let out = env.ok(&["configure", "--remove"], None);
    assert!(
        out.stdout()
            .contains("- ghcr.io (its other entry, docker-credential-other, answers from now on)"),
        "{}",
        out.stdout()
    );
    assert!(
        out.stdout().contains("ghcr.io was listed 2 times"),
        "{}",
        out.stdout()
    );
    assert_eq!(
        fs::read_to_string(env.docker_config()).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"other\",\n\t\t\"quay.io\": \"desktop\"\n\t}\n}",
        "each key once, with the value the tools use"
    );

    // The other way round: the other helper's value is the one docker uses; left alone.
    fs::write(
        env.docker_config(),
        r#"{"credHelpers": {"ghcr.io": "northflank", "ghcr.io": "other"}}"#,
    )
    .unwrap();
    let out = env.ok(&["configure"], None);
    assert!(
        out.stderr()
            .contains("ghcr.io is handled by docker-credential-other"),
        "{}",
        out.stderr()
    );
    let out = env.ok(&["configure", "--remove"], None);
    assert!(
        out.stdout()
            .contains("- ghcr.io (an unused duplicate: docker-credential-other still answers)"),
        "{}",
        out.stdout()
    );
    assert_eq!(
        fs::read_to_string(env.docker_config()).unwrap(),
        "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"other\"\n\t}\n}"
    );
}

// ---------------------------------------------------------------------------------------------
// doctor

#[cfg(unix)]
#[test]
fn doctor_reports_problems_with_fixes_and_passes_when_all_is_well() {
    let env = Env::new();
    let bin_dir = env.path("bin");
    fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(BIN, bin_dir.join("docker-credential-northflank")).unwrap();
    let doctor = |path: &str, project: Option<&str>| {
        let mut c = env.cmd(&["doctor"]);
        c.env("PATH", path);
        if let Some(p) = project {
            c.env("NORTHFLANK_PROJECT", p);
        }
        env.run_with(c, None)
    };
    let on_path = bin_dir.to_str().unwrap();

    // Nothing saved, binary on PATH: healthy.
    let out = doctor(on_path, None);
    assert!(out.0.status.success(), "{}", out.all());
    assert!(out.stdout().contains("(this binary)"), "{}", out.stdout());

    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u", "--project", "p1"],
        "ghp_x",
    );
    let out = doctor("/nonexistent", Some("bad id!"));
    assert!(!out.0.status.success());
    let text = out.stdout();
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

    env.ok(&["configure"], None);
    let out = doctor(on_path, Some("p1"));
    assert!(out.0.status.success(), "{}", out.all());
    assert!(
        out.stdout().contains("sees: ghcr.io (GitHub)"),
        "{}",
        out.stdout()
    );
    assert!(out.stdout().contains("backend: file"));

    // A store file others can read, and a corrupt one, are failures.
    let reg = env.path("store/registries/ghcr.io.json");
    set_mode(&reg, 0o644);
    fs::write(env.path("store/registries/quay.io.json"), "{broken").unwrap();
    set_mode(&env.path("store/registries/quay.io.json"), 0o600);
    let out = doctor(on_path, Some("p1"));
    assert!(!out.0.status.success());
    assert!(out.stdout().contains("chmod 600"), "{}", out.stdout());
    assert!(
        out.stdout().contains("quay.io.json is corrupt"),
        "{}",
        out.stdout()
    );
}

// ---------------------------------------------------------------------------------------------
// The protocol is unchanged by all of the above.

#[test]
fn protocol_verbs_stay_byte_exact() {
    let env = Env::new();
    env.add(
        "GitHub",
        &["--provider", "github", "--username", "u<&>"],
        "ghp_x",
    );
    assert_eq!(
        env.get("https://ghcr.io/v2/", None),
        "{\"ServerURL\":\"https://ghcr.io/v2/\",\"Username\":\"u\\u003c\\u0026\\u003e\",\"Secret\":\"ghp_x\"}\n"
    );
    assert_eq!(
        env.ok(&["list"], None).stdout(),
        "{\"ghcr.io\":\"u\\u003c\\u0026\\u003e\"}\n"
    );
    let out = env.run(&["list", "extra"], None);
    assert_eq!(out.0.status.code(), Some(1));
    assert!(out.0.stderr.is_empty());
}
