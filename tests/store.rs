//! The embedded file store under stress: permissions, many concurrent helper processes,
//! writers killed at random moments, and the format version.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

/// The store format this build writes.
const FORMAT_VERSION: u64 = docker_credential_northflank::store::FORMAT_VERSION as u64;
use common::*;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every registry file parses and carries the format version; returns (key, name, user) rows.
fn parse_all(h: &Helper) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let dir = h.store_dir().join("registries");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return rows; // nothing saved yet
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            continue; // a dead writer's leftover; swept by the next writer, never read
        }
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap())
            .unwrap_or_else(|err| panic!("{name} does not parse: {err}"));
        assert_eq!(v["version"], FORMAT_VERSION, "{name}");
        for c in v["credentials"].as_array().unwrap() {
            rows.push((
                v["registry"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
                c["username"].as_str().unwrap().to_string(),
            ));
        }
    }
    rows
}

#[test]
fn directory_0700_files_0600_and_a_versioned_format() {
    let h = Helper::new();
    h.store("ghcr.io", "u", "p");
    let dir = h.store_dir();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("registries")), 0o700);
    assert_eq!(mode(&dir.join("registries/ghcr.io.json")), 0o600);
    assert_eq!(mode(&dir.join("store.json")), 0o600);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("store.json")).unwrap()).unwrap();
    assert_eq!(meta["version"], FORMAT_VERSION);
    assert_eq!(meta["backend"], "file");
    // An existing folder is never chmodded: one others can only read is used as it is…
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    h.store("gcr.io", "u", "p");
    assert_eq!(mode(&dir), 0o755);
    // …and one others can write is refused, with the fix, and left as it is.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o775)).unwrap();
    let before = h.snapshot();
    let out = h.run(
        &["store"],
        br#"{"ServerURL":"quay.io","Username":"u","Secret":"p"}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!("chmod 700 {}", dir.display())),
        "{}",
        stdout(&out)
    );
    assert_eq!(mode(&dir), 0o775);
    assert_eq!(h.snapshot(), before);
}

#[test]
fn default_location_is_under_xdg_data_home() {
    let h = Helper::new();
    let xdg = h.dir.path().join("xdg");
    let json = br#"{"ServerURL":"ghcr.io","Username":"u","Secret":"p"}"#;
    let mut cmd = h.cmd(&["store"]);
    cmd.env_remove("NORTHFLANK_CONFIG_DIR")
        .env("XDG_DATA_HOME", &xdg);
    assert_ok(&run_with_stdin(cmd, json), "store");
    assert!(
        xdg.join("docker-credential-northflank/registries/ghcr.io.json")
            .is_file()
    );
    let mut cmd = h.cmd(&["store"]);
    cmd.env_remove("NORTHFLANK_CONFIG_DIR");
    assert_ok(&run_with_stdin(cmd, json), "store");
    assert!(
        h.dir
            .path()
            .join(".local/share/docker-credential-northflank/registries/ghcr.io.json")
            .is_file()
    );
}

#[test]
fn a_newer_format_is_refused_not_misread() {
    let h = Helper::new();
    h.store("ghcr.io", "u", "p");
    let path = h.store_dir().join("registries/ghcr.io.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!("\"version\": {FORMAT_VERSION}"),
        &format!("\"version\": {}", FORMAT_VERSION + 1),
    );
    std::fs::write(&path, text).unwrap();
    let out = h.run(&["get"], b"ghcr.io");
    assert_eq!(out.status.code(), Some(1));
    let newer = format!("format version {}", FORMAT_VERSION + 1);
    assert!(
        stdout(&out).contains(&newer) && stdout(&out).contains("upgrade"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn sixty_four_concurrent_helpers_lose_no_update() {
    let h = Helper::new();
    // Pre-seed hosts that some processes will erase while others write.
    for i in 0..8 {
        h.store(&format!("erase-{i}.example.com"), "old", "old");
    }
    let mut children = Vec::new();
    for i in 0..32 {
        let json = format!(
            r#"{{"ServerURL":"distinct-{i}.example.com","Username":"user-{i}","Secret":"s{i}"}}"#
        );
        children.push(("store", h.spawn(&["store"], json.as_bytes(), &[])));
    }
    for i in 0..12 {
        let json = format!(
            r#"{{"ServerURL":"shared.example.com","Username":"shared-{i}","Secret":"s{i}"}}"#
        );
        children.push(("store-shared", h.spawn(&["store"], json.as_bytes(), &[])));
    }
    for i in 0..8 {
        children.push((
            "erase",
            h.spawn(&["erase"], format!("erase-{i}.example.com").as_bytes(), &[]),
        ));
    }
    for _ in 0..6 {
        children.push(("get", h.spawn(&["get"], b"shared.example.com", &[])));
        children.push(("list", h.spawn(&["list"], b"", &[])));
    }
    assert!(children.len() >= 64);
    for (what, child) in children {
        let out = child.wait_with_output().unwrap();
        match what {
            "get" => assert!(
                out.status.success() || stdout(&out) == NOT_FOUND,
                "get: {}",
                stdout(&out)
            ),
            "list" => {
                assert_ok(&out, "list");
                serde_json::from_slice::<serde_json::Value>(&out.stdout)
                    .expect("list answers JSON");
            }
            _ => assert_ok(&out, what),
        }
    }
    let rows = parse_all(&h);
    for i in 0..32 {
        let key = format!("distinct-{i}.example.com");
        let found: Vec<_> = rows.iter().filter(|r| r.0 == key).collect();
        assert_eq!(found.len(), 1, "{key}");
        assert_eq!(found[0].2, format!("user-{i}"));
    }
    let shared: Vec<_> = rows
        .iter()
        .filter(|r| r.0 == "shared.example.com")
        .collect();
    assert_eq!(
        shared.len(),
        1,
        "one credential for the shared host: {shared:?}"
    );
    assert!(shared[0].2.starts_with("shared-"));
    assert!(
        rows.iter().all(|r| !r.0.starts_with("erase-")),
        "every erase took effect"
    );
    let names: BTreeSet<_> = rows.iter().map(|r| &r.1).collect();
    assert_eq!(names.len(), rows.len(), "names are unique");
    let list: serde_json::Value = serde_json::from_slice(&h.run(&["list"], b"").stdout).unwrap();
    assert_eq!(list.as_object().unwrap().len(), 33);
}

/// A tiny deterministic generator, so a failing run can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn writers_killed_at_random_moments_never_corrupt_or_lose_saved_credentials() {
    let h = Helper::new();
    let mut rng = Lcg(0x5eed);
    // Credentials known to be saved: (registry, name). All writers but a few share one
    // registry file, so a torn write would lose every earlier entry at once.
    let mut committed: BTreeSet<(String, String)> = BTreeSet::new();
    let mut killed_mid_run = 0;
    // Kill within the time one write takes on this machine now, so kills land mid-write
    // whether the machine is idle or loaded.
    let timed = std::time::Instant::now();
    h.add(
        "warm-up",
        "custom",
        Some("warmup.example.com"),
        "u",
        "s",
        &[],
    );
    committed.insert(("warmup.example.com".to_string(), "warm-up".to_string()));
    let window = (timed.elapsed().as_micros() as u64 * 12 / 10).max(1000);
    for i in 0..120 {
        let name = format!("cred-{i}");
        let project = format!("p{i}");
        let registry = if i % 10 == 9 {
            format!("other-{i}.example.com")
        } else {
            "shared.example.com".to_string()
        };
        let args = [
            "add",
            &name,
            "--provider",
            "custom",
            "--registry",
            &registry,
            "--username",
            "u",
            "--password-stdin",
            "--project",
            &project,
        ];
        let mut child = h.spawn(&args, format!("secret-{i}").as_bytes(), &[]);
        if i % 8 == 7 {
            // Every eighth writer is left to finish, so the store keeps growing.
            let _ = child.wait();
        } else {
            std::thread::sleep(Duration::from_micros(rng.next(window)));
        }
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if !finished {
            killed_mid_run += 1;
        }
        // The store always parses, and every credential saved before is still there.
        let rows = parse_all(&h);
        let present: BTreeSet<(String, String)> =
            rows.into_iter().map(|(k, n, _)| (k, n)).collect();
        let lost: Vec<_> = committed.difference(&present).collect();
        assert!(lost.is_empty(), "iteration {i}: lost {lost:?}");
        if status.success() {
            assert!(
                present.contains(&(registry.clone(), name.clone())),
                "exit 0 but not saved: {name}"
            );
        }
        if present.contains(&(registry.clone(), name.clone())) {
            committed.insert((registry, name));
        }
        let out = h.run(&["list"], b"");
        assert_ok(&out, "list after kill");
        // `ls` reads the index when it is current: it must agree with the files.
        let ls: Vec<serde_json::Value> =
            serde_json::from_slice(&h.run(&["ls", "--json"], b"").stdout).unwrap();
        let listed: BTreeSet<(String, String)> = ls
            .iter()
            .map(|c| {
                (
                    c["registry"].as_str().unwrap().to_string(),
                    c["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(listed, present, "iteration {i}: index and files disagree");
    }
    assert!(
        killed_mid_run >= 10,
        "too few kills landed mid-run ({killed_mid_run}); the test proves little"
    );
    // No stale lock: a normal write still goes through, and leftovers are swept.
    h.store("after.example.com", "u", "p");
    let leftovers: usize = [h.store_dir(), h.store_dir().join("registries")]
        .iter()
        .map(|dir| {
            std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
                .count()
        })
        .sum();
    assert_eq!(leftovers, 0);
    assert!(
        committed.len() >= 10,
        "too few writes completed ({})",
        committed.len()
    );
    let ls: Vec<serde_json::Value> =
        serde_json::from_slice(&h.run(&["ls", "--json"], b"").stdout).unwrap();
    assert_eq!(ls.len(), committed.len() + 1);
    eprintln!(
        "kill test: {killed_mid_run} writers killed mid-run, {} saved",
        committed.len()
    );
}

#[test]
fn registry_files_changed_by_hand_are_what_list_ls_and_export_see() {
    let h = Helper::new();
    h.add(
        "xcred",
        "custom",
        Some("reg.example.com"),
        "u",
        "p2secret",
        &["p2"],
    );
    let path = h.store_dir().join("registries/reg.example.com.json");
    let backup = std::fs::read(&path).unwrap();
    assert_ok(
        &h.run(&["restrict", "xcred", "--unrestricted"], b""),
        "restrict",
    );
    // "Restore it from a backup", as the corrupt-file message advises.
    std::fs::write(&path, &backup).unwrap();
    let p1 = [("NORTHFLANK_PROJECT", "p1")];
    assert_exact(&h.run_env(&["get"], b"reg.example.com", &p1), 1, NOT_FOUND);
    assert_exact(&h.run_env(&["list"], b"", &p1), 0, "{}\n");
    let export = h.run(&["export", "--project", "p1"], b"");
    assert_ok(&export, "export");
    assert!(
        !stdout(&export).contains("p2secret"),
        "export leaked a hidden secret"
    );
    // Removed by hand: gone everywhere, and commands on it fail cleanly.
    std::fs::remove_file(&path).unwrap();
    assert_exact(
        &h.run_env(&["list"], b"", &[("NORTHFLANK_PROJECT", "p2")]),
        0,
        "{}\n",
    );
    for args in [
        &["restrict", "xcred", "--project", "p1"][..],
        &["rename", "xcred", "ycred"],
        &["rm", "xcred"],
    ] {
        let out = h.run(args, b"");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("no credential named"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_damaged_registry_file_does_not_stop_saves_elsewhere() {
    let h = Helper::new();
    h.store("ghcr.io", "old", "p");
    h.store("bad.example.com", "u", "p");
    std::fs::write(h.store_dir().join("registries/bad.example.com.json"), b"{").unwrap();
    h.store("ghcr.io", "new", "p2");
    h.store("quay.io", "q", "p3");
    assert_exact(
        &h.run(&["get"], b"ghcr.io"),
        0,
        "{\"ServerURL\":\"ghcr.io\",\"Username\":\"new\",\"Secret\":\"p2\"}\n",
    );
    // The damaged file is reported, not silently left out.
    for verb in ["list", "get"] {
        let out = h.run(&[verb], b"bad.example.com");
        assert_eq!(out.status.code(), Some(1), "{verb}");
        assert!(
            stdout(&out).contains("bad.example.com.json is corrupt"),
            "{verb}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn a_writer_holding_the_lock_blocks_no_reader_and_other_writers_give_up_clearly() {
    let h = Helper::new();
    h.store("ghcr.io", "u", "p");
    // Another process stopped while it holds the writers' lock (here: this test).
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(h.store_dir().join(".lock"))
        .unwrap();
    lock.lock().unwrap();
    assert_exact(
        &h.run(&["get"], b"ghcr.io"),
        0,
        "{\"ServerURL\":\"ghcr.io\",\"Username\":\"u\",\"Secret\":\"p\"}\n",
    );
    assert_exact(&h.run(&["list"], b""), 0, "{\"ghcr.io\":\"u\"}\n");
    let out = h.run(
        &["store"],
        br#"{"ServerURL":"quay.io","Username":"u","Secret":"p"}"#,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("locked by another docker-credential-northflank"),
        "{}",
        stdout(&out)
    );
    drop(lock);
    h.store("quay.io", "u", "p");
}

#[test]
fn the_longest_valid_host_is_stored_and_served() {
    let h = Helper::new();
    let label = "a".repeat(63);
    let host = format!("{label}.{label}.{label}.{}.example:5000", "b".repeat(52));
    h.store(&host, "u", "p");
    let want = format!("{{\"ServerURL\":\"{host}\",\"Username\":\"u\",\"Secret\":\"p\"}}\n");
    assert_exact(&h.run(&["get"], host.as_bytes()), 0, &want);
    assert_exact(
        &h.run(&["list"], b""),
        0,
        &format!("{{\"{host}\":\"u\"}}\n"),
    );
}

/// A writer killed (here: aborted, as `NORTHFLANK_FAULT` makes a debug build do) at each step
/// of an update, through `docker login`'s `store` and through `import-docker-config`, leaves
/// the old credential whole or the new one whole — never a mix — and the next write works.
#[test]
fn a_writer_killed_at_each_step_of_an_update_leaves_the_old_or_the_new_credential_whole() {
    use base64::Engine as _;
    use std::os::unix::process::ExitStatusExt;
    for how in ["store", "import-docker-config"] {
        for step in ["before-commit", "committed", "indexed"] {
            let h = Helper::new();
            h.store("ghcr.io", "u-old", "old-secret");
            let fault = [("NORTHFLANK_FAULT", step)];
            let out = if how == "store" {
                let json = br#"{"ServerURL":"ghcr.io","Username":"u-new","Secret":"new-secret"}"#;
                h.run_env(&["store"], json, &fault)
            } else {
                let auth = base64::engine::general_purpose::STANDARD.encode("u-new:new-secret");
                let config = h.dir.path().join("config.json");
                let text = serde_json::json!({"auths": {"ghcr.io": {"auth": auth}}}).to_string();
                std::fs::write(&config, text).unwrap();
                h.run_env(&[how, config.to_str().unwrap()], b"", &fault)
            };
            assert_eq!(
                out.status.signal(),
                Some(6),
                "{how} at {step}: not killed there: {}",
                stderr(&out)
            );
            let old = get_answer("ghcr.io", "u-old", "old-secret");
            let new = get_answer("ghcr.io", "u-new", "new-secret");
            let got = stdout(&h.run(&["get"], b"ghcr.io"));
            let want = if step == "before-commit" { &old } else { &new };
            assert_eq!(&got, want, "{how} killed at {step}");
            // What list and ls show agrees with what get serves.
            let user = if step == "before-commit" {
                "u-old"
            } else {
                "u-new"
            };
            assert_exact(
                &h.run(&["list"], b""),
                0,
                &format!("{{\"ghcr.io\":\"{user}\"}}\n"),
            );
            let ls = stdout(&h.run(&["ls"], b""));
            assert!(ls.contains(user), "{how} at {step}: {ls}");
            // The next writer finds a consistent store.
            h.store("ghcr.io", "u-3", "third-secret");
            assert_exact(
                &h.run(&["get"], b"ghcr.io"),
                0,
                &get_answer("ghcr.io", "u-3", "third-secret"),
            );
            let files: Vec<_> = std::fs::read_dir(h.store_dir().join("registries"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert_eq!(
                files,
                ["ghcr.io.json"],
                "{how} at {step}: no temp file left behind"
            );
        }
    }
}
