//! The `sync` command through the binary, against the fake Northflank API on 127.0.0.1
//! (`tests/servers/northflank_api.py`) reached through `NORTHFLANK_API_URL`: what is mirrored
//! and skipped, re-syncs, dry runs and JSON, token sources, errors and exit codes, a login
//! racing a sync, a sync killed part-way (SPEC §9, issue 12). The API itself, request by
//! request, is `tests/sync_api.rs`.

#![cfg(feature = "network")]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
mod servers;

use common::*;
use serde_json::{Value, json};
use servers::northflank_api::{FakeApi, credential};

const TOKEN: &str = "nf-sync-token-SECRET-0123456789";

fn fixture(account: Vec<Value>) -> Value {
    json!({"tokens": {TOKEN: {}}, "account": account, "teams": {"t1": []}})
}

/// What a team typically saved: a restricted GitHub token, a Docker Hub password (older
/// answer shape), a self-hosted GitLab, and three that cannot be mirrored.
fn team_credentials() -> Vec<Value> {
    vec![
        json!({"id": "gh-1", "name": "ghcr prod", "provider": "github", "username": "octo",
               "password": "ghp_prodSECRET", "description": "CI token",
               "restrictions": {"restricted": true, "projects": ["prod"]},
               "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-02-01T00:00:00.000Z"}),
        json!({"id": "hub-1", "name": "docker hub", "provider": "dockerhub", "shape": "older",
               "username": "hubuser", "password": "hubSECRET", "description": "pulls from Hub",
               "restrictions": {"restricted": false, "projects": []},
               "updatedAt": "2026-02-01T00:00:00.000Z"}),
        json!({"id": "gl-1", "name": "gitlab self", "provider": "gitlab",
               "registryUrl": "https://gitlab.example.com:5050", "username": "gl",
               "password": "glpat-SECRETSECRETSECRET",
               "restrictions": {"restricted": false, "projects": []}}),
        json!({"id": "ecr-1", "name": "ecr byoc", "provider": "ecr",
               "registryUrl": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
               "integrationId": "aws-integration",
               "restrictions": {"restricted": false, "projects": []}}),
        json!({"id": "nores-1", "name": "no restrictions", "provider": "custom",
               "registryUrl": "nores.example.com", "username": "u", "password": "p",
               "omit": ["restrictions"]}),
        json!({"id": "quay-1", "name": "quay io", "provider": "quay-future",
               "registryUrl": "quay.io", "username": "q", "password": "quaySECRET",
               "restrictions": {"restricted": false, "projects": []}}),
    ]
}

/// `token` in `NORTHFLANK_API_TOKEN`, and `url` as the API base.
fn api_env<'a>(token: &'a str, url: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("NORTHFLANK_API_TOKEN", token), ("NORTHFLANK_API_URL", url)]
}

/// Runs `sync ARGS` against `api` with the token in `NORTHFLANK_API_TOKEN`.
fn sync(h: &Helper, api: &FakeApi, args: &[&str]) -> std::process::Output {
    let mut all = vec!["sync"];
    all.extend_from_slice(args);
    h.run_env(&all, b"", &api_env(TOKEN, &api.url()))
}

/// The token appears nowhere: not in any output, not in any file of the store.
fn assert_token_nowhere(h: &Helper, out: &std::process::Output) {
    assert!(
        !stdout(out).contains(TOKEN) && !stderr(out).contains(TOKEN),
        "the token was printed"
    );
    for (path, bytes) in h.snapshot() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TOKEN),
            "the token is in {}",
            path.display()
        );
    }
}

#[test]
fn a_first_sync_mirrors_what_can_be_mirrored_with_restrictions_and_origins() {
    let Some(api) = FakeApi::start("sync_first", &fixture(team_credentials())) else {
        return;
    };
    let h = Helper::new();
    let out = sync(&h, &api, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    for line in [
        "create  \"ghcr prod\" (ghcr.io, projects prod)",
        "create  \"docker hub\" (https://index.docker.io/v1/, all projects)",
        "create  \"gitlab self\" (gitlab.example.com:5050, all projects)",
        "create  \"quay io\" (quay.io, all projects)",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains("skip    \"ecr byoc\"") && text.contains("integration"),
        "{text}"
    );
    assert!(
        text.contains("skip    \"no restrictions\"") && text.contains("restrictions"),
        "{text}"
    );
    assert!(
        text.lines().last().unwrap().starts_with(
            "sync from the account: 4 created, 0 updated, 0 renamed, 0 removed, 2 skipped"
        ),
        "{text}"
    );
    assert_token_nowhere(&h, &out);
    // What get serves, project by project, is what Northflank's restrictions say.
    h.assert_serves("ghcr.io", Some("prod"), "octo", "ghp_prodSECRET");
    assert_exact(&h.get_as("ghcr.io", Some("dev")), 1, NOT_FOUND);
    assert_exact(&h.get_as("ghcr.io", None), 1, NOT_FOUND);
    h.assert_serves("docker.io", Some("dev"), "hubuser", "hubSECRET");
    // Mirrored metadata and origins, shown by ls and ls --json.
    let listed = h.ls_json(&[]);
    let gh = listed.iter().find(|c| c["name"] == "ghcr prod").unwrap();
    assert_eq!(gh["provider"], "github");
    let hub = listed.iter().find(|c| c["name"] == "docker hub").unwrap();
    assert_eq!(hub["description"], "pulls from Hub");
    assert_eq!(gh["created"], "2026-01-01T00:00:00.000Z");
    assert_eq!(
        gh["origin"],
        json!({"credential_id": "gh-1", "api": api.url(), "updated_at": "2026-02-01T00:00:00.000Z"})
    );
    assert_eq!(
        listed.iter().find(|c| c["name"] == "quay io").unwrap()["provider"],
        "custom"
    );
    assert_contains(&stdout(&h.run(&["ls"], b"")), "northflank");
}

#[test]
fn a_resync_updates_renames_and_removes_only_what_it_synced() {
    let mut creds = vec![
        credential(1, "t1"),
        credential(2, "t1"),
        credential(3, "t1"),
    ];
    let Some(api) = FakeApi::start("sync_resync", &fixture(creds.clone())) else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &api, &[]), "first sync");
    h.add(
        "my own",
        "custom",
        Some("r3.example.com"),
        "mine",
        "local-secret",
        &["local"],
    );
    // Unchanged: only the list is requested.
    let before = api.total();
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "unchanged sync");
    assert_eq!(api.total() - before, 1, "one list request, no get");
    assert_contains(
        &stdout(&out),
        "0 created, 0 updated, 0 renamed, 0 removed, 0 skipped, 3 unchanged",
    );
    // Northflank: cred 1 gets a new password, cred 2 a new name, cred 3 is deleted.
    creds[0]["password"] = json!("pw-1-rotated");
    creds[0]["updatedAt"] = json!("t2");
    creds[1]["name"] = json!("cred two");
    creds[1]["updatedAt"] = json!("t2");
    creds.remove(2);
    api.set_fixture(&fixture(creds));
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "sync after changes");
    let text = stdout(&out);
    assert!(text.contains("1 updated, 1 renamed, 1 removed"), "{text}");
    assert_contains(&text, "rename  \"cred 2\" -> \"cred two\"\n");
    h.assert_serves("r1.example.com", None, "user1", "pw-1-rotated");
    assert_eq!(h.ls_names(&[]), ["cred 1", "cred two", "my own"]);
    // The local credential is untouched.
    h.assert_serves("r3.example.com", Some("local"), "mine", "local-secret");
}

#[test]
fn a_dry_run_and_json_change_nothing_and_say_the_plan() {
    let Some(api) = FakeApi::start("sync_dry", &fixture(team_credentials())) else {
        return;
    };
    let h = Helper::new();
    h.store("quay.io", "local-user", "local-secret");
    let before = h.snapshot();
    let out = sync(&h, &api, &["--dry-run"]);
    assert_ok(&out, "dry run");
    assert_contains(&stdout(&out), "would create  \"ghcr prod\"");
    assert_contains(&stdout(&out), "dry run: nothing was changed");
    assert_eq!(h.snapshot(), before, "a dry run changes nothing");
    let out = sync(&h, &api, &["--dry-run", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["counts"]["create"], 3);
    // quay.io is taken by the local unrestricted credential: the upstream one is skipped,
    // the message naming both.
    let quay = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "quay io")
        .unwrap();
    assert_eq!(quay["action"], "skip");
    assert!(
        quay["reason"].as_str().unwrap().contains("login-quay-io"),
        "{quay}"
    );
    assert!(v["requests"]["list"].as_u64().unwrap() >= 1);
    assert_token_nowhere(&h, &out);
}

#[test]
fn the_token_comes_from_stdin_a_context_or_the_cli_login_file_never_argv() {
    let Some(api) = FakeApi::start("sync_tokens", &fixture(vec![credential(1, "t1")])) else {
        return;
    };
    let h = Helper::new();
    let url = api.url();
    let env = [("NORTHFLANK_API_URL", url.as_str())];
    // --token-stdin.
    let out = h.run_env(
        &["sync", "--token-stdin"],
        format!("{TOKEN}\n").as_bytes(),
        &env,
    );
    assert_ok(&out, "--token-stdin");
    // The official CLI's login file: its current context, or one by name.
    let dir = h.dir.path().join(".northflank");
    std::fs::create_dir(&dir).unwrap();
    let config = json!({"current": "work", "contexts": [
        {"name": "work", "token": TOKEN, "host": url},
        {"name": "old", "token": "revoked-token", "host": url},
    ]});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    assert_ok(
        &h.run(&["sync"], b""),
        "the current context, its host as the API base",
    );
    let out = h.run(&["sync", "--context", "old"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_contains(&stderr(&out), "rejected");
    let out = h.run(&["sync", "--context", "nope"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("work") && stderr(&out).contains("old"),
        "names the contexts: {}",
        stderr(&out)
    );
    // No token anywhere: says the four ways.
    std::fs::remove_dir_all(&dir).unwrap();
    let out = h.run_env(&["sync"], b"", &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("NORTHFLANK_API_TOKEN") && stderr(&out).contains("--token-stdin"),
        "{}",
        stderr(&out)
    );
    // An argument is never a token: there is no such flag.
    let out = h.run_env(&["sync", "--token", TOKEN], b"", &env);
    assert_eq!(out.status.code(), Some(1));
    assert_lacks(&stderr(&out), TOKEN);
}

#[test]
fn plain_http_to_another_machine_is_refused_before_connecting() {
    let h = Helper::new();
    let out = h.run_env(&["sync"], b"", &api_env(TOKEN, "http://api.example.com"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_contains(&stderr(&out), "http");
    assert_lacks(&stderr(&out), TOKEN);
}

#[test]
fn errors_say_what_to_do_with_their_own_exit_codes() {
    let Some(api) = FakeApi::start("sync_errors", &fixture(vec![credential(1, "t1")])) else {
        return;
    };
    let h = Helper::new();
    let url = api.url();
    // A rejected token.
    let out = h.run_env(&["sync"], b"", &api_env("wrong-token", &url));
    assert_eq!(out.status.code(), Some(2));
    assert_contains(&stderr(&out), "rejected");
    // A token without Read Encrypted: the list works, the get names the permission.
    let mut f = fixture(vec![credential(1, "t1")]);
    f["tokens"][TOKEN] = json!({"read_encrypted": false});
    api.set_fixture(&f);
    let out = sync(&h, &api, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_contains(
        &stderr(&out),
        "Account > Credentials > General > Read Encrypted",
    );
    // The rate limit: stops, and says when to retry.
    let mut f = fixture(vec![credential(1, "t1")]);
    f["faults"] = json!({"/v1/integrations/registries": [
        {"status": 429, "message": "Too many requests", "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "120"}}
    ]});
    api.set_fixture(&f);
    let out = sync(&h, &api, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_contains(&stderr(&out), "2 min");
    // A server error, then the answer: retried, and the sync completes.
    let mut f = fixture(vec![credential(1, "t1")]);
    f["faults"] =
        json!({"/v1/integrations/registries": [{"status": 503, "headers": {"retry-after": "0"}}]});
    api.set_fixture(&f);
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "sync after one 503");
    h.assert_serves("r1.example.com", None, "user1", "pw-1");
}

#[test]
fn registry_login_saves_the_token_for_northflanks_registry() {
    let Some(api) = FakeApi::start("sync_registry_login", &fixture(vec![])) else {
        return;
    };
    let h = Helper::new();
    let out = sync(&h, &api, &["--registry-login", "builder"]);
    assert_ok(&out, "sync --registry-login");
    assert_contains(
        &stdout(&out),
        "saved the API token for registry.northflank.com (user builder)",
    );
    h.assert_serves("registry.northflank.com", Some("any"), "builder", TOKEN);
    let listed = h.ls_json(&[]);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["name"].as_str(), listed[0]["provider"].as_str()),
        (Some("northflank-registry"), Some("northflank"))
    );
    // Again: the same credential is updated, and a plain sync never removes it.
    assert_ok(&sync(&h, &api, &["--registry-login", "builder2"]), "again");
    assert_ok(&sync(&h, &api, &[]), "plain sync");
    let listed = h.ls_json(&[]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["username"], "builder2");
}

#[test]
fn a_login_during_a_sync_is_kept_and_a_killed_sync_finishes_on_the_next_run() {
    let creds: Vec<Value> = (1..=5).map(|n| credential(n, "t1")).collect();
    let mut f = fixture(creds.clone());
    // The list answers slowly, so a docker login lands while the sync fetches.
    f["faults"] = json!({"/v1/integrations/registries": [{"delay": 1.5}]});
    let Some(api) = FakeApi::start("sync_race", &f) else {
        return;
    };
    let h = Helper::new();
    let url = api.url();
    let child = h.spawn(&["sync"], b"", &api_env(TOKEN, &url));
    std::thread::sleep(std::time::Duration::from_millis(500));
    h.store("ghcr.io", "during", "login-secret");
    assert_ok(&child.wait_with_output().unwrap(), "sync");
    h.assert_serves("ghcr.io", None, "during", "login-secret");
    assert_eq!(h.ls_json(&[]).len(), 6);
    // Killed at each step of its commit, the next sync finishes the job.
    for step in ["before-commit", "committed", "indexed"] {
        let h = Helper::new();
        api.set_fixture(&fixture(creds.clone()));
        let out = h.run_env(
            &["sync"],
            b"",
            &[api_env(TOKEN, &url), vec![("NORTHFLANK_FAULT", step)]].concat(),
        );
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "killed at {step}");
        let n = h.ls_json(&[]).len();
        assert!(
            n == 0 || n == 5,
            "{step}: {n} credentials: all or nothing of one commit"
        );
        for row in h.ls_json(&[]) {
            let host = row["registry"].as_str().unwrap();
            assert_eq!(
                h.get_as(host, None).status.code(),
                Some(0),
                "{step}: {host} is whole"
            );
        }
        assert_ok(&sync(&h, &api, &[]), "the next sync");
        assert_eq!(h.ls_json(&[]).len(), 5, "{step}");
    }
}

#[test]
fn two_credentials_trading_projects_sync_in_one_go() {
    let mut a = credential(1, "t1");
    let mut b = credential(2, "t1");
    for (c, p) in [(&mut a, "p1"), (&mut b, "p2")] {
        c["registryUrl"] = json!("shared.example.com");
        c["restrictions"] = json!({"restricted": true, "projects": [p]});
    }
    let Some(api) = FakeApi::start("sync_trade", &fixture(vec![a.clone(), b.clone()])) else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &api, &[]), "first sync");
    h.assert_serves("shared.example.com", Some("p1"), "user1", "pw-1");
    a["restrictions"] = json!({"restricted": true, "projects": ["p2"]});
    b["restrictions"] = json!({"restricted": true, "projects": ["p1"]});
    a["updatedAt"] = json!("t2");
    b["updatedAt"] = json!("t2");
    api.set_fixture(&fixture(vec![a, b]));
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "the trade");
    h.assert_serves("shared.example.com", Some("p1"), "user2", "pw-2");
    h.assert_serves("shared.example.com", Some("p2"), "user1", "pw-1");
}

#[test]
fn a_sync_against_another_api_never_removes_what_this_one_synced() {
    let Some(prod) = FakeApi::start("sync_two_apis_a", &fixture(vec![credential(1, "t1")])) else {
        return;
    };
    let Some(staging) = FakeApi::start("sync_two_apis_b", &fixture(vec![credential(2, "t1")]))
    else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &prod, &[]), "sync from one API");
    assert_ok(&sync(&h, &staging, &[]), "sync from another");
    assert_eq!(h.ls_names(&[]), ["cred 1", "cred 2"]);
}

#[test]
fn a_synced_credential_changed_here_gets_northflanks_back_at_the_next_sync() {
    let mut c = credential(1, "t1");
    c["restrictions"] = json!({"restricted": true, "projects": ["prod"]});
    let Some(api) = FakeApi::start("sync_local_edit", &fixture(vec![c])) else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &api, &[]), "first sync");
    assert_ok(
        &h.run(&["restrict", "cred 1", "--unrestricted"], b""),
        "a local widening",
    );
    h.assert_serves("r1.example.com", None, "user1", "pw-1");
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "next sync");
    assert!(stdout(&out).contains("1 updated"), "{}", stdout(&out));
    assert_exact(&h.get_as("r1.example.com", None), 1, NOT_FOUND);
    h.assert_serves("r1.example.com", Some("prod"), "user1", "pw-1");
}

/// "good one" (`g1`), synced once; its `updatedAt` then moves in Northflank.
fn good_one(updated_at: &str) -> Value {
    json!({"id": "g1", "name": "good one", "provider": "custom", "registryUrl": "good.example.com",
           "username": "gooduser", "password": "goodSECRET",
           "restrictions": {"restricted": false, "projects": []}, "updatedAt": updated_at})
}

#[test]
fn an_answer_that_is_not_the_apis_keeps_the_copy_and_fails_the_sync() {
    let Some(api) = FakeApi::start("sync_bad_get", &fixture(vec![good_one("t1")])) else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &api, &[]), "first sync");
    let get = "/v1/integrations/registries/g1";
    for fault in [
        json!({"status": 200, "body": "<html>"}),
        json!({"status": 200, "body": "{}"}),
        json!({"status": 400, "message": "Bad request"}),
        json!({"status": 410, "message": "Gone"}),
        json!({"status": 404, "body": "<html>not here</html>"}),
    ] {
        let mut f = fixture(vec![good_one("t2")]);
        f["faults"] = json!({get: [fault]});
        api.set_fixture(&f);
        let before = h.snapshot();
        let out = sync(&h, &api, &[]);
        assert_eq!(
            out.status.code(),
            Some(5),
            "{fault}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_contains(&stderr(&out), "Northflank's API");
        assert_contains(&stderr(&out), "g1");
        assert_lacks(&stdout(&out), "remove  ");
        assert_eq!(h.snapshot(), before, "{fault}: the copy is untouched");
        h.assert_serves("good.example.com", None, "gooduser", "goodSECRET");
        // --json says it too, with the same exit code.
        api.set_fixture(&f);
        let out = sync(&h, &api, &["--json"]);
        assert_eq!(out.status.code(), Some(5));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (&v["error"]["kind"], &v["error"]["exit_code"]),
            (&json!("answer"), &json!(5))
        );
        assert_eq!(v["counts"]["remove"], 0);
    }
    // Northflank's own 404: deleted since the list, so the copy goes as if unlisted.
    let mut f = fixture(vec![good_one("t2")]);
    f["faults"] = json!({get: [{"status": 404, "message": "Registry credentials not found"}]});
    api.set_fixture(&f);
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "a 404 from Northflank");
    assert_contains(
        &stdout(&out),
        "remove  \"good one\": Northflank no longer has it, since it was listed (HTTP 404: Registry credentials not found)",
    );
    assert!(h.ls_names(&[]).is_empty());
}

#[test]
fn a_credential_fetched_again_unchanged_is_not_rewritten() {
    let mut c = credential(1, "unused");
    c.as_object_mut().unwrap().remove("updatedAt");
    let Some(api) = FakeApi::start("sync_no_updated_at", &fixture(vec![c.clone()])) else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &api, &[]), "first sync");
    let before = h.snapshot();
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "re-sync");
    assert_contains(
        &stdout(&out),
        "sync from the account: 0 created, 0 updated, 0 renamed, 0 removed, 0 skipped, 1 unchanged",
    );
    assert_eq!(
        api.count("/v1/integrations/registries/cred-1"),
        2,
        "fetched every time"
    );
    assert_eq!(
        h.snapshot(),
        before,
        "nothing written: times and cached tokens stay"
    );
    // A real change is still an update, and says what changed.
    c["password"] = json!("pw-1-rotated");
    api.set_fixture(&fixture(vec![c]));
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "after a rotation");
    assert_contains(
        &stdout(&out),
        "update  \"cred 1\" (r1.example.com, all projects; changed: secret)",
    );
    h.assert_serves("r1.example.com", None, "user1", "pw-1-rotated");
}

#[test]
fn a_rename_in_northflank_is_reported_and_counted_as_a_rename() {
    let quay = |name: &str, updated: &str, projects: &[&str]| {
        json!({"id": "q1", "name": name, "provider": "custom", "registryUrl": "quay.io",
               "username": "q", "password": "quaySECRET", "updatedAt": updated,
               "restrictions": {"restricted": !projects.is_empty(), "projects": projects}})
    };
    let Some(api) = FakeApi::start("sync_rename", &fixture(vec![quay("quay uno", "t1", &[])]))
    else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &api, &[]), "first sync");
    api.set_fixture(&fixture(vec![quay("quay eins", "t2", &[])]));
    let out = sync(&h, &api, &["--dry-run", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["rename"], 1, "{v}");
    assert_eq!(v["counts"]["update"], 0, "{v}");
    let step = &v["steps"][0];
    assert_eq!(
        (&step["action"], &step["from"], &step["name"]),
        (&json!("rename"), &json!("quay uno"), &json!("quay eins"))
    );
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "the rename");
    assert_eq!(
        stdout(&out).lines().next(),
        Some(r#"rename  "quay uno" -> "quay eins""#)
    );
    assert_contains(&stdout(&out), "0 updated, 1 renamed");
    assert_eq!(h.ls_names(&[]), ["quay eins"]);
    // Renamed and restricted at once: still a rename, listing the other change.
    api.set_fixture(&fixture(vec![quay("quay drei", "t3", &["p1"])]));
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "rename and restrict");
    assert_contains(
        &stdout(&out),
        r#"rename  "quay eins" -> "quay drei" (quay.io, projects p1; also changed: restrictions)"#,
    );
    h.assert_serves("quay.io", Some("p1"), "q", "quaySECRET");
}

#[test]
fn json_has_the_error_when_the_sync_fails_before_a_plan() {
    let Some(api) = FakeApi::start("sync_json_errors", &fixture(vec![credential(1, "t1")])) else {
        return;
    };
    let h = Helper::new();
    let list = "/v1/teams/t1/integrations/registries";
    let cases: [(Option<Value>, &str, &str, i32); 3] = [
        (None, "wrong-token", "token-rejected", 2),
        (
            Some(json!({"status": 429, "headers": {"x-ratelimit-reset": "60"}})),
            TOKEN,
            "rate-limit",
            4,
        ),
        (
            Some(json!({"status": 200, "body": "<html>portal</html>"})),
            TOKEN,
            "answer",
            5,
        ),
    ];
    for (fault, token, kind, code) in cases {
        let mut f = fixture(vec![]);
        f["tokens"][TOKEN] = json!({"teams": ["t1"]});
        if let Some(fault) = fault {
            f["faults"] = json!({list: [fault]});
        }
        api.set_fixture(&f);
        let out = h.run_env(
            &["sync", "--json", "--team", "t1"],
            b"",
            &api_env(token, &api.url()),
        );
        assert_eq!(out.status.code(), Some(code), "{kind}: {}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{kind}: stdout is not JSON ({e}): {:?}", stdout(&out)));
        assert_eq!((&v["team"], &v["dry_run"]), (&json!("t1"), &json!(false)));
        assert_eq!(v["error"]["kind"], kind);
        assert_eq!(v["error"]["exit_code"], code);
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            stderr(&out).contains(message),
            "{message}\n{}",
            stderr(&out)
        );
        assert_token_nowhere(&h, &out);
    }
}

#[test]
fn a_name_synced_from_another_origin_is_named_as_such() {
    let mut f = fixture(vec![credential(1, "t1")]);
    f["account"][0]["name"] = json!("shared");
    let mut team_one = credential(2, "t1");
    team_one["name"] = json!("shared");
    f["teams"] = json!({"t1": [team_one]});
    f["tokens"][TOKEN] = json!({"teams": ["t1"]});
    let Some(api) = FakeApi::start("sync_origin_names", &f) else {
        return;
    };
    let h = Helper::new();
    assert_ok(&sync(&h, &api, &["--team", "t1"]), "the team's sync");
    let out = sync(&h, &api, &[]);
    assert_ok(&out, "the account's sync");
    assert_contains(
        &stdout(&out),
        r#"skip    "shared": the name "shared" is already used by Northflank's credential cred-2 synced from team t1 (for r2.example.com); rename one of them in Northflank"#,
    );
}

#[test]
fn a_token_too_large_for_stdin_is_a_token_problem() {
    let h = Helper::new();
    let out = h.run_env(
        &["sync", "--token-stdin"],
        &vec![b'a'; 64 * 1024 + 1],
        &[("NORTHFLANK_API_URL", "http://127.0.0.1:9")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_contains(&stderr(&out), "larger than 64 KiB");
}
