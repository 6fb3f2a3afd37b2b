//! `sync`'s fetch over real HTTP against the fake Northflank API on 127.0.0.1
//! (`tests/servers/northflank_api.py`), reached through `NORTHFLANK_API_URL` as a user would:
//! pagination, both paths, both answer shapes, missing fields, 401/403/404/429, the
//! rate-limit headers, 5xx and slow answers, and the request counts of incremental syncs.

mod common;
mod servers;

use common::assert_contains;

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::Duration;

use docker_credential_northflank::northflank::api::{self, Api, Options};
use docker_credential_northflank::northflank::plan::{self, Local};
use docker_credential_northflank::northflank::token::{self, Env};
use docker_credential_northflank::northflank::{Entry, Fetched, Scope, SyncError};
use docker_credential_northflank::policy::Restrictions;
use docker_credential_northflank::secret::Secret;
use serde_json::{Value, json};
use servers::northflank_api::{FakeApi, credential};

const TOKEN: &str = "nf-test-token-0123456789";

fn fixture(account: Vec<Value>) -> Value {
    json!({"tokens": {TOKEN: {}}, "account": account, "teams": {}})
}

/// A client for `server` with `token`, found the way `sync` finds it: from
/// `NORTHFLANK_API_TOKEN` and `NORTHFLANK_API_URL`. Fast retries, so tests stay quick.
fn client_with(server: &FakeApi, token: &str, timeout: Duration) -> Api {
    let env = Env {
        api_token: Some(OsString::from(token)),
        api_url: Some(OsString::from(server.url())),
        home: None,
    };
    let found = token::discover(None, None, &env).expect("token and base");
    let opts = Options {
        timeout,
        retries: 2,
        backoff: Duration::from_millis(10),
        ca_file: None,
    };
    Api::new(&found, opts).expect("client")
}

fn client(server: &FakeApi) -> Api {
    client_with(server, TOKEN, Duration::from_secs(5))
}

fn fetch(api: &Api, scope: &Scope, known: &HashMap<String, String>) -> Fetched {
    api::fetch(api, scope, known).unwrap_or_else(|e| panic!("fetch failed: {e}"))
}

fn fetch_err(api: &Api, scope: &Scope) -> SyncError {
    match api::fetch(api, scope, &HashMap::new()) {
        Ok(f) => panic!("fetch succeeded: {:?}", f.entries),
        Err(e) => e,
    }
}

fn ids(f: &Fetched, pick: fn(&Entry) -> bool) -> Vec<String> {
    f.entries
        .iter()
        .filter(|e| pick(e))
        .map(|e| e.id().to_string())
        .collect()
}

fn fetched(e: &Entry) -> bool {
    matches!(e, Entry::Fetched(_))
}

fn skip_reason<'f>(f: &'f Fetched, id: &str) -> &'f str {
    f.entries
        .iter()
        .find_map(|e| match e {
            Entry::Skipped { id: i, reason, .. } if i == id => Some(reason.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{id} was not skipped: {:?}", f.entries))
}

/// The `known` map the store would give after saving `f`.
fn known_after(f: &Fetched) -> HashMap<String, String> {
    f.entries
        .iter()
        .filter_map(|e| match e {
            Entry::Fetched(u) => Some((u.id.clone(), u.updated_at.clone()?)),
            _ => None,
        })
        .collect()
}

const LIST: &str = "/v1/integrations/registries";

#[test]
fn pages_are_followed_by_cursor() {
    let creds: Vec<Value> = (0..250).map(|n| credential(n, "t1")).collect();
    let Some(server) = FakeApi::start("pages_are_followed_by_cursor", &fixture(creds)) else {
        return;
    };
    let f = fetch(&client(&server), &Scope::Account, &HashMap::new());
    let want: Vec<String> = (0..250).map(|n| format!("cred-{n}")).collect();
    assert_eq!(ids(&f, fetched), want, "every credential, in list order");
    assert_eq!((f.requests.list, f.requests.get), (3, 250));
    assert_eq!(server.count(LIST), 3, "100 + 100 + 50 per page");
    assert_eq!(server.total(), 253);
    let Entry::Fetched(u) = &f.entries[7] else {
        unreachable!()
    };
    assert_eq!(
        (
            u.name.as_str(),
            u.registry.as_str(),
            u.username.as_str(),
            u.secret.expose()
        ),
        ("cred 7", "r7.example.com", "user7", "pw-7")
    );
    assert!(f.stopped.is_none());
}

#[test]
fn the_team_path_is_used_with_a_team() {
    let mut fx = fixture(vec![credential(1, "t")]);
    fx["teams"] = json!({"my-team": [credential(2, "t"), credential(3, "t")]});
    fx["tokens"][TOKEN] = json!({"account": false, "teams": ["my-team"]});
    let Some(server) = FakeApi::start("the_team_path_is_used_with_a_team", &fx) else {
        return;
    };
    let api = client(&server);
    let team = Scope::new(Some("my-team")).unwrap();
    let f = fetch(&api, &team, &HashMap::new());
    assert_eq!(ids(&f, fetched), ["cred-2", "cred-3"]);
    assert_eq!(server.count("/v1/teams/my-team/integrations/registries"), 1);
    assert_eq!(
        server.count("/v1/teams/my-team/integrations/registries/cred-2"),
        1
    );
    assert_eq!(server.count(LIST), 0);
    // An organisation's token on the account path: 403, with the way out.
    let e = fetch_err(&api, &Scope::Account);
    assert_eq!(e.exit_code(), 2);
    assert_contains(&e.to_string(), "--team ID");
    // A team the API does not know.
    let e = fetch_err(&api, &Scope::new(Some("nope")).unwrap());
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.to_string().contains("no team nope") && e.to_string().contains("Team not found"),
        "{e}"
    );
}

#[test]
fn both_answer_shapes_and_missing_fields() {
    let creds = vec![
        json!({"id": "now", "name": "current shape", "provider": "github", "username": "bot",
               "password": "ghp_abc", "restrictions": {"restricted": true, "projects": ["p1", "p2"]},
               "updatedAt": "t"}),
        json!({"id": "old", "name": "older shape", "provider": "dockerhub", "shape": "older",
               "description": "from the old API", "username": "alice", "password": "pa:ss",
               "restrictions": {"restricted": true, "projects": ["p3"]}}),
        json!({"id": "legacy", "name": "legacy one", "provider": "legacy",
               "registryUrl": "registry.example.com:5000", "username": "u", "password": "p",
               "restrictions": {"restricted": false}}),
        json!({"id": "noprov", "name": "no provider", "registryUrl": "quay.io", "username": "u",
               "password": "p", "omit": ["provider"]}),
        json!({"id": "norestr", "name": "no restrictions", "provider": "github", "username": "u",
               "password": "p", "omit": ["restrictions"]}),
        json!({"id": "int", "name": "integration backed", "provider": "ecr",
               "registryUrl": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
               "integrationId": "aws-integration"}),
        json!({"id": "bare", "name": "bare minimum",
               "list_item": {"id": "bare", "name": "bare minimum"},
               "get_data": {"id": "bare", "name": "bare minimum"}}),
        json!({"id": "odd", "name": "odd list item",
               "list_item": {"id": "odd", "name": "odd list item", "provider": 7}}),
    ];
    let Some(server) = FakeApi::start("both_answer_shapes_and_missing_fields", &fixture(creds))
    else {
        return;
    };
    let f = fetch(&client(&server), &Scope::Account, &HashMap::new());
    assert_eq!(ids(&f, fetched), ["now", "old", "legacy", "noprov"]);
    let ups: Vec<_> = f
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Fetched(u) => Some(u),
            _ => None,
        })
        .collect();
    let row = |i: usize| {
        let u = ups[i];
        (
            u.provider.as_str(),
            u.registry.as_str(),
            u.username.as_str(),
            u.secret.expose(),
            u.description.as_str(),
        )
    };
    assert_eq!(row(0), ("github", "ghcr.io", "bot", "ghp_abc", ""));
    assert_eq!(
        ups[0].restrictions,
        Restrictions::to_projects(vec!["p1".into(), "p2".into()])
    );
    assert_eq!(
        row(1),
        (
            "dockerhub",
            "https://index.docker.io/v1/",
            "alice",
            "pa:ss",
            "from the old API"
        )
    );
    assert_eq!(
        ups[1].restrictions,
        Restrictions::to_projects(vec!["p3".into()])
    );
    assert_eq!(
        row(2),
        ("custom", "registry.example.com:5000", "u", "p", "")
    );
    assert_eq!(row(3), ("custom", "quay.io", "u", "p", ""));
    assert_contains(skip_reason(&f, "norestr"), "never taken as unrestricted");
    assert_contains(skip_reason(&f, "int"), "integration \"aws-integration\"");
    assert_contains(
        skip_reason(&f, "bare"),
        r#"provider "(none)" has no fixed registry"#,
    );
    assert_contains(skip_reason(&f, "odd"), "not the documented shape");
    // The odd list item got no GET; every other one did.
    assert_eq!(f.requests.get, 7);
}

#[test]
fn a_rejected_token_says_so_and_never_shows_it() {
    let mut fx = fixture(vec![credential(1, "t")]);
    fx["faults"] =
        json!({LIST: [{"status": 401, "message": format!("token {TOKEN} is expired\nretry")}]});
    let Some(server) = FakeApi::start("a_rejected_token_says_so", &fx) else {
        return;
    };
    let e = fetch_err(&client(&server), &Scope::Account);
    let msg = e.to_string();
    assert_eq!(e.exit_code(), 2);
    assert!(
        msg.starts_with("Northflank rejected the token from NORTHFLANK_API_TOKEN"),
        "{msg}"
    );
    assert!(
        msg.contains("token REDACTED is expired retry") && !msg.contains(TOKEN),
        "{msg}"
    );
    // And the server's own 401 for an unknown token.
    let e = fetch_err(
        &client_with(&server, "another-token", Duration::from_secs(5)),
        &Scope::Account,
    );
    assert!(matches!(e, SyncError::Rejected { .. }), "{e}");
    assert_eq!(server.total(), 2, "a 401 is not retried");
}

#[test]
fn a_missing_permission_is_named() {
    let mut fx = fixture(vec![credential(1, "t"), credential(2, "t")]);
    fx["tokens"] = json!({TOKEN: {"read": false}, "reader": {"read_encrypted": false}});
    let Some(server) = FakeApi::start("a_missing_permission_is_named", &fx) else {
        return;
    };
    let e = fetch_err(&client(&server), &Scope::Account);
    assert_eq!(e.exit_code(), 2);
    assert_contains(&e.to_string(), "\"Account > Credentials > General > Read\"");
    // Listing works, the secrets do not: the fetch stops at the first get and says why.
    let api = client_with(&server, "reader", Duration::from_secs(5));
    let f = fetch(&api, &Scope::Account, &HashMap::new());
    let e = f.stopped.as_ref().expect("stopped");
    assert_contains(
        &e.to_string(),
        "\"Account > Credentials > General > Read Encrypted\"",
    );
    assert!(
        f.entries
            .iter()
            .all(|e| matches!(e, Entry::NotFetched { .. }))
    );
    assert_eq!((f.requests.list, f.requests.get), (1, 1));
}

#[test]
fn a_429_stops_with_the_time_to_wait() {
    let mut fx = fixture(vec![credential(1, "t")]);
    fx["faults"] = json!({LIST: [{"status": 429, "message": "Too many requests",
        "headers": {"x-ratelimit-limit": 1000, "x-ratelimit-remaining": 0, "x-ratelimit-reset": 754}}]});
    let Some(server) = FakeApi::start("a_429_stops", &fx) else {
        return;
    };
    let e = fetch_err(&client(&server), &Scope::Account);
    assert_eq!(e.exit_code(), 4);
    assert_eq!(
        e.to_string(),
        "Northflank's API rate limit is reached (HTTP 429: Too many requests): run sync again in 13 min"
    );
    assert_eq!(server.total(), 1, "a 429 is not retried");
}

#[test]
fn no_request_is_sent_once_the_window_is_used_up() {
    let mut fx = fixture((0..5).map(|n| credential(n, "t")).collect());
    fx["rate_limit"] = json!({"limit": 3, "window": 600});
    let Some(server) = FakeApi::start("no_request_once_used_up", &fx) else {
        return;
    };
    let f = fetch(&client(&server), &Scope::Account, &HashMap::new());
    // The list and two gets use the window's 3 requests; the third get is never sent.
    assert_eq!(ids(&f, fetched), ["cred-0", "cred-1"]);
    let not_fetched = ids(&f, |e| matches!(e, Entry::NotFetched { .. }));
    assert_eq!(not_fetched, ["cred-2", "cred-3", "cred-4"]);
    let e = f.stopped.as_ref().expect("stopped");
    assert_eq!(e.exit_code(), 4);
    let msg = e.to_string();
    assert!(
        msg.contains("x-ratelimit-remaining: 0") && msg.contains("run sync again in 10 min"),
        "{msg}"
    );
    assert_eq!(server.total(), 3, "nothing sent past the limit, so no 429");
    // The plan saves what was fetched and keeps the rest for the next run.
    let p = plan::plan(&f, &[], &mut |_, _| unreachable!("nothing is saved"));
    assert_eq!(p.counts().create, 2);
    assert_eq!(p.counts().skip, 3);
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let mut fx = fixture(vec![credential(1, "t")]);
    fx["faults"] = json!({
        LIST: [{"status": 503}, {"status": 502, "body": "<html>Bad gateway</html>"}],
        "/v1/integrations/registries/cred-1": [{"status": 500}],
    });
    let Some(server) = FakeApi::start("server_errors_are_retried", &fx) else {
        return;
    };
    let f = fetch(&client(&server), &Scope::Account, &HashMap::new());
    assert_eq!(ids(&f, fetched), ["cred-1"]);
    assert_eq!((f.requests.list, f.requests.get), (3, 2));
    assert_eq!(server.total(), 5);
}

#[test]
fn server_errors_after_the_retries_fail_the_sync() {
    let mut fx = fixture(vec![credential(1, "t")]);
    let fault = json!({"status": 500, "message": "Internal error\u{1b}[31m"});
    fx["faults"] = json!({LIST: [fault, fault, fault, fault]});
    let Some(server) = FakeApi::start("server_errors_after_the_retries", &fx) else {
        return;
    };
    let e = fetch_err(&client(&server), &Scope::Account);
    assert_eq!(e.exit_code(), 3);
    assert_eq!(
        e.to_string(),
        "the Northflank API failed (HTTP 500: Internal error [31m) after 3 attempts; \
         retry later (status: https://status.northflank.com)"
    );
    assert_eq!(server.total(), 3, "one try and two retries");
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let mut fx = fixture(vec![credential(1, "t")]);
    fx["faults"] = json!({LIST: [{"delay": 3}]});
    let Some(server) = FakeApi::start("slow_answers_time_out", &fx) else {
        return;
    };
    let api = client_with(&server, TOKEN, Duration::from_millis(800));
    let f = fetch(&api, &Scope::Account, &HashMap::new());
    assert_eq!(
        ids(&f, fetched),
        ["cred-1"],
        "the retry after the timeout succeeds"
    );
    assert_eq!(f.requests.list, 2);

    let slow = json!({"delay": 3});
    fx["faults"] = json!({"/v1/integrations/registries/cred-1": [slow, slow, slow]});
    let Some(server) = FakeApi::start("slow_answers_time_out", &fx) else {
        return;
    };
    let api = client_with(&server, TOKEN, Duration::from_millis(800));
    let f = fetch(&api, &Scope::Account, &HashMap::new());
    let e = f.stopped.as_ref().expect("stopped after the retries");
    assert_eq!(e.exit_code(), 3);
    let msg = e.to_string();
    assert_contains(&msg, "cannot reach the Northflank API at http://127.0.0.1:");
    assert!(
        msg.contains("time limit") && msg.contains("after 3 attempts"),
        "{msg}"
    );
}

#[test]
fn only_changed_credentials_are_fetched_again() {
    let mut creds: Vec<Value> = (0..120)
        .map(|n| credential(n, "2026-01-01T00:00:00Z"))
        .collect();
    creds[5].as_object_mut().unwrap().remove("updatedAt");
    let Some(server) = FakeApi::start("only_changed_credentials", &fixture(creds.clone())) else {
        return;
    };
    let api = client(&server);
    let first = fetch(&api, &Scope::Account, &HashMap::new());
    assert_eq!((first.requests.list, first.requests.get), (2, 120));
    let known = known_after(&first);
    assert_eq!(
        known.len(),
        119,
        "the one without updatedAt has nothing to compare"
    );

    // Unchanged: only the list, and the one without updatedAt.
    let again = fetch(&api, &Scope::Account, &known);
    assert_eq!((again.requests.list, again.requests.get), (2, 1));
    assert_eq!(ids(&again, fetched), ["cred-5"]);
    assert_eq!(
        ids(&again, |e| matches!(e, Entry::Unchanged { .. })).len(),
        119
    );

    // One changed, one renamed (same id), one gone, one new.
    creds[7]["updatedAt"] = json!("2026-02-01T00:00:00Z");
    creds[7]["password"] = json!("rotated");
    creds[9]["name"] = json!("renamed nine");
    creds[9]["updatedAt"] = json!("2026-02-01T00:00:00Z");
    creds.remove(11);
    creds.push(credential(500, "2026-02-01T00:00:00Z"));
    server.set_fixture(&fixture(creds));
    let third = fetch(&api, &Scope::Account, &known);
    assert_eq!((third.requests.list, third.requests.get), (2, 4));
    assert_eq!(
        ids(&third, fetched),
        ["cred-5", "cred-7", "cred-9", "cred-500"]
    );

    // The plan against the store the first sync made.
    let saved: Vec<_> = first
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Fetched(u) => Some((u, u.origin(&Scope::Account))),
            _ => None,
        })
        .collect();
    let local: Vec<Local> = saved.iter().map(|(u, o)| Local::synced(u, o)).collect();
    let secrets: HashMap<&str, &Secret> = saved
        .iter()
        .map(|(u, _)| (u.id.as_str(), &u.secret))
        .collect();
    let p = plan::plan(&third, &local, &mut |l, s| secrets[l.id] == s);
    let changed: Vec<String> = p
        .steps
        .iter()
        .filter(|s| s.changes_store())
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        changed,
        [
            r#"remove  "cred 11": gone from the token's account in Northflank"#,
            r#"update  "cred 7" (r7.example.com, all projects; changed: secret)"#,
            r#"rename  "cred 9" -> "renamed nine""#,
            r#"create  "cred 500" (r500.example.com, all projects)"#,
        ]
    );
    // cred 5, fetched again for want of an updatedAt, is the copy: kept, not rewritten.
    assert_eq!(p.counts().keep, 117);
}

#[test]
fn a_credential_deleted_between_list_and_get_is_gone() {
    let mut fx = fixture(vec![credential(1, "t"), credential(2, "t")]);
    fx["faults"] = json!({"/v1/integrations/registries/cred-1":
        [{"status": 404, "message": "Registry credentials not found"}]});
    let Some(server) = FakeApi::start("deleted_between_list_and_get", &fx) else {
        return;
    };
    let f = fetch(&client(&server), &Scope::Account, &HashMap::new());
    assert_eq!(ids(&f, fetched), ["cred-2"]);
    let gone: Vec<_> = f
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Gone { id, reason, .. } => Some((id.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        gone,
        [(
            "cred-1",
            "Northflank no longer has it, since it was listed (HTTP 404: Registry credentials not found)"
        )]
    );
    assert!(f.stopped.is_none());
}

#[test]
fn a_get_answer_that_is_not_the_api_stops_the_sync_instead_of_skipping() {
    let get = "/v1/integrations/registries/cred-1";
    let cases = [
        (
            json!({"status": 200, "body": "<html>login</html>"}),
            "the get answer is not Northflank's documented JSON (line 1, column 1), for the credential \"cred 1\" (cred-1)",
        ),
        (
            json!({"status": 200, "body": "{}"}),
            "not Northflank's documented JSON",
        ),
        (
            json!({"status": 200, "body": r#"{"data":{"id":"cred-1","name":"cred 1","credentials":{"password":7}}}"#}),
            "not the documented shape",
        ),
        (
            json!({"status": 200, "body": r#"{"data":{"id":"cred-9","name":"cred 1"}}"#}),
            "for another credential",
        ),
        (
            json!({"status": 400, "message": "Bad request"}),
            "answered (HTTP 400: Bad request) where Northflank's API answers with the registry credential cred-1",
        ),
        (
            json!({"status": 410, "message": "Gone"}),
            "(HTTP 410: Gone)",
        ),
        // A 404 that is not Northflank's (no error body) does not say the credential is gone.
        (
            json!({"status": 404, "body": "<html>Not Found</html>"}),
            "(HTTP 404) where",
        ),
        (
            json!({"status": 302, "body": "", "headers": {"location": "https://elsewhere.example/"}}),
            "(HTTP 302) where Northflank's API answers with the registry credential cred-1: check NORTHFLANK_API_URL",
        ),
    ];
    let Some(server) = FakeApi::start("get_not_the_api", &fixture(vec![])) else {
        return;
    };
    for (fault, want) in cases {
        let mut fx = fixture(vec![credential(1, "t"), credential(2, "t")]);
        fx["faults"] = json!({get: [fault]});
        server.set_fixture(&fx);
        let f = fetch(&client(&server), &Scope::Account, &HashMap::new());
        let e = f
            .stopped
            .as_ref()
            .unwrap_or_else(|| panic!("{fault}: not stopped: {:?}", f.entries));
        assert_eq!(e.exit_code(), 5, "{fault}: {e}");
        assert_contains(&e.to_string(), want);
        // That one credential is kept as it was; the next is fetched all the same, so one bad
        // answer cannot hold back every later change.
        assert!(
            matches!(
                &f.entries[..],
                [
                    Entry::NotFetched {
                        unreadable: true,
                        ..
                    },
                    Entry::Fetched(_)
                ]
            ),
            "{fault}: {:?}",
            f.entries
        );
    }
}

#[test]
fn an_answer_over_the_size_limit_is_not_the_api() {
    let mut fx = fixture(vec![credential(1, "t")]);
    let big = format!(
        r#"{{"data":{{"id":"cred-1","name":"{}"}}}}"#,
        "x".repeat(4 << 20)
    );
    fx["faults"] = json!({"/v1/integrations/registries/cred-1": [{"status": 200, "body": big}]});
    let Some(server) = FakeApi::start("answer_too_large", &fx) else {
        return;
    };
    let f = fetch(&client(&server), &Scope::Account, &HashMap::new());
    let e = f.stopped.as_ref().expect("stopped");
    assert_eq!(e.exit_code(), 5, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "the answer from {} is too large (over 4 MiB), which Northflank's API never sends: \
             check NORTHFLANK_API_URL",
            server.url()
        )
    );
    assert_eq!(server.total(), 2, "not retried");
}

#[test]
fn an_answer_that_is_not_the_api_is_an_error() {
    let mut fx = fixture(vec![]);
    fx["faults"] = json!({LIST: [{"status": 200, "body": "<html>login page</html>"},
                                 {"status": 302, "body": "", "headers": {"location": "https://elsewhere.example/"}}]});
    let Some(server) = FakeApi::start("not_the_api", &fx) else {
        return;
    };
    let api = client(&server);
    let e = fetch_err(&api, &Scope::Account);
    assert_eq!(e.exit_code(), 5);
    assert_contains(&e.to_string(), "not Northflank's documented JSON");
    let e = fetch_err(&api, &Scope::Account);
    assert_eq!(e.exit_code(), 5);
    assert!(
        e.to_string().contains("(HTTP 302)") && e.to_string().contains("NORTHFLANK_API_URL"),
        "{e}"
    );
    assert_eq!(server.total(), 2, "the redirect is not followed");
}

#[test]
fn a_first_sync_larger_than_the_rate_limit_finishes_on_the_next_run() {
    let mut fx = fixture((0..8).map(|n| credential(n, "t")).collect());
    fx["rate_limit"] = json!({"limit": 5, "window": 2});
    let Some(server) = FakeApi::start("finishes_on_the_next_run", &fx) else {
        return;
    };
    let api = client(&server);
    let first = fetch(&api, &Scope::Account, &HashMap::new());
    assert_eq!((first.requests.list, first.requests.get), (1, 4));
    assert_eq!(first.stopped.as_ref().map(SyncError::exit_code), Some(4));
    // What the first run saved is not fetched again; the rest is.
    std::thread::sleep(Duration::from_millis(2100));
    let second = fetch(&api, &Scope::Account, &known_after(&first));
    assert!(second.stopped.is_none(), "{:?}", second.stopped);
    assert_eq!((second.requests.list, second.requests.get), (1, 4));
    assert_eq!(
        ids(&second, fetched),
        ["cred-4", "cred-5", "cred-6", "cred-7"]
    );
    assert_eq!(server.total(), 10, "no 429 on the way");
}
