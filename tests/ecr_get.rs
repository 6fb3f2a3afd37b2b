//! `get` for an Amazon ECR credential, through the binary, against the loopback stand-in for
//! ECR (`tests/servers/fake_ecr.py`, which checks SigV4 as AWS does) reached through
//! `AWS_ENDPOINT_URL_ECR`, as a user would point it at a VPC endpoint (SPEC §10).

#![cfg(feature = "network")]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
mod servers;

use common::*;
use serde_json::json;
use servers::fake_ecr::{ACCOUNT, FakeEcr, KEY_ID, REGION, SECRET_KEY};
use std::time::Duration;

fn host() -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com")
}

const TOKEN: &str = "eyJwYXlsb2FkIjoiZmFrZSJ9.registry-token-SECRET";

/// A store with an ECR key pair for `host()` (restricted to `projects`) and the fake ECR.
fn setup(test: &str, config: serde_json::Value, projects: &[&str]) -> Option<(Helper, FakeEcr)> {
    let mut config = config;
    config["token"] = json!(TOKEN);
    let fake = FakeEcr::start(test, &config)?;
    let h = Helper::new();
    h.add(
        "ecr-prod",
        "ecr",
        Some(&host()),
        KEY_ID,
        SECRET_KEY,
        projects,
    );
    Some((h, fake))
}

fn get(h: &Helper, fake: &FakeEcr, project: Option<&str>) -> std::process::Output {
    let url = fake.url();
    let mut env = project_env(project);
    env.push(("AWS_ENDPOINT_URL_ECR", &url));
    h.run_env(&["get"], host().as_bytes(), &env)
}

#[test]
fn the_first_get_exchanges_the_key_pair_and_later_ones_serve_the_cached_token() {
    let Some((h, fake)) = setup("ecr_first_get", json!({}), &[]) else {
        return;
    };
    let want = get_answer(&host(), "AWS", TOKEN);
    assert_exact(&get(&h, &fake, None), 0, &want);
    assert_eq!(fake.stats().requests, 1);
    for _ in 0..3 {
        assert_exact(&get(&h, &fake, None), 0, &want);
    }
    assert_eq!(fake.stats().requests, 1, "served from the cache");
    // list shows the user name get serves; ls shows the access key id; no token in the index.
    assert_exact(
        &h.run(&["list"], b""),
        0,
        &format!("{{\"{}\":\"AWS\"}}\n", host()),
    );
    let ls = stdout(&h.run(&["ls"], b""));
    assert!(
        ls.contains(KEY_ID) && !ls.contains("registry-token"),
        "{ls}"
    );
    let index = std::fs::read_to_string(h.store_dir().join("index.json")).unwrap();
    assert!(
        !index.contains("registry-token"),
        "the token is never in the index"
    );
    let record = h.store_dir().join(format!("registries/{}.json", host()));
    assert_eq!(mode(&record), 0o600);
}

#[test]
fn parallel_gets_with_an_empty_cache_make_one_exchange() {
    // Each answer takes a second, so the gets surely overlap.
    let Some((h, fake)) = setup("ecr_parallel", json!({"mode": "slow", "slow": 1}), &[]) else {
        return;
    };
    let want = get_answer(&host(), "AWS", TOKEN);
    for out in parallel_gets(&h, &fake, 16) {
        assert_exact(&out, 0, &want);
    }
    assert_eq!(fake.stats().requests, 1);
}

/// What one exchange may send: the AWS SDKs' standard retry mode makes three attempts.
const ONE_EXCHANGE: u64 = 3;

/// Every `get` answers within `ecr::TIMEOUT` (10 s) of its start; the rest is for starting
/// processes on a busy machine. Well short of the 20 s the store lock is waited for.
const BUDGET_AND_SLACK: Duration = Duration::from_secs(15);

/// `n` gets at once, each waited for no longer than [`BUDGET_AND_SLACK`].
fn parallel_gets(h: &Helper, fake: &FakeEcr, n: usize) -> Vec<std::process::Output> {
    let url = fake.url();
    let children: Vec<_> = (0..n)
        .map(|_| {
            h.spawn(
                &["get"],
                host().as_bytes(),
                &[("AWS_ENDPOINT_URL_ECR", url.as_str())],
            )
        })
        .collect();
    children
        .into_iter()
        .map(|child| wait_within(child, BUDGET_AND_SLACK, "a parallel get"))
        .collect()
}

/// A failed `get`: one line on stdout, exit 1, never not-found, never the store-lock message.
#[track_caller]
fn assert_one_line_error(out: &std::process::Output) -> String {
    let text = stdout(out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(out));
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.ends_with('\n'), "{text:?}");
    assert_lacks(&text, NOT_FOUND.trim_end());
    assert_lacks(&text, "the credential store is locked");
    for secret in [SECRET_KEY, TOKEN] {
        assert_lacks(&format!("{text}{}", stderr(out)), secret);
    }
    text
}

#[test]
fn parallel_gets_against_a_failing_ecr_make_one_exchange_and_answer_its_error() {
    let Some((h, fake)) = setup("ecr_parallel_failing", json!({}), &[]) else {
        return;
    };
    let mut sent = 0;
    for (mode, want) in [
        ("throttle", "Amazon ECR is throttling GetAuthorizationToken"),
        ("server-error", "failed with HTTP 500"),
    ] {
        fake.configure(&json!({"mode": mode}));
        for out in parallel_gets(&h, &fake, 20) {
            assert_contains(&assert_one_line_error(&out), want);
        }
        // The first get's attempts; the others waited for it and answered its error. (Slack
        // for one straggler that started only after that failure, so it tried again.)
        let requests = fake.stats().requests - sent;
        assert!(
            (1..=2 * ONE_EXCHANGE).contains(&requests),
            "{mode}: {requests} requests to ECR for 20 parallel gets"
        );
        sent += requests;
    }
    // The failure is remembered only for the gets that waited on it: a later get tries again.
    fake.configure(&json!({"mode": "ok"}));
    assert_exact(&get(&h, &fake, None), 0, &get_answer(&host(), "AWS", TOKEN));
    assert_eq!(fake.stats().requests, sent + 1);
}

#[test]
fn parallel_gets_against_a_slow_ecr_each_answer_within_the_budget() {
    // ECR answers after 15 s: the first get gives up at 10 s, and the others, waiting for it,
    // give up when their own 10 s are over (or answer its error, if it came first).
    let Some((h, fake)) = setup(
        "ecr_parallel_slow",
        json!({"mode": "slow", "slow": 15}),
        &[],
    ) else {
        return;
    };
    for out in parallel_gets(&h, &fake, 16) {
        let text = assert_one_line_error(&out);
        assert!(
            text.contains("did not answer within 10 s")
                || text.contains("another docker-credential-northflank get is still exchanging"),
            "{text}"
        );
    }
    assert_eq!(fake.stats().requests, 1, "the others waited for it");
}

#[test]
fn parallel_gets_while_ecr_throttles_serve_the_cached_token_that_still_works() {
    // Ten-minute tokens are never fresh, but work: served while ECR throttles.
    let Some((h, fake)) = setup("ecr_parallel_stale", json!({"lifetime": 600}), &[]) else {
        return;
    };
    assert_exact(&get(&h, &fake, None), 0, &get_answer(&host(), "AWS", TOKEN));
    fake.configure(&json!({"mode": "throttle"}));
    let want = get_answer(&host(), "AWS", TOKEN);
    for out in parallel_gets(&h, &fake, 16) {
        assert_exact(&out, 0, &want);
        assert_contains(&stderr(&out), "serving the cached token");
    }
    let requests = fake.stats().requests - 1;
    assert!(
        (1..=2 * ONE_EXCHANGE).contains(&requests),
        "{requests} requests to ECR for 16 parallel gets"
    );
}

#[test]
fn parallel_gets_while_ecr_hangs_serve_the_cached_token_that_still_works() {
    // The first get gives up on ECR at 10 s and the others on waiting for it: all of them
    // still have a token that works for minutes, and serve it.
    let Some((h, fake)) = setup("ecr_parallel_stale_slow", json!({"lifetime": 600}), &[]) else {
        return;
    };
    assert_exact(&get(&h, &fake, None), 0, &get_answer(&host(), "AWS", TOKEN));
    fake.configure(&json!({"mode": "slow", "slow": 15}));
    let want = get_answer(&host(), "AWS", TOKEN);
    for out in parallel_gets(&h, &fake, 8) {
        assert_exact(&out, 0, &want);
        assert_contains(&stderr(&out), "serving the cached token");
    }
}

#[test]
fn a_writer_stuck_on_the_store_lock_does_not_hold_up_an_exchanging_get() {
    let Some((h, fake)) = setup("ecr_store_locked", json!({}), &[]) else {
        return;
    };
    // Another process stopped while it holds the writers' lock (here: this test).
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(h.store_dir().join(".lock"))
        .unwrap();
    lock.lock().unwrap();
    let url = fake.url();
    let child = h.spawn(
        &["get"],
        host().as_bytes(),
        &[("AWS_ENDPOINT_URL_ECR", url.as_str())],
    );
    let out = wait_within(child, BUDGET_AND_SLACK, "a get while the store is locked");
    assert_exact(&out, 0, &get_answer(&host(), "AWS", TOKEN));
    assert_contains(&stderr(&out), "could not be cached");
    drop(lock);
}

#[test]
fn a_token_within_fifteen_minutes_of_its_end_is_replaced() {
    // Ten-minute tokens are never fresh enough to be served from the cache.
    let Some((h, fake)) = setup("ecr_refresh", json!({"lifetime": 600}), &[]) else {
        return;
    };
    for n in 1..=3 {
        assert_exact(&get(&h, &fake, None), 0, &get_answer(&host(), "AWS", TOKEN));
        assert_eq!(fake.stats().requests, n);
    }
    // While ECR throttles, the cached token that still works a few minutes is served.
    fake.configure(&json!({"mode": "throttle"}));
    let out = get(&h, &fake, None);
    assert_exact(&out, 0, &get_answer(&host(), "AWS", TOKEN));
    assert_contains(&stderr(&out), "serving the cached token");
}

#[test]
fn rejected_keys_throttling_and_a_dead_endpoint_are_one_line_errors_never_not_found() {
    let Some((h, fake)) = setup("ecr_errors", json!({}), &[]) else {
        return;
    };
    h.add(
        "ecr-wrong",
        "ecr",
        Some(&format!("{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com")),
        KEY_ID,
        "wrong-secret-SECRET",
        &[],
    );
    let check = |out: std::process::Output, want: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert_contains(&text, want);
        assert_lacks(&text, "credentials not found");
        for secret in [SECRET_KEY, "wrong-secret-SECRET", "registry-token"] {
            assert!(
                !format!("{text}{}", stderr(&out)).contains(secret),
                "{text}"
            );
        }
    };
    // The fake serves one region: the other registry's key pair is signed for eu-west-1.
    let url = fake.url();
    let wrong = h.run_env(
        &["get"],
        format!("{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com").as_bytes(),
        &[("AWS_ENDPOINT_URL_ECR", url.as_str())],
    );
    check(wrong, "ECR");
    fake.configure(&json!({"mode": "throttle"}));
    check(get(&h, &fake, None), "throttling");
    drop(fake);
    let closed = format!("http://127.0.0.1:{}", servers::free_port());
    let out = h.run_env(
        &["get"],
        host().as_bytes(),
        &[("AWS_ENDPOINT_URL_ECR", closed.as_str())],
    );
    check(out, "cannot reach Amazon ECR");
}

#[test]
fn a_restricted_ecr_credential_is_never_exchanged_for_another_project() {
    let Some((h, fake)) = setup("ecr_projects", json!({}), &["prod"]) else {
        return;
    };
    for project in [None, Some("dev")] {
        assert_exact(&get(&h, &fake, project), 1, NOT_FOUND);
    }
    assert_eq!(
        fake.stats().requests,
        0,
        "restrictions apply before any network call"
    );
    assert_exact(
        &get(&h, &fake, Some("prod")),
        0,
        &get_answer(&host(), "AWS", TOKEN),
    );
    assert_eq!(fake.stats().requests, 1);
}

#[test]
fn a_new_key_pair_drops_the_cached_token_and_a_docker_login_is_a_plain_registry_login() {
    let Some((h, fake)) = setup("ecr_rotation", json!({}), &[]) else {
        return;
    };
    assert_exact(&get(&h, &fake, None), 0, &get_answer(&host(), "AWS", TOKEN));
    // `docker login -u AWS -p "$(aws ecr get-login-password)"`: a ready registry token, not
    // a key pair to exchange; it is served as it is, with no exchange.
    h.store(&host(), "AWS", "pasted-token");
    assert_exact(
        &get(&h, &fake, None),
        0,
        &get_answer(&host(), "AWS", "pasted-token"),
    );
    assert_eq!(fake.stats().requests, 1);
    let ls = stdout(&h.run(&["ls", "--json"], b""));
    assert_contains(&ls, "\"provider\": \"custom\"");
}

#[test]
fn an_imported_docker_config_for_an_ecr_host_is_a_plain_registry_login() {
    let Some((h, fake)) = setup("ecr_import", json!({}), &[]) else {
        return;
    };
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("AWS:imported-token");
    let config = h.dir.path().join("config.json");
    let text = json!({"auths": {host(): {"auth": auth}}}).to_string();
    std::fs::write(&config, text).unwrap();
    assert_ok(
        &h.run(&["import-docker-config", config.to_str().unwrap()], b""),
        "import",
    );
    assert_exact(
        &get(&h, &fake, None),
        0,
        &get_answer(&host(), "AWS", "imported-token"),
    );
    assert_eq!(fake.stats().requests, 0, "nothing to exchange");
}
