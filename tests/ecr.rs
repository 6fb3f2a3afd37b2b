//! `ecr::exchange` over real HTTP against `tests/servers/fake_ecr.py`, a loopback stand-in for
//! Amazon ECR's `GetAuthorizationToken` that checks Signature Version 4 as AWS does, reached
//! through the same endpoint variables a user sets (`AWS_ENDPOINT_URL_ECR`, `AWS_ENDPOINT_URL`).
//!
//! Outside programs: `python3` (all), `docker-registry` and `htpasswd` (the registry case).
//! Missing, a test prints `SKIPPED` and returns, or fails under `CI=true`.

#![cfg(feature = "network")]

mod common;
mod servers;

use common::{assert_contains, assert_lacks};

use std::collections::HashMap;
use std::ffi::OsString;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use docker_credential_northflank::ecr::{
    self, Endpoint, EndpointError, ExchangeError, Registry, Rejection, Source, Token,
};
use docker_credential_northflank::host::normalize;
use docker_credential_northflank::http;
use docker_credential_northflank::secret::Secret;
use serde_json::json;
use servers::fake_ecr::{self, ACCOUNT, FakeEcr, KEY_ID, REGION, SECRET_KEY};

fn registry_in(region: &str) -> Registry {
    let host = format!("{ACCOUNT}.dkr.ecr.{region}.amazonaws.com");
    ecr::registry(&normalize(&host).expect("host")).expect("ECR registry")
}

fn registry() -> Registry {
    registry_in(REGION)
}

/// An environment with only these variables.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).map(OsString::from)
}

fn endpoint_of(fake: &FakeEcr) -> Endpoint {
    ecr::endpoint(&registry(), &env(&[("AWS_ENDPOINT_URL_ECR", &fake.url())])).expect("endpoint")
}

fn exchange_with(fake: &FakeEcr, key_id: &str, secret: &str) -> Result<Token, ExchangeError> {
    exchange_at(fake, key_id, secret, SystemTime::now())
}

fn exchange_at(
    fake: &FakeEcr,
    key_id: &str,
    secret: &str,
    now: SystemTime,
) -> Result<Token, ExchangeError> {
    let secret = Secret::new(secret);
    ecr::exchange(&registry(), &endpoint_of(fake), key_id, &secret, now)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// One line, no secret key, not the not-found line (docker must not carry on anonymously).
fn check_message(e: &ExchangeError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    assert!(!text.contains(SECRET_KEY), "secret key in: {text}");
    assert!(
        !format!("{e:?}").contains(SECRET_KEY),
        "secret key in Debug: {e:?}"
    );
    assert!(
        !text.contains(common::NOT_FOUND.trim_end()),
        "the not-found line: {text}"
    );
    text
}

/// The fake started with `config`, and how an exchange of the right key pair with it fails
/// (its message checked by [`check_message`]). `None` without python3.
fn refused(test: &str, config: serde_json::Value) -> Option<(FakeEcr, ExchangeError, String)> {
    let fake = FakeEcr::start(test, &config)?;
    let err = exchange_with(&fake, KEY_ID, SECRET_KEY).expect_err("the exchange fails");
    let text = check_message(&err);
    Some((fake, err, text))
}

/// Why the key pair was refused; panics unless it was.
fn rejection(e: &ExchangeError) -> Rejection {
    match e {
        ExchangeError::Rejected { reason, .. } => *reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn the_servers_signature_check_agrees_with_the_published_vectors() {
    let Some(python) = servers::python3("self-test") else {
        return;
    };
    let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/src/ecr/testdata/sigv4");
    let out = Command::new(python)
        .args([fake_ecr::SCRIPT, "--self-test", vectors])
        .output()
        .expect("run the self-test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_contains(&text, "33 passed, 0 failed");
}

#[test]
fn an_independent_signer_is_accepted_too() {
    // curl's own Signature Version 4 (`--aws-sigv4`): the fake checks signatures as AWS
    // does, not as our signer happens to make them.
    let Some(fake) = FakeEcr::start("curl", &json!({"token": "via-curl"})) else {
        return;
    };
    if !servers::have_programs("curl", &["curl"]) {
        return;
    }
    let curl = |secret: &str| {
        let out = Command::new("curl")
            .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:ecr", "--user"])
            .arg(format!("{KEY_ID}:{secret}"))
            .args([
                "-H",
                "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
                "-H",
                "Content-Type: application/x-amz-json-1.1",
                "-d",
                "{}",
            ])
            .arg(format!("{}/", fake.url()))
            .output()
            .expect("run curl");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON answer")
    };
    let ok = curl(SECRET_KEY);
    let encoded = ok["authorizationData"][0]["authorizationToken"]
        .as_str()
        .expect("token");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    assert_eq!(decoded, b"AWS:via-curl");
    assert_eq!(curl("wrong")["__type"], "InvalidSignatureException");
}

#[test]
fn a_good_key_pair_gets_a_token_in_one_request() {
    let Some(fake) = FakeEcr::start("success", &json!({"token": "registry-token+/="})) else {
        return;
    };
    let before = unix_now();
    let token = exchange_with(&fake, KEY_ID, SECRET_KEY).expect("token");
    let after = unix_now();
    assert_eq!(token.token.expose(), "registry-token+/=");
    assert!(
        (before + 43_200 - 1..=after + 43_200).contains(&token.expires_at),
        "expires_at {} not 12 h from now ({before})",
        token.expires_at
    );
    let stats = fake.stats();
    assert_eq!(stats.requests, 1, "{stats:?}");
    assert_eq!(stats.outcomes, ["ok"]);
    assert_eq!(
        stats.last["x-amz-target"],
        "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
    );
    assert_eq!(stats.last["content-type"], "application/x-amz-json-1.1");
}

#[test]
fn a_realistic_token_and_a_short_lifetime() {
    // No configured token: the fake issues one shaped like ECR's (~1.2 KiB of base64 JSON).
    let Some(fake) = FakeEcr::start("lifetime", &json!({"lifetime": 600})) else {
        return;
    };
    let now = unix_now();
    let token = exchange_with(&fake, KEY_ID, SECRET_KEY).expect("token");
    assert!(
        token.token.expose().len() > 1000,
        "{}",
        token.token.expose().len()
    );
    assert!(token.token.expose().starts_with("eyJ"), "base64 of JSON");
    assert!(
        (now + 599..=now + 601).contains(&token.expires_at),
        "{token:?}"
    );
}

#[test]
fn an_unknown_access_key_is_refused_without_retrying() {
    let Some(fake) = FakeEcr::start("bad key", &json!({})) else {
        return;
    };
    let err = exchange_with(&fake, "AKIAUNKNOWNKEY000000", SECRET_KEY).expect_err("refused");
    let text = check_message(&err);
    assert_eq!(rejection(&err), Rejection::UnknownKey);
    assert_contains(&text, "AKIAUNKNOWNKEY000000");
    assert_eq!(fake.stats().outcomes, ["UnrecognizedClientException"]);
}

#[test]
fn a_wrong_secret_fails_the_signature_check() {
    let Some(fake) = FakeEcr::start("bad signature", &json!({})) else {
        return;
    };
    let err = exchange_with(&fake, KEY_ID, "not-the-secret-key").expect_err("refused");
    let text = check_message(&err);
    assert_eq!(rejection(&err), Rejection::WrongSecret);
    assert_lacks(&text, "Canonical String");
    assert_eq!(fake.stats().outcomes, ["InvalidSignatureException"]);
}

#[test]
fn a_skewed_clock_is_named() {
    let Some(fake) = FakeEcr::start("skew", &json!({})) else {
        return;
    };
    for skew in [-1i64, 1] {
        let now = SystemTime::now();
        let at = if skew < 0 {
            now - Duration::from_secs(3600)
        } else {
            now + Duration::from_secs(3600)
        };
        let err = exchange_at(&fake, KEY_ID, SECRET_KEY, at).expect_err("skewed");
        let text = check_message(&err);
        assert_eq!(rejection(&err), Rejection::Clock);
        assert_contains(&text, "clock");
    }
    // Within ECR's 15 minutes, a slow clock still works.
    let slow = SystemTime::now() - Duration::from_secs(600);
    exchange_at(&fake, KEY_ID, SECRET_KEY, slow).expect("10 minutes off is accepted");
}

#[test]
fn an_endpoint_of_another_region_is_named() {
    let Some((_fake, err, text)) = refused("region", json!({"region": "eu-west-1"})) else {
        return;
    };
    assert_eq!(rejection(&err), Rejection::Scope);
    assert_contains(&text, "'us-east-1'");
}

#[test]
fn a_user_without_permission_is_told_which() {
    let Some((fake, err, text)) = refused("denied", json!({"mode": "access-denied"})) else {
        return;
    };
    assert_eq!(rejection(&err), Rejection::NotAllowed);
    assert_contains(&text, "ecr:GetAuthorizationToken");
    assert_eq!(fake.stats().requests, 1);
}

#[test]
fn throttling_is_retried_then_reported() {
    let Some((fake, err, text)) = refused("throttle", json!({"mode": "throttle"})) else {
        return;
    };
    assert!(matches!(err, ExchangeError::Throttled { .. }), "{err:?}");
    assert!(
        err.is_transient() && text.contains("ThrottlingException"),
        "{text}"
    );
    assert_eq!(fake.stats().outcomes, ["ThrottlingException"; 3]);

    // Throttled once, then served: the retry gets the token.
    fake.configure(&json!({"mode": "ok", "script": ["throttle"], "token": "after-retry"}));
    let token = exchange_with(&fake, KEY_ID, SECRET_KEY).expect("token after a retry");
    assert_eq!(token.token.expose(), "after-retry");
    assert_eq!(fake.stats().requests, 5);
}

#[test]
fn a_server_error_is_retried_then_reported() {
    let Some((fake, err, text)) = refused("500", json!({"mode": "server-error"})) else {
        return;
    };
    assert!(
        matches!(err, ExchangeError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert!(
        text.contains("ServerException") && text.contains("request id"),
        "{text}"
    );
    assert_eq!(fake.stats().requests, 3);
}

#[test]
fn an_answer_that_is_not_ecrs_is_malformed() {
    let Some((_fake, err, text)) = refused("garbage", json!({"mode": "garbage"})) else {
        return;
    };
    assert!(matches!(err, ExchangeError::Malformed { .. }), "{err:?}");
    assert_contains(&text, "AWS_ENDPOINT_URL_ECR");
}

#[test]
fn a_slow_endpoint_is_an_error_within_the_timeout() {
    let Some(fake) = FakeEcr::start("slow", &json!({"mode": "slow", "slow": 60})) else {
        return;
    };
    let started = Instant::now();
    let err = exchange_with(&fake, KEY_ID, SECRET_KEY).expect_err("timed out");
    let took = started.elapsed();
    let text = check_message(&err);
    assert!(matches!(err, ExchangeError::TimedOut { .. }), "{err:?}");
    assert_contains(&text, "did not answer within 10 s");
    // The bound the user relies on (docker waits on `get`), with room for a loaded machine.
    assert!(took < ecr::TIMEOUT + Duration::from_secs(3), "{took:?}");
    assert_eq!(fake.stats().requests, 1, "a timeout is not retried");
}

#[test]
fn an_exchange_whose_deadline_has_passed_is_a_timeout_with_nothing_sent() {
    // A `get` that used its budget up waiting for another one's exchange.
    let Some(fake) = FakeEcr::start("deadline", &json!({})) else {
        return;
    };
    let secret = Secret::new(SECRET_KEY);
    let err = ecr::exchange_until(
        &registry(),
        &endpoint_of(&fake),
        KEY_ID,
        &secret,
        SystemTime::now(),
        Instant::now(),
    )
    .expect_err("no time left");
    assert!(matches!(err, ExchangeError::TimedOut { .. }), "{err:?}");
    check_message(&err);
    assert_eq!(fake.stats().requests, 0);
}

#[test]
fn a_dropped_connection_is_retried_then_reported() {
    let Some((fake, err, text)) = refused("close", json!({"mode": "close"})) else {
        return;
    };
    assert!(matches!(err, ExchangeError::Unreachable { .. }), "{err:?}");
    assert!(err.is_transient(), "{text}");
    assert_eq!(fake.stats().outcomes, ["close"; 3]);
}

#[test]
fn an_unreachable_endpoint_is_an_error() {
    let port = servers::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let endpoint =
        ecr::endpoint(&registry(), &env(&[("AWS_ENDPOINT_URL_ECR", &url)])).expect("endpoint");
    let secret = Secret::new(SECRET_KEY);
    let err = ecr::exchange(&registry(), &endpoint, KEY_ID, &secret, SystemTime::now())
        .expect_err("nothing listens");
    let text = check_message(&err);
    assert!(matches!(err, ExchangeError::Unreachable { .. }), "{err:?}");
    assert_contains(&text, "connection refused");
    assert_contains(&text, "set by AWS_ENDPOINT_URL_ECR");
}

#[test]
fn endpoint_variables_in_the_sdks_order() {
    let Some(fake) = FakeEcr::start("variables", &json!({"token": "via-variable"})) else {
        return;
    };
    let dead = format!("http://127.0.0.1:{}", servers::free_port());
    let secret = Secret::new(SECRET_KEY);
    let run = |vars: &[(&str, &str)]| {
        let endpoint = ecr::endpoint(&registry(), &env(vars)).expect("endpoint");
        ecr::exchange(&registry(), &endpoint, KEY_ID, &secret, SystemTime::now())
    };
    // AWS_ENDPOINT_URL_ECR wins over AWS_ENDPOINT_URL.
    let token = run(&[
        ("AWS_ENDPOINT_URL_ECR", &fake.url()),
        ("AWS_ENDPOINT_URL", &dead),
    ]);
    assert_eq!(token.expect("ECR variable").token.expose(), "via-variable");
    // AWS_ENDPOINT_URL alone (or with the ECR one empty) is used.
    let token = run(&[
        ("AWS_ENDPOINT_URL_ECR", ""),
        ("AWS_ENDPOINT_URL", &fake.url()),
    ]);
    assert_eq!(
        token.expect("general variable").token.expose(),
        "via-variable"
    );
    // An endpoint URL with a path: the path is signed and sent.
    let with_path = format!("{}/ecr-proxy/", fake.url());
    run(&[("AWS_ENDPOINT_URL_ECR", &with_path)]).expect("path endpoint");
    assert_eq!(fake.stats().requests, 3);
    // Plain http elsewhere than loopback: refused before any connection.
    let err = ecr::endpoint(
        &registry(),
        &env(&[("AWS_ENDPOINT_URL_ECR", "http://ecr.example.com")]),
    )
    .expect_err("plain http");
    assert!(matches!(err, EndpointError::PlainHttp { .. }), "{err}");
    // Without variables: the region's public endpoint.
    let public = ecr::endpoint(&registry_in("ap-southeast-2"), &env(&[])).expect("public");
    assert_eq!(
        public.url(),
        "https://api.ecr.ap-southeast-2.amazonaws.com/"
    );
    assert_eq!(public.source(), Source::Region);
}

#[test]
fn the_server_checks_what_was_signed() {
    // Sign one body, send another: the payload hash is part of the signature.
    let Some(fake) = FakeEcr::start("tamper", &json!({})) else {
        return;
    };
    let endpoint = endpoint_of(&fake);
    let secret = Secret::new(SECRET_KEY);
    let creds = ecr::sigv4::Credentials {
        access_key_id: KEY_ID,
        secret_access_key: &secret,
        session_token: None,
    };
    let target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
    let signed_headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Host", endpoint.authority()),
        ("X-Amz-Target", target),
    ];
    let signed = ecr::sigv4::sign(
        &ecr::sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &signed_headers,
            body: b"{}",
        },
        &creds,
        &ecr::sigv4::Scope {
            region: REGION,
            service: "ecr",
        },
        SystemTime::now(),
    );
    let send = |body: &[u8]| {
        let mut headers: Vec<(&str, &str)> = signed_headers.to_vec();
        headers.extend(signed.headers(&creds));
        let client = http::Client::new(&http::Options::default()).expect("client");
        client
            .send(&http::Request {
                method: http::Method::Post,
                url: endpoint.url(),
                headers: &headers,
                auth: None,
                body: Some(body),
                max_body: 1 << 20,
            })
            .expect("answer")
    };
    let tampered = send(br#"{"registryIds":["999999999999"]}"#);
    assert_eq!(tampered.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&tampered.body).expect("JSON error");
    assert_eq!(body["__type"], "InvalidSignatureException");
    assert!(tampered.header("x-amzn-RequestId").is_some());
    let honest = send(b"{}");
    assert_eq!(
        honest.status,
        200,
        "{}",
        String::from_utf8_lossy(&honest.body)
    );
    assert_eq!(fake.stats().outcomes, ["InvalidSignatureException", "ok"]);
}

#[test]
fn the_registry_accepts_only_the_exchanged_token() {
    let token = "ecr-token-for-the-loopback-registry";
    let Some(fake) = FakeEcr::start("registry", &json!({"token": token})) else {
        return;
    };
    let Some(reg) = servers::registry::Registry::for_ecr_token("registry", token) else {
        return;
    };
    let got = exchange_with(&fake, KEY_ID, SECRET_KEY).expect("token");
    let v2 = format!("http://{}/v2/", reg.host());
    let status = |user: &str, password: &str| {
        let auth = Secret::new(servers::basic_auth(user, password));
        let client = http::Client::new(&http::Options::default()).expect("client");
        let req = http::Request {
            auth: Some(&auth),
            ..http::Request::get(&v2)
        };
        client.send(&req).expect("registry answers").status
    };
    assert_eq!(status(ecr::USERNAME, got.token.expose()), 200);
    assert_eq!(
        status(ecr::USERNAME, "ecr-token-for-the-loopback-registrx"),
        401
    );
    assert_eq!(
        status(KEY_ID, SECRET_KEY),
        401,
        "the key pair itself is no password"
    );
}
