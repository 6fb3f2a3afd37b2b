//! Process-level benchmark of the hot path, the way clients call the helper: spawn the
//! release binary with a pipe on stdin, wait, repeat. Prints medians and the ratios SPEC §8
//! sets (get vs /bin/true, 10,000 credentials vs 1, miss vs hit, list).
//!
//! Run with `cargo bench --bench get` (or `bench/get.sh`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: `BENCH_BIN` (bench/get.sh passes the one install.sh builds), else
/// the one cargo built for this bench.
fn bin() -> String {
    std::env::var("BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_docker-credential-northflank").to_string())
}

/// Writes a store with `n` credentials, one per registry, in the store's format (fast: no
/// fsync, no process per credential).
fn fill(dir: &Path, n: usize) {
    fill_files(dir, n);
    // One real write, so the binary builds its index as it would have all along.
    let mut child = Command::new(bin())
        .arg("store")
        .env("NORTHFLANK_CONFIG_DIR", dir)
        // The file backend is what this measures; never the developer's own keychain.
        .env("NORTHFLANK_CREDENTIAL_BACKEND", "file")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let json = br#"{"ServerURL":"bench.example.com","Username":"u","Secret":"s"}"#;
    child.stdin.take().unwrap().write_all(json).unwrap();
    assert!(child.wait().unwrap().success());
}

/// Writes `bytes` as a private file, as the store requires of its files.
fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

fn fill_files(dir: &Path, n: usize) {
    use std::os::unix::fs::DirBuilderExt;
    let regs = dir.join("registries");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&regs)
        .unwrap();
    write_private(
        &dir.join("store.json"),
        br#"{"version":2,"backend":"file"}"#,
    );
    for i in 0..n {
        let host = if i == 0 {
            "ghcr.io".to_string()
        } else {
            format!("registry-{i}.example.com")
        };
        let file = serde_json::json!({
            "version": 1,
            "registry": host,
            "credentials": [{
                "name": format!("cred-{i}"), "provider": "custom", "registry": host,
                "username": format!("user-{i}"), "backend": "file",
                "secret": format!("secret-{i}-{}", "x".repeat(40)),
                "restrictions": {"restricted": false, "projects": []},
                "created": "2026-11-28T00:00:00Z", "updated": "2026-11-28T00:00:00Z"
            }]
        });
        write_private(
            &regs.join(format!("{host}.json")),
            file.to_string().as_bytes(),
        );
    }
}

const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// A store with one ECR key pair, its registry token cached and fresh for 12 hours when
/// `cached`.
fn ecr_store(dir: &Path, cached: bool) {
    use std::os::unix::fs::DirBuilderExt;
    let regs = dir.join("registries");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&regs)
        .unwrap();
    write_private(
        &dir.join("store.json"),
        br#"{"version":2,"backend":"file"}"#,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exchanged = serde_json::json!({"token": format!("token-{}", "x".repeat(2000)), "expires_at": now + 43_200});
    let file = serde_json::json!({
        "version": 2,
        "registry": ECR_HOST,
        "credentials": [{
            "id": "0123456789abcdef", "name": "ecr-bench", "provider": "ecr", "registry": ECR_HOST,
            "username": "AKIAIOSFODNN7EXAMPLE", "backend": "file",
            "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "exchanged": if cached { exchanged } else { serde_json::Value::Null },
            "restrictions": {"restricted": false, "projects": []},
            "created": "2026-11-28T00:00:00Z", "updated": "2026-11-28T00:00:00Z"
        }]
    });
    write_private(
        &regs.join(format!("{ECR_HOST}.json")),
        file.to_string().as_bytes(),
    );
}

/// The loopback stand-in for ECR (tests/servers/fake_ecr.py) with ten-minute tokens, which
/// are never fresh enough to cache: every `get` against it makes one exchange.
fn fake_ecr() -> Option<(std::process::Child, String)> {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap().keep();
    let config = dir.join("fake-ecr.json");
    std::fs::write(&config, r#"{"lifetime": 600}"#).unwrap();
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/servers/fake_ecr.py"
        ))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let port: u16 = line.trim().parse().ok()?;
    Some((child, format!("http://127.0.0.1:{port}")))
}

/// Median wall time of `runs` spawns of `program args` with `input` on stdin; every run must
/// exit as `ok` says (a benchmark of an error path would measure nothing).
fn median(
    program: &str,
    args: &[&str],
    store: &Path,
    input: &[u8],
    runs: usize,
    ok: bool,
) -> Duration {
    median_env(program, args, store, input, runs, ok, &[])
}

/// [`median`] with extra environment variables.
fn median_env(
    program: &str,
    args: &[&str],
    store: &Path,
    input: &[u8],
    runs: usize,
    ok: bool,
    env: &[(&str, &str)],
) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + runs / 10 {
        let start = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .env("NORTHFLANK_CONFIG_DIR", store)
            .env("RUST_BACKTRACE", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        let took = start.elapsed();
        assert_eq!(
            out.status.success(),
            ok,
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        if i >= runs / 10 {
            times.push(took); // the first tenth warms caches
        }
    }
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this once as a smoke test.
    let benching = std::env::args().any(|a| a == "--bench");
    let default_runs = if benching { 400 } else { 10 };
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_runs);
    let tmp = tempfile::tempdir().unwrap();
    let sizes: &[usize] = if benching {
        &[1, 1000, 10_000]
    } else {
        &[1, 10, 100]
    };
    let stores: Vec<_> = sizes
        .iter()
        .map(|&n| {
            let dir = tmp.path().join(format!("s{n}"));
            fill(&dir, n);
            (n, dir)
        })
        .collect();
    let bin = bin();
    println!("binary: {bin}");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let base = median("/bin/true", &[], &stores[0].1, b"", runs, true);
    println!("{:<22}{:>11}{:>10}", "command", "median ms", "vs true");
    let row =
        |name: &str, d: Duration| println!("{name:<22}{:>11.3}{:>9.2}x", ms(d), ms(d) / ms(base));
    row("/bin/true", base);
    let mut hits = Vec::new();
    for (n, dir) in &stores {
        let d = median(&bin, &["get"], dir, b"ghcr.io", runs, true);
        row(&format!("get hit ({n})"), d);
        hits.push(d);
    }
    let (largest, largest_dir) = &stores[2];
    let miss = median(
        &bin,
        &["get"],
        largest_dir,
        b"missing.example.com",
        runs,
        false,
    );
    row(&format!("get miss ({largest})"), miss);
    for (n, dir) in &stores[1..] {
        row(
            &format!("list ({n})"),
            median(&bin, &["list"], dir, b"", (runs / 10).max(3), true),
        );
    }
    // ECR (SPEC §10): a cached token costs what any get costs; a first exchange, against the
    // loopback stand-in, what one signed HTTP round trip adds.
    let ecr_dir = tmp.path().join("ecr");
    ecr_store(&ecr_dir, true);
    let ecr_cached = median(&bin, &["get"], &ecr_dir, ECR_HOST.as_bytes(), runs, true);
    row("get ECR, cached (1)", ecr_cached);
    match fake_ecr() {
        Some((mut server, url)) => {
            let env = [("AWS_ENDPOINT_URL_ECR", url.as_str())];
            let fresh_dir = tmp.path().join("ecr-empty");
            ecr_store(&fresh_dir, false);
            let exchange = median_env(
                &bin,
                &["get"],
                &fresh_dir,
                ECR_HOST.as_bytes(),
                (runs / 10).max(3),
                true,
                &env,
            );
            row("get ECR, exchange", exchange);
            let _ = server.kill();
        }
        None => println!("get ECR, exchange: SKIPPED (python3 is needed for the loopback ECR)"),
    }
    println!(
        "ratios: get/true {:.2}x (target <= 1.3), get {largest}/1 {:.2}x (target <= 1.2), miss/hit {:.2}x (target <= 1), ECR cached/true {:.2}x (target <= 1.3)",
        ms(hits[0]) / ms(base),
        ms(hits[2]) / ms(hits[0]),
        ms(miss) / ms(hits[2]),
        ms(ecr_cached) / ms(base)
    );
}
