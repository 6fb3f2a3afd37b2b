//! The Northflank side of `sync` against the fake API on 127.0.0.1 (SPEC §9, issue 12 §8):
//! 1,000 saved credentials, a first sync and an unchanged re-sync, each fetched over real
//! HTTP and planned. Prints wall times and request counts; asserts nothing about time.
//!
//! Run with `cargo bench --bench sync`. Needs python3 (the fake API).

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/servers/mod.rs"]
mod servers;

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::{Duration, Instant};

use docker_credential_northflank::northflank::api::{self, Api, Options};
use docker_credential_northflank::northflank::plan::{self, Local};
use docker_credential_northflank::northflank::token::{self, Env};
use docker_credential_northflank::northflank::{Entry, Fetched, Scope};

const N: usize = 1000;
/// Runs per figure: `cargo bench` passes `--bench`; `cargo test --all-targets` runs this once
/// as a smoke test.
fn runs() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        5
    } else {
        1
    }
}

fn main() {
    let creds: Vec<_> = (0..N)
        .map(|n| servers::northflank_api::credential(n, "2026-01-01T00:00:00Z"))
        .collect();
    let fixture = serde_json::json!({
        "tokens": {"bench-token": {}},
        // Above the default 1,000 an hour: this measures the work, not the waiting.
        "rate_limit": {"limit": 1_000_000, "window": 3600},
        "account": creds,
    });
    let Some(server) = servers::northflank_api::FakeApi::start("bench sync", &fixture) else {
        return;
    };
    let env = Env {
        api_token: Some(OsString::from("bench-token")),
        api_url: Some(OsString::from(server.url())),
        home: None,
    };
    let found = token::discover(None, None, &env).expect("token");
    let api = Api::new(&found, Options::default()).expect("client");

    let (first, first_times) =
        timed(|| api::fetch(&api, &Scope::Account, &HashMap::new()).expect("first sync"));
    let saved: Vec<_> = first
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Fetched(u) => Some((u, u.origin(&Scope::Account))),
            _ => None,
        })
        .collect();
    assert_eq!(saved.len(), N);
    let local: Vec<Local> = saved.iter().map(|(u, o)| Local::synced(u, o)).collect();
    let known = plan::known(&local, &Scope::Account);
    let (again, again_times) =
        timed(|| api::fetch(&api, &Scope::Account, &known).expect("re-sync"));
    let (planned, plan_times) = timed(|| plan::plan(&again, &local, &mut |_, _| true).counts());

    println!(
        "sync of {N} credentials from the fake Northflank API on 127.0.0.1 (median of {})",
        runs()
    );
    report("first sync: fetch", &first, &first_times);
    report("unchanged re-sync: fetch", &again, &again_times);
    println!(
        "  unchanged re-sync: plan              {:>9}   ({planned})",
        ms(median(plan_times))
    );
    println!(
        "  re-sync / first sync (fetch time):   {:.3}",
        median(again_times).as_secs_f64() / median(first_times).as_secs_f64()
    );
    whole_command(&server);
}

/// The whole `sync` command through the binary, as a user or a timer runs it: a first sync
/// into an empty store (1,000 credentials saved in one transaction) and an unchanged re-sync.
fn whole_command(server: &servers::northflank_api::FakeApi) {
    let bin = std::env::var("BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_docker-credential-northflank").to_string());
    let url = server.url();
    let mut first = Vec::new();
    let mut again = Vec::new();
    let mut requests = (0, 0);
    for _ in 0..runs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = || {
            let before = server.total();
            let start = Instant::now();
            let out = std::process::Command::new(&bin)
                .arg("sync")
                .env("NORTHFLANK_CONFIG_DIR", dir.path().join("store"))
                .env("NORTHFLANK_CREDENTIAL_BACKEND", "file")
                .env("NORTHFLANK_API_TOKEN", "bench-token")
                .env("NORTHFLANK_API_URL", &url)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run sync");
            let took = start.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            (took, server.total() - before)
        };
        let (t1, r1) = run();
        let (t2, r2) = run();
        first.push(t1);
        again.push(t2);
        requests = (r1, r2);
    }
    println!(
        "the sync command ({bin}), {N} credentials, median of {}:",
        runs()
    );
    println!(
        "  first sync (fetch + save)           {:>9}   {} requests",
        ms(median(first)),
        requests.0
    );
    println!(
        "  unchanged re-sync                   {:>9}   {} requests",
        ms(median(again)),
        requests.1
    );
}

fn timed<T>(mut f: impl FnMut() -> T) -> (T, Vec<Duration>) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..runs() {
        let start = Instant::now();
        out = Some(f());
        times.push(start.elapsed());
    }
    (out.expect("runs() > 0"), times)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn report(what: &str, f: &Fetched, times: &[Duration]) {
    println!(
        "  {what:<35} {:>9}   {} requests ({} list, {} get)",
        ms(median(times.to_vec())),
        f.requests.total(),
        f.requests.list,
        f.requests.get
    );
}
