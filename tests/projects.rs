//! Project restrictions through the binary: what each NORTHFLANK_PROJECT sees, serves,
//! lists, overwrites and erases.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
use common::*;

fn get_as(h: &Helper, server: &str, project: Option<&str>) -> std::process::Output {
    let env: Vec<(&str, &str)> = project
        .map(|p| ("NORTHFLANK_PROJECT", p))
        .into_iter()
        .collect();
    h.run_env(&["get"], server.as_bytes(), &env)
}

/// `get` of `server` as `project` answers exactly `user` and `secret`.
fn assert_serves(h: &Helper, server: &str, project: Option<&str>, user: &str, secret: &str) {
    assert_exact(
        &get_as(h, server, project),
        0,
        &get_answer(server, user, secret),
    );
}

fn list_as(h: &Helper, project: Option<&str>) -> String {
    let env: Vec<(&str, &str)> = project
        .map(|p| ("NORTHFLANK_PROJECT", p))
        .into_iter()
        .collect();
    let out = h.run_env(&["list"], b"", &env);
    assert_ok(&out, "list");
    stdout(&out)
}

#[test]
fn restricted_credentials_are_invisible_elsewhere_fail_closed() {
    let h = Helper::new();
    h.add(
        "prod-ghcr",
        "github",
        None,
        "prod-bot",
        "prod-token",
        &["prod"],
    );
    assert_serves(&h, "ghcr.io", Some("prod"), "prod-bot", "prod-token");
    for project in [
        None,
        Some(""),
        Some("staging"),
        Some("prod,staging"),
        Some("PROD"),
        Some("prod "),
    ] {
        let out = get_as(&h, "ghcr.io", project);
        assert_exact(&out, 1, NOT_FOUND);
        assert!(
            stderr(&out).contains("only for other projects"),
            "{project:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("prod-token"));
    }
    assert_eq!(list_as(&h, None), "{}\n");
    assert_eq!(list_as(&h, Some("staging")), "{}\n");
    assert_eq!(list_as(&h, Some("prod")), "{\"ghcr.io\":\"prod-bot\"}\n");
}

#[test]
fn the_project_specific_credential_wins_over_the_shared_one() {
    let h = Helper::new();
    h.add("shared-hub", "dockerhub", None, "shared", "s-pw", &[]);
    h.add(
        "team-a-hub",
        "dockerhub",
        None,
        "team-a",
        "a-pw",
        &["a1", "a2"],
    );
    h.add("team-b-hub", "dockerhub", None, "team-b", "b-pw", &["b1"]);
    let hub = "https://index.docker.io/v1/";
    let cases = [
        (None, "shared", "s-pw"),
        (Some("a1"), "team-a", "a-pw"),
        (Some("a2"), "team-a", "a-pw"),
        (Some("b1"), "team-b", "b-pw"),
        (Some("zz"), "shared", "s-pw"),
    ];
    for (project, user, secret) in cases {
        assert_serves(&h, "docker.io", project, user, secret);
        assert_eq!(
            list_as(&h, project),
            format!("{{\"{hub}\":\"{user}\"}}\n"),
            "{project:?}"
        );
    }
}

#[test]
fn ambiguous_saves_are_refused_and_change_nothing() {
    let h = Helper::new();
    h.add("one", "github", None, "u1", "t1", &[]);
    h.add("two", "github", None, "u2", "t2", &["p1"]);
    let before = h.snapshot();
    let cases: &[&[&str]] = &[
        &[
            "add",
            "three",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
        ],
        &[
            "add",
            "four",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
            "--project",
            "p2",
            "--project",
            "p1",
        ],
        &["restrict", "one", "--project", "p1"],
        &[
            "add",
            "one",
            "--provider",
            "gcr",
            "--username",
            "u",
            "--password-stdin",
        ],
    ];
    for args in cases {
        let out = h.run(args, b"tok");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("ambiguous") || err.contains("already exists"),
            "{err}"
        );
        assert_eq!(h.snapshot(), before, "{args:?} changed the store");
    }
    // Different registry, same project: fine.
    h.add("five", "gcr", None, "_json_key", "{}", &["p1"]);
}

#[test]
fn docker_login_never_overwrites_a_hidden_credential() {
    let h = Helper::new();
    h.add(
        "prod-only",
        "custom",
        Some("reg.example.com:5000"),
        "prod",
        "prod-secret",
        &["prod"],
    );
    // A login outside the project creates a new, unrestricted credential instead.
    h.store("reg.example.com:5000", "dev", "dev-secret");
    assert_serves(
        &h,
        "reg.example.com:5000",
        Some("prod"),
        "prod",
        "prod-secret",
    );
    assert_serves(&h, "reg.example.com:5000", None, "dev", "dev-secret");
    // A login inside the project updates the project's own credential.
    let json = br#"{"ServerURL":"reg.example.com:5000","Username":"prod2","Secret":"rotated"}"#;
    assert_ok(
        &h.run_env(&["store"], json, &[("NORTHFLANK_PROJECT", "prod")]),
        "store",
    );
    assert_serves(&h, "reg.example.com:5000", Some("prod"), "prod2", "rotated");
    assert_serves(&h, "reg.example.com:5000", None, "dev", "dev-secret");
    let ls = stdout(&h.run(&["ls", "--json"], b""));
    let names: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&ls)
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["login-reg-example-com-5000", "prod-only"]);
}

#[test]
fn erase_only_touches_what_the_context_sees() {
    let h = Helper::new();
    h.add("prod-only", "github", None, "prod", "p", &["prod"]);
    let before = h.snapshot();
    assert_exact(&h.run(&["erase"], b"ghcr.io"), 0, "");
    assert_exact(
        &h.run_env(&["erase"], b"ghcr.io", &[("NORTHFLANK_PROJECT", "dev")]),
        0,
        "",
    );
    assert_eq!(h.snapshot(), before);
    assert_exact(
        &h.run_env(&["erase"], b"ghcr.io", &[("NORTHFLANK_PROJECT", "prod")]),
        0,
        "",
    );
    assert_eq!(stdout(&h.run(&["ls", "--json"], b"")).trim(), "[]");
}

#[test]
fn ls_rm_restrict() {
    let h = Helper::new();
    h.add("hub", "dockerhub", None, "alice", "pw-alice", &[]);
    h.add(
        "lab",
        "gitlab",
        Some("gitlab.example.com:5050"),
        "bob",
        "glpat-xyz",
        &["p1", "p2"],
    );
    let table = stdout(&h.run(&["ls"], b""));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("NAME  PROVIDER   REGISTRY"), "{table}");
    assert!(
        lines[2].contains("gitlab.example.com:5050") && lines[2].contains("p1,p2"),
        "{table}"
    );
    // Columns line up: REGISTRY starts at the same offset on every line.
    let col = lines[0].find("REGISTRY").unwrap();
    assert_eq!(lines[1].find("https://index").unwrap(), col);
    assert!(!table.contains("pw-alice") && !table.contains("glpat-xyz"));

    let only_p3 = stdout(&h.run(&["ls", "--project", "p3", "--json"], b""));
    let v: serde_json::Value = serde_json::from_str(&only_p3).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "hub");
    assert!(!only_p3.contains("pw-alice"));

    assert_ok(
        &h.run(&["restrict", "lab", "--unrestricted"], b""),
        "restrict",
    );
    assert_serves(&h, "gitlab.example.com:5050", None, "bob", "glpat-xyz");
    assert_ok(
        &h.run(&["restrict", "lab", "--project", "p9"], b""),
        "restrict",
    );
    assert_exact(&get_as(&h, "gitlab.example.com:5050", None), 1, NOT_FOUND);
    assert_ok(&h.run(&["rm", "lab"], b""), "rm");
    assert_exact(
        &get_as(&h, "gitlab.example.com:5050", Some("p9")),
        1,
        NOT_FOUND,
    );
    let out = h.run(&["rm", "lab"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no credential named \"lab\""));
}

#[test]
fn add_validates_its_input() {
    let h = Helper::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "add",
                "x",
                "--provider",
                "github",
                "--username",
                "u",
                "--password-stdin",
            ],
            "invalid credential name",
        ),
        (
            &[
                "add",
                "ok-name",
                "--provider",
                "custom",
                "--username",
                "u",
                "--password-stdin",
            ],
            "needs --registry",
        ),
        (
            &[
                "add",
                "ok-name",
                "--provider",
                "github",
                "--registry",
                "evil.com",
                "--username",
                "u",
                "--password-stdin",
            ],
            "always uses ghcr.io",
        ),
        (
            &[
                "add",
                "ok-name",
                "--provider",
                "custom",
                "--registry",
                "a@b",
                "--username",
                "u",
                "--password-stdin",
            ],
            "invalid --registry",
        ),
        (
            &[
                "add",
                "ok-name",
                "--provider",
                "github",
                "--username",
                "u",
                "--password-stdin",
                "--project",
                "a b",
            ],
            "invalid project id",
        ),
        (
            &[
                "add",
                "ok-name",
                "--provider",
                "nope",
                "--username",
                "u",
                "--password-stdin",
            ],
            "invalid value 'nope'",
        ),
        (
            &["add", "ok-name", "--provider", "github", "--username", "u"],
            "no secret given",
        ),
    ];
    for (args, want) in cases {
        let out = h.run(args, b"tok");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let out = h.run(
        &[
            "add",
            "ok-name",
            "--provider",
            "github",
            "--username",
            "u",
            "--password-stdin",
        ],
        b"\n",
    );
    assert!(stderr(&out).contains("the password is empty"));
    assert!(h.snapshot().is_empty());
}

#[test]
fn ls_escapes_control_characters_from_usernames() {
    let h = Helper::new();
    h.store("ghcr.io", "\u{1b}[2J\u{1b}[31mEVIL", "p");
    let table = stdout(&h.run(&["ls"], b""));
    assert!(!table.contains('\u{1b}'), "{table:?}");
    assert!(table.contains("\\u{1b}[2J"), "{table}");
}
