//! `doctor`: the checks that explain "docker doesn't use my credential" — is the binary where
//! docker looks for it, do the config files send the saved hosts to it, is the store healthy,
//! and what does the current project see. Every failed check carries its fix.

use std::fs;
use std::path::Path;

use crate::cli::configure::{self, HELPER};
use crate::credential::Backend;
use crate::policy;
use crate::store::Store;

/// How a check came out. Any `Fail` makes `doctor` exit non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One finding: what was seen, and for problems, what to do.
#[derive(Debug, Clone)]
pub struct Check {
    pub status: Status,
    pub text: String,
    pub fix: Option<String>,
}

fn ok(text: impl Into<String>) -> Check {
    Check {
        status: Status::Ok,
        text: text.into(),
        fix: None,
    }
}

fn problem(status: Status, text: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        status,
        text: text.into(),
        fix: Some(fix.into()),
    }
}

/// The `doctor` command: every check on its own line, with its fix; fails if any failed.
pub fn command(store: &Store) -> anyhow::Result<()> {
    let checks = run(store);
    let mut failed = 0;
    let mut lines = Vec::new();
    for c in &checks {
        let tag = match c.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => {
                failed += 1;
                "FAIL"
            }
        };
        lines.push(match &c.fix {
            Some(fix) => format!("{tag}  {} — fix: {fix}", c.text),
            None => format!("{tag}  {}", c.text),
        });
    }
    if failed == 0 {
        lines.push("everything looks right".to_string());
    }
    super::output::lines(&lines)?;
    if failed > 0 {
        anyhow::bail!("doctor found {failed} problem(s): apply the fixes above");
    }
    Ok(())
}

/// Runs every check.
pub fn run(store: &Store) -> Vec<Check> {
    let mut checks = vec![binary()];
    checks.extend(store_health(store));
    checks.extend(configs(store));
    checks.extend(project(store));
    checks
}

const BINARY: &str = "docker-credential-northflank";

/// Is `docker-credential-northflank` on `PATH`, and is it this build? Docker runs whatever
/// `PATH` finds first, so an old copy there would answer instead of this one.
fn binary() -> Check {
    let this = std::env::current_exe().and_then(fs::canonicalize).ok();
    let shown = this
        .as_ref()
        .map_or_else(|| BINARY.to_string(), |p| p.display().to_string());
    // As a shell (and docker's exec) would find it: first match on PATH, executable bit and
    // Windows' PATHEXT included.
    let Ok(found) = which::which(BINARY) else {
        return problem(
            Status::Fail,
            format!("{BINARY} is not on PATH, so docker and podman cannot run it"),
            format!("run install.sh, or copy {shown} into a folder on PATH"),
        );
    };
    let canonical = fs::canonicalize(&found).unwrap_or_else(|_| found.clone());
    if this.as_ref() == Some(&canonical) {
        return ok(format!("on PATH: {} (this binary)", found.display()));
    }
    let same_bytes = this
        .as_ref()
        .and_then(|t| Some((fs::read(t).ok()?, fs::read(&canonical).ok()?)))
        .is_some_and(|(a, b)| a == b);
    if same_bytes {
        return ok(format!(
            "on PATH: {} (same build as this one)",
            found.display()
        ));
    }
    problem(
        Status::Fail,
        format!(
            "PATH finds {}, which is not this binary ({shown})",
            found.display()
        ),
        "run install.sh again to replace it, or remove the old copy",
    )
}

fn store_health(store: &Store) -> Vec<Check> {
    let dir = store.dir();
    let mut checks = Vec::new();
    match fs::metadata(dir) {
        Err(_) => {
            checks.push(ok(format!(
                "store {}: nothing saved yet (created on the first save)",
                dir.display()
            )));
            return checks;
        }
        Ok(m) if !m.is_dir() => {
            checks.push(problem(
                Status::Fail,
                format!("store {} is not a folder", dir.display()),
                format!("move it away, or set {} to a folder", crate::store::DIR_ENV),
            ));
            return checks;
        }
        Ok(_) => {}
    }
    if let Some(e) = store.not_a_store() {
        checks.push(problem(
            Status::Fail,
            e.to_string(),
            format!(
                "set {} to a new or empty folder (nothing in this one is changed)",
                crate::store::DIR_ENV
            ),
        ));
        return checks;
    }
    // Owner and mode, as the store itself enforces them: it refuses what is listed here, so
    // every other check of the store would only fail again for the same reason.
    let privacy = store.privacy_problems();
    let refused: Vec<&Path> = privacy.iter().map(|(p, _)| p.as_path()).collect();
    for (path, why) in &privacy {
        checks.push(problem(
            Status::Fail,
            format!("{} {why}, so the store is refused", path.display()),
            why.fix(path).unwrap_or_else(|| "move it away".into()),
        ));
    }
    // A refused folder refuses everything in it: nothing more to learn by reading.
    if refused.iter().any(|p| p.is_dir()) {
        return checks;
    }
    let meta = store.meta();
    match meta {
        // Already reported above.
        Err(_) if refused.contains(&dir.join("store.json").as_path()) => {}
        Ok(Some(meta)) => checks.push(match meta.backend {
            None => ok(format!(
                "backend: not chosen yet (store {}); the first save picks the OS keychain if one answers",
                dir.display()
            )),
            Some(Backend::File) => ok(format!(
                "backend: file (secrets unencrypted in {})",
                dir.display()
            )),
            Some(Backend::Keyring) => match crate::store::keychain::probe() {
                Ok(()) => ok("backend: keyring (the OS keychain answers and is unlocked)".to_string()),
                Err(why) => problem(
                    Status::Fail,
                    format!("backend: keyring, but {why}"),
                    "unlock or start the keychain, or move the secrets with `migrate --to file`",
                ),
            },
        }),
        Ok(None) => checks.push(ok(format!(
            "store {}: no store.json yet (written on the first save)",
            dir.display()
        ))),
        Err(e) => checks.push(problem(Status::Fail, e.to_string(), "see the message")),
    }
    match store.check_files() {
        Ok(files) => {
            let mut count = 0;
            let mut bad = 0;
            for (path, read) in files {
                match read {
                    Err(_) if refused.contains(&path.as_path()) => bad += 1,
                    Ok(n) => count += n,
                    Err(e) => {
                        bad += 1;
                        checks.push(problem(Status::Fail, e.to_string(), "see the message"));
                    }
                }
            }
            if bad == 0 {
                checks.push(ok(format!(
                    "{count} saved credential(s), every registry file readable"
                )));
            }
        }
        Err(e) => checks.push(problem(Status::Fail, e.to_string(), "see the message")),
    }
    checks
}

fn configs(store: &Store) -> Vec<Check> {
    let keys = configure::saved_keys(store, &[]).unwrap_or_default();
    let targets = match configure::targets() {
        Ok(t) => t,
        Err(e) => return vec![problem(Status::Fail, e.to_string(), "set HOME")],
    };
    let mut checks = Vec::new();
    for t in targets {
        let label = t.kind.label();
        let path = t.path.display();
        let wanted: std::collections::BTreeSet<String> =
            keys.iter().map(|k| t.kind.helper_key(k)).collect();
        let file = match configure::read(&t.path) {
            Err(e) => {
                checks.push(problem(
                    Status::Fail,
                    format!("{label}: {e}"),
                    "fix or move the file, then run `docker-credential-northflank configure`",
                ));
                continue;
            }
            Ok(None) if wanted.is_empty() => {
                checks.push(ok(format!(
                    "{label}: {path} does not exist (nothing to wire yet)"
                )));
                continue;
            }
            Ok(None) => {
                checks.push(problem(
                    Status::Fail,
                    format!("{label}: {path} does not exist, so {label} does not ask this helper"),
                    "docker-credential-northflank configure",
                ));
                continue;
            }
            Ok(Some(f)) => f,
        };
        let ours: Vec<&str> = file
            .helpers
            .iter()
            .filter(|(_, v)| *v == HELPER)
            .map(|(k, _)| k.as_str())
            .collect();
        checks.push(ok(format!(
            "{label}: {path} sends {} host(s) here{}{}",
            ours.len(),
            if ours.is_empty() { "" } else { ": " },
            ours.join(", ")
        )));
        if t.kind == configure::Kind::Docker && file.creds_store() == Some(configure::HELPER) {
            checks.push(ok(format!(
                "{label}: {path} sends every other registry here too (credsStore)"
            )));
        }
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|k| !file.helpers.contains_key(*k) && !file.sends_here(t.kind, k))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            checks.push(problem(
                Status::Fail,
                format!(
                    "{label}: saved but not wired in {path}: {}",
                    missing.join(", ")
                ),
                "docker-credential-northflank configure",
            ));
        }
        for k in &wanted {
            if let Some(other) = file.helpers.get(k).filter(|v| *v != HELPER) {
                checks.push(problem(
                    Status::Fail,
                    format!("{label}: {path} sends {k} to docker-credential-{other}, not here"),
                    "docker-credential-northflank configure --force",
                ));
            }
        }
        let stale: Vec<&str> = ours
            .iter()
            .filter(|k| !wanted.contains(**k))
            .copied()
            .collect();
        if !stale.is_empty() {
            checks.push(problem(
                Status::Warn,
                format!(
                    "{label}: {path} sends hosts with no saved credential here (they get \"not found\"): {}",
                    stale.join(", ")
                ),
                "add a credential for them, or run `configure --remove` then `configure`",
            ));
        }
    }
    checks
}

fn project(store: &Store) -> Vec<Check> {
    let current = policy::Project::current();
    let project = current.id();
    let mut checks = Vec::new();
    match &current {
        policy::Project::Id(p) => checks.push(ok(format!(
            "current project: {p} ({})",
            policy::PROJECT_ENV
        ))),
        policy::Project::Invalid(v) if v.is_empty() => checks.push(problem(
            Status::Warn,
            format!(
                "{} is set but empty: only unrestricted credentials are used, and docker login/logout leave them alone",
                policy::PROJECT_ENV,
            ),
            format!(
                "unset {0} to log in to the unrestricted credentials, or export {0}=<project id>",
                policy::PROJECT_ENV
            ),
        )),
        policy::Project::Invalid(v) => checks.push(problem(
            Status::Fail,
            format!(
                "{}={v:?} is not a project id, so every restricted credential is hidden",
                policy::PROJECT_ENV,
            ),
            format!(
                "export {}=<project id> (letters, digits, hyphens)",
                policy::PROJECT_ENV
            ),
        )),
        _ => checks.push(ok(format!(
            "{} is not set: only unrestricted credentials are used",
            policy::PROJECT_ENV
        ))),
    }
    let Ok(all) = store.summaries() else {
        return checks;
    };
    let mut seen = Vec::new();
    let mut hidden = 0;
    for (key, creds) in &all {
        if let Some(c) = policy::select(creds, |c| &c.restrictions, project) {
            seen.push(format!("{key} ({})", c.name));
        }
        hidden += creds
            .iter()
            .filter(|c| !c.restrictions.visible_to(project))
            .count();
    }
    let mut text = if seen.is_empty() {
        "this context sees no credentials".to_string()
    } else {
        format!("this context sees: {}", seen.join(", "))
    };
    if hidden > 0 {
        text.push_str(&format!("; {hidden} restricted to other projects"));
    }
    checks.push(ok(text));
    checks
}
