//! What a first ECR `get` pays on top of a cached one: signing, setting up the HTTPS client
//! (the trust store is read), and one `GetAuthorizationToken` round trip to the loopback fake
//! (`tests/servers/fake_ecr.py`, whose own per-request cost is printed beside it). Prints
//! medians; asserts nothing about speed.
//!
//! `cargo bench --bench ecr`; BENCH_RUNS=N changes the number of exchanges (default 200).

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/servers/mod.rs"]
mod servers;

use std::time::{Duration, Instant, SystemTime};

use docker_credential_northflank::ecr::{self, sigv4};
use docker_credential_northflank::host::normalize;
use docker_credential_northflank::http;
use docker_credential_northflank::secret::Secret;
use serde_json::json;
use servers::fake_ecr::{ACCOUNT, FakeEcr, KEY_ID, REGION, SECRET_KEY};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this once as a smoke test.
    let benching = std::env::args().any(|a| a == "--bench");
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 200 } else { 3 });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    let secret = Secret::new(SECRET_KEY);
    let creds = sigv4::Credentials {
        access_key_id: KEY_ID,
        secret_access_key: &secret,
        session_token: None,
    };
    let headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Host", "api.ecr.us-east-1.amazonaws.com"),
        (
            "X-Amz-Target",
            "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
        ),
    ];
    let req = sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: b"{}",
    };
    let scope = sigv4::Scope {
        region: REGION,
        service: "ecr",
    };
    let signs: Vec<Duration> = (0..runs * 50)
        .map(|_| timed(|| sigv4::sign(&req, &creds, &scope, SystemTime::now())).0)
        .collect();
    println!(
        "{:<44}{:>12.1} µs",
        "sign GetAuthorizationToken",
        us(median(signs))
    );

    let clients: Vec<Duration> = (0..runs.min(50))
        .map(|_| timed(|| http::Client::new(&http::Options::default()).expect("client")).0)
        .collect();
    println!(
        "{:<44}{:>12.3} ms",
        "http client set-up (trust store read)",
        ms(median(clients))
    );

    let Some(fake) = FakeEcr::start("bench", &json!({})) else {
        return;
    };
    let host = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
    let reg = ecr::registry(&normalize(&host).expect("host")).expect("registry");
    let url = fake.url();
    let env = |name: &str| (name == "AWS_ENDPOINT_URL_ECR").then(|| url.clone().into());
    let endpoint = ecr::endpoint(&reg, &env).expect("endpoint");
    let exchange =
        || ecr::exchange(&reg, &endpoint, KEY_ID, &secret, SystemTime::now()).expect("token");
    let (first, _) = timed(exchange);
    let rest: Vec<Duration> = (0..runs).map(|_| timed(exchange).0).collect();
    // The fake's own cost: a plain GET of its stats, client set-up included like an exchange.
    let stats_url = format!("{url}/__fake/stats");
    let baseline: Vec<Duration> = (0..runs)
        .map(|_| {
            timed(|| {
                let client = http::Client::new(&http::Options::default()).expect("client");
                client.send(&http::Request::get(&stats_url)).expect("stats")
            })
            .0
        })
        .collect();
    println!(
        "{:<44}{:>12.3} ms",
        "first exchange (loopback fake)",
        ms(first)
    );
    println!(
        "{:<44}{:>12.3} ms",
        format!("exchange, median of {runs}"),
        ms(median(rest))
    );
    println!(
        "{:<44}{:>12.3} ms",
        "the fake's plain GET round trip, median",
        ms(median(baseline))
    );
    println!("exchanges made: {}", fake.stats().requests);
}
