//! Where a keychain `get` spends its time on the Secret Service (Linux and the BSDs): the
//! steps src/store/keychain/linux.rs takes, timed one by one through the same crate, each
//! round in a fresh process (this program runs itself), as every `get` is. Once with the
//! `plain` session the
//! helper uses on a local bus, once with the encrypted one (a Diffie-Hellman key exchange,
//! then AES) it uses anywhere else. Prints medians; asserts nothing about time.
//!
//! Needs a session bus with an unlocked Secret Service: run it through `bench/keychain.sh`,
//! which starts a throwaway gnome-keyring in a private D-Bus session and passes `--bench` as
//! `cargo bench` would (without it, as under `cargo test --all-targets`, it does nothing).

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[cfg(all(unix, not(target_os = "macos")))]
fn main() {
    secret_service_steps::run();
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn main() {
    eprintln!("the keychain steps benchmark is for the Secret Service (Linux and the BSDs)");
}

#[cfg(all(unix, not(target_os = "macos")))]
mod secret_service_steps {
    use std::collections::HashMap;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use secret_service::EncryptionType;
    use secret_service::blocking::SecretService;

    const STEPS: [&str; 4] = ["connect to the bus", "open session", "search", "get secret"];

    /// One `get`, step by step, with the encrypted session or the plain one.
    fn round(encrypted: bool, attributes: &HashMap<&str, &str>) -> [Duration; 4] {
        let encryption = if encrypted {
            EncryptionType::Dh
        } else {
            EncryptionType::Plain
        };
        let t = Instant::now();
        let conn = zbus::blocking::Connection::session().expect("session bus");
        let connect = t.elapsed();
        let t = Instant::now();
        let ss = SecretService::connect_with_existing(encryption, conn).expect("session");
        let session = t.elapsed();
        let t = Instant::now();
        let found = ss.search_items(attributes.clone()).expect("search");
        let search = t.elapsed();
        let t = Instant::now();
        let secret = found.unlocked[0].get_secret().expect("secret");
        let get = t.elapsed();
        assert_eq!(secret, b"bench-secret");
        [connect, session, search, get]
    }

    /// Set in the child that times one round: `plain` or `encrypted`.
    const ONE_ROUND: &str = "NF_BENCH_ONE_ROUND";

    /// The attributes of the item this benchmark reads.
    fn attributes() -> HashMap<&'static str, &'static str> {
        HashMap::from([("service", "northflank-bench-steps"), ("username", "x")])
    }

    /// Medians of each step over `runs` rounds, each in a fresh process.
    fn medians(encrypted: bool, runs: usize) -> [f64; 4] {
        let one = || -> [Duration; 4] {
            let out = Command::new(std::env::current_exe().unwrap())
                .env(ONE_ROUND, if encrypted { "encrypted" } else { "plain" })
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let nanos: Vec<u64> = text
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            std::array::from_fn(|i| Duration::from_nanos(nanos[i]))
        };
        for _ in 0..5 {
            one();
        }
        let mut samples: Vec<[Duration; 4]> = (0..runs).map(|_| one()).collect();
        std::array::from_fn(|step| {
            samples.sort_by_key(|s| s[step]);
            samples[runs / 2][step].as_secs_f64() * 1e3
        })
    }

    pub fn run() {
        if let Ok(mode) = std::env::var(ONE_ROUND) {
            let steps = round(mode == "encrypted", &attributes());
            let nanos: Vec<String> = steps.iter().map(|d| d.as_nanos().to_string()).collect();
            println!("{}", nanos.join(" "));
            return;
        }
        // `cargo test --all-targets` runs this too, where no Secret Service answers.
        if !std::env::args().any(|a| a == "--bench") {
            eprintln!("benches/keychain.rs needs a Secret Service: run it with bench/keychain.sh");
            return;
        }
        let runs = std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100);
        let ss = SecretService::connect(EncryptionType::Plain).expect("Secret Service");
        let collection = ss.get_default_collection().expect("default collection");
        collection
            .create_item("bench", attributes(), b"bench-secret", true, "text/plain")
            .expect("create the item");

        let plain = medians(false, runs);
        let dh = medians(true, runs);
        println!("Secret Service get, step by step (median of {runs} fresh processes, ms):");
        println!("  {:<20} {:>8} {:>10}", "step", "plain", "encrypted");
        for (i, step) in STEPS.iter().enumerate() {
            println!("  {step:<20} {:>8.2} {:>10.2}", plain[i], dh[i]);
        }
        let (p, d): (f64, f64) = (plain.iter().sum(), dh.iter().sum());
        println!("  {:<20} {p:>8.2} {d:>10.2}", "total");
        println!("  encrypted / plain: {:.1}x", d / p);

        for item in ss.search_items(attributes()).expect("search").unlocked {
            item.delete().expect("delete the item");
        }
    }
}
