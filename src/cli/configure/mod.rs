//! `configure`: point docker and the containers tools (podman, skopeo, buildah) at this helper
//! for every saved registry, by adding `credHelpers` entries to their config files.
//!
//! Both tools look a helper up by an **exact** key (protocol-research §2-§3): docker uses
//! `https://index.docker.io/v1/` for Docker Hub and the bare `host[:port]` otherwise;
//! containers tools send `docker.io` for Hub. So each file gets the keys its tool will ask for.
//!
//! The files belong to the user and to those tools: only `credHelpers` members are changed,
//! every other key and value is kept in its place, and the file is written back the way docker
//! writes it ([`file`]). A host already handled by another helper is reported and left alone
//! unless `--force`; `--remove` takes away only members whose value is ours. Both files are
//! read and planned before either is written, so a bad file stops the run with nothing
//! changed; should a write still fail, the error names the file already updated.

mod diff;
mod file;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::host::{self, Key};
use crate::store::Store;
pub use file::{ConfigFile, read, repeated_top_key};
use file::{LineEnds, SECTION};

/// The value of our `credHelpers` entries: docker runs `docker-credential-<value>`.
pub const HELPER: &str = "northflank";

/// Which tool a config file belongs to; decides how Docker Hub is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Docker,
    Containers,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Docker => "docker",
            Kind::Containers => "podman/skopeo/buildah",
        }
    }

    /// The `credHelpers` key this tool looks up for a registry.
    pub fn helper_key(self, key: &Key) -> String {
        match (self, key.is_docker_hub()) {
            (Kind::Docker, true) => host::DOCKER_HUB.to_string(),
            (Kind::Containers, true) => "docker.io".to_string(),
            (_, false) => key.as_str().to_string(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the changes as a diff, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Remove this helper's entries (only those whose value is "northflank").
    #[arg(long, conflicts_with_all = ["force", "registries"])]
    remove: bool,
    /// Take over hosts that another credential helper handles.
    #[arg(long)]
    force: bool,
    /// Also wire this registry (repeat for several), saved or not.
    #[arg(long = "registry", value_name = "HOST[:PORT]")]
    registries: Vec<String>,
}

/// The `configure` command.
pub fn command(store: &Store, a: Args) -> anyhow::Result<()> {
    let extra = a
        .registries
        .iter()
        .map(|r| {
            host::normalize(r)
                .map_err(|e| anyhow::anyhow!("invalid --registry {:?}: {e}", host::redacted(r)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = Options {
        dry_run: a.dry_run,
        remove: a.remove,
        force: a.force,
        extra,
    };
    let outcome = run(store, &opts)?;
    let text: String = outcome
        .lines
        .iter()
        .map(|line| format!("{}\n", with_tabs(line)))
        .collect();
    super::output::raw(text.as_bytes())?;
    for w in &outcome.warnings {
        super::output::note(&format!("warning: {w}"));
    }
    Ok(())
}

/// `line` made safe for a terminal ([`printable`](super::output::printable)), its tabs kept:
/// the `--dry-run` diff shows the file's tab indentation, and a tab cannot move text around.
fn with_tabs(line: &str) -> String {
    line.split('\t')
        .map(super::output::printable)
        .collect::<Vec<_>>()
        .join("\t")
}

/// A config file to wire.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: Kind,
    pub path: PathBuf,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> Result<PathBuf> {
    env_path("HOME").or_else(std::env::home_dir).ok_or_else(|| {
        Error::BadInput(
            "cannot find the home directory for docker's config: set HOME or DOCKER_CONFIG".into(),
        )
    })
}

/// Docker's `config.json` (`$DOCKER_CONFIG`, else `~/.docker`) and containers' `auth.json`
/// (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` — where `podman login`
/// writes — else `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`).
pub fn targets() -> Result<Vec<Target>> {
    let docker = match env_path("DOCKER_CONFIG") {
        Some(dir) => dir.join("config.json"),
        None => home()?.join(".docker").join("config.json"),
    };
    let containers = match (env_path("REGISTRY_AUTH_FILE"), env_path("XDG_RUNTIME_DIR")) {
        (Some(file), _) => file,
        (None, Some(run)) => run.join("containers").join("auth.json"),
        (None, None) => match env_path("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
            Some(cfg) => cfg.join("containers").join("auth.json"),
            None => home()?.join(".config").join("containers").join("auth.json"),
        },
    };
    Ok(vec![
        Target {
            kind: Kind::Docker,
            path: docker,
        },
        Target {
            kind: Kind::Containers,
            path: containers,
        },
    ])
}

/// What `configure` was asked to do.
#[derive(Debug, Default)]
pub struct Options {
    pub dry_run: bool,
    pub remove: bool,
    pub force: bool,
    /// Hosts to wire besides the saved ones.
    pub extra: Vec<Key>,
}

/// What `configure` did, as lines for people; `warnings` go to stderr.
#[derive(Debug, Default)]
pub struct Outcome {
    pub lines: Vec<String>,
    pub warnings: Vec<String>,
}

/// The registries with saved credentials, plus `extra`.
pub fn saved_keys(store: &Store, extra: &[Key]) -> Result<BTreeSet<Key>> {
    let mut keys: BTreeSet<Key> = extra.iter().cloned().collect();
    for registry in store.summaries()?.into_keys() {
        if let Ok(key) = host::normalize(&registry) {
            keys.insert(key);
        }
    }
    Ok(keys)
}

/// One file's planned change.
struct Plan {
    target: Target,
    /// As read; `None` when it does not exist yet.
    file: Option<ConfigFile>,
    /// The new document, when anything changes.
    after: Option<Map<String, Value>>,
    notes: Vec<String>,
}

/// Runs `configure`: plans both files, then writes the ones that change (unless a dry run).
pub fn run(store: &Store, opts: &Options) -> Result<Outcome> {
    let keys = if opts.remove {
        BTreeSet::new()
    } else {
        saved_keys(store, &opts.extra)?
    };
    let mut out = Outcome::default();
    if !opts.remove && keys.is_empty() {
        out.lines.push(
            "no saved credentials yet: nothing to wire (run `configure` again after `add` or `import-docker-config`)"
                .to_string(),
        );
        return Ok(out);
    }
    // Read and plan everything first, so a bad file stops the run before anything is written.
    let plans = targets()?
        .into_iter()
        .map(|target| plan(target, opts, &keys, &mut out.warnings))
        .collect::<Result<Vec<_>>>()?;
    let mut updated: Vec<String> = Vec::new();
    for plan in &plans {
        let path = plan.target.path.display().to_string();
        out.lines
            .push(format!("{} ({path}):", plan.target.kind.label()));
        if plan.notes.is_empty() {
            out.lines.push("  nothing to change".to_string());
        }
        out.lines.extend(plan.notes.iter().cloned());
        let Some(after) = &plan.after else {
            continue;
        };
        let before = plan.file.as_ref();
        if before.is_some_and(ConfigFile::is_relaid) {
            out.lines.push(
                "  note: the file is written as docker writes it (tab indentation, one member a line); every key and value is kept"
                    .to_string(),
            );
        }
        if opts.dry_run {
            let diff = diff::diff(&path, before.map(|f| &f.doc), after);
            out.lines.extend(diff.lines().map(str::to_string));
            continue;
        }
        let ends = before.map_or(LineEnds::DOCKER, |f| f.ends);
        let meta = before.and_then(|f| f.meta.as_ref());
        file::write(&plan.target.path, &file::render(after, ends), meta).map_err(|e| {
            let also = match updated.as_slice() {
                [] => String::new(),
                done => format!(
                    ", but {} was already updated: run `configure` again once this is fixed",
                    done.join(" and ")
                ),
            };
            Error::BadInput(format!(
                "cannot write {path} ({e}): check that its folder is writable; {path} is unchanged{also}"
            ))
        })?;
        out.lines.push(format!("  updated {path}"));
        updated.push(path);
    }
    if opts.dry_run {
        out.lines.push("dry run: nothing was written".to_string());
    }
    Ok(out)
}

/// Reads `target` and works out its new `credHelpers`. Members are edited on the list as
/// written, so a key listed twice is judged by the value the tools use (the last) and
/// `--remove` takes away only the members that are ours. The new section holds each key once,
/// where it first appeared ([`file`] explains why).
fn plan(
    target: Target,
    opts: &Options,
    keys: &BTreeSet<Key>,
    warnings: &mut Vec<String>,
) -> Result<Plan> {
    let file =
        read(&target.path).map_err(|e| Error::BadInput(format!("{e} (nothing was changed)")))?;
    let empty = ConfigFile::empty();
    let current = file.as_ref().unwrap_or(&empty);
    let mut notes = Vec::new();
    let mut changed = false;
    let mut helpers = Map::new();
    let mut removed = BTreeSet::new();
    for (key, value) in &current.members {
        if opts.remove && value.as_str() == Some(HELPER) {
            removed.insert(key.clone());
            changed = true;
        } else {
            helpers.insert(key.clone(), value.clone());
        }
    }
    for key in &removed {
        let was_ours = current.helpers.get(key).map(String::as_str) == Some(HELPER);
        notes.push(match helpers.get(key).and_then(Value::as_str) {
            None => format!("  - {key}"),
            Some(other) if was_ours => format!(
                "  - {key} (its other entry, docker-credential-{other}, answers from now on)"
            ),
            Some(other) => {
                format!("  - {key} (an unused duplicate: docker-credential-{other} still answers)")
            }
        });
    }
    let wanted: BTreeSet<String> = keys.iter().map(|k| target.kind.helper_key(k)).collect();
    for key in wanted {
        match current.helpers.get(&key).map(String::as_str) {
            Some(HELPER) => notes.push(format!("  = {key} (already set)")),
            Some(other) if !opts.force => warnings.push(format!(
                "{}: {key} is handled by docker-credential-{other}; left alone (configure --force takes it over)",
                target.path.display()
            )),
            found => {
                notes.push(match found {
                    Some(other) => format!("  + {key} (taken over from docker-credential-{other})"),
                    None => format!("  + {key}"),
                });
                helpers.insert(key, Value::String(HELPER.to_string()));
                changed = true;
            }
        }
    }
    let after = changed.then(|| with_helpers(current, helpers, &mut notes));
    Ok(Plan {
        target,
        file,
        after,
        notes,
    })
}
/// `current`'s document with `helpers` as its `credHelpers`, noting keys that were listed more
/// than once and are now written once.
fn with_helpers(
    current: &ConfigFile,
    helpers: Map<String, Value>,
    notes: &mut Vec<String>,
) -> Map<String, Value> {
    for (key, value) in &helpers {
        let times = current.members.iter().filter(|(k, _)| k == key).count();
        if times > 1 {
            notes.push(format!(
                "  note: {key} was listed {times} times; written once, with the value docker and podman use ({value})"
            ));
        }
    }
    let mut doc = current.doc.clone();
    if helpers.is_empty() {
        // Nothing left: no `"credHelpers": {}` behind (docker omits an empty one too).
        doc.shift_remove(SECTION);
    } else if let Some(slot) = doc.get_mut(SECTION) {
        *slot = Value::Object(helpers);
    } else {
        doc.insert(SECTION.to_string(), Value::Object(helpers));
    }
    doc
}

/// Whether docker's config sends `key` to this helper (for hints after `add`): `Ok(())`, or
/// the other helper its `credHelpers` names for it (`None`: no entry).
pub fn docker_wired(key: &Key) -> std::result::Result<(), Option<String>> {
    let file = targets()
        .ok()
        .and_then(|t| t.into_iter().find(|t| t.kind == Kind::Docker))
        .and_then(|t| read(&t.path).ok().flatten());
    let helper_key = Kind::Docker.helper_key(key);
    match file {
        Some(f) if f.sends_here(Kind::Docker, &helper_key) => Ok(()),
        Some(f) => Err(f.helpers.get(&helper_key).cloned()),
        None => Err(None),
    }
}

impl ConfigFile {
    /// Whether `kind` asks this helper for the registry it keys `helper_key`: its own
    /// `credHelpers` entry names us, or it has none and docker's `credsStore` does (containers'
    /// tools read no `credsStore`).
    pub fn sends_here(&self, kind: Kind, helper_key: &str) -> bool {
        match self.helpers.get(helper_key) {
            Some(helper) => helper == HELPER,
            None => kind == Kind::Docker && self.creds_store() == Some(HELPER),
        }
    }

    /// Docker's `credsStore`: the helper for every registry without a `credHelpers` entry.
    pub fn creds_store(&self) -> Option<&str> {
        self.doc.get("credsStore").and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_keys_per_tool() {
        let hub = host::normalize("docker.io").unwrap();
        let tok = host::normalize("https://index.docker.io/v1/access-token").unwrap();
        let local = host::normalize("127.0.0.1:5000").unwrap();
        assert_eq!(Kind::Docker.helper_key(&hub), "https://index.docker.io/v1/");
        assert_eq!(Kind::Docker.helper_key(&tok), "https://index.docker.io/v1/");
        assert_eq!(Kind::Containers.helper_key(&hub), "docker.io");
        assert_eq!(Kind::Containers.helper_key(&local), "127.0.0.1:5000");
    }
}
