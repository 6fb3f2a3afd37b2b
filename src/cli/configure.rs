//! `configure`: point docker and the containers tools (podman, skopeo, buildah) at this helper
//! for every saved registry, by adding `credHelpers` entries to their config files.
//!
//! Both tools look a helper up by an **exact** key (protocol-research §2-§3): docker uses
//! `https://index.docker.io/v1/` for Docker Hub and the bare `host[:port]` otherwise;
//! containers tools send `docker.io` for Hub. So each file gets the keys its tool will ask for.
//!
//! The files belong to the user: only `credHelpers` members are touched, in place, keeping every
//! other byte (see [`crate::cli::jsonedit`]); a host already handled by another helper is reported
//! and left alone unless `--force`; both files are read and checked before either is written,
//! and each is replaced atomically (temp file + rename, keeping its mode and owner, through a
//! symlink to its target as docker does).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::jsonedit::{self, Changes};
use crate::error::{Error, Result};
use crate::host::{self, Key};
use crate::store::Store;

/// The value of our `credHelpers` entries: docker runs `docker-credential-<value>`.
pub const HELPER: &str = "northflank";
const SECTION: &str = "credHelpers";

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
        .map(|r| host::normalize(r).map_err(|e| anyhow::anyhow!("invalid --registry {r:?}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = Options {
        dry_run: a.dry_run,
        remove: a.remove,
        force: a.force,
        extra,
    };
    let outcome = run(store, &opts)?;
    super::output::lines(&outcome.lines)?;
    for w in &outcome.warnings {
        super::output::note(&format!("warning: {w}"));
    }
    Ok(())
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

/// A config file as read: its text and its `credHelpers` (non-string values shown as `?`).
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub text: String,
    pub helpers: BTreeMap<String, String>,
}

/// Reads and checks a config file; `None` if it does not exist. Errors name the file and the fix.
pub fn read(path: &Path) -> Result<Option<ConfigFile>> {
    let shown = path.display();
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::BadInput(format!(
                "cannot read {shown}: {e}; fix its permissions or move it away (nothing was changed)"
            )));
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::BadInput(format!(
            "{shown} is not UTF-8 text: fix it or move it away (nothing was changed)"
        ))
    })?;
    if text.trim().is_empty() {
        return Ok(Some(ConfigFile {
            text,
            helpers: BTreeMap::new(),
        }));
    }
    // serde_json's messages give a position, never content (the file may hold secrets).
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Error::BadInput(format!(
            "{shown} is not valid JSON ({e}): fix it or move it away (nothing was changed)"
        ))
    })?;
    let Value::Object(top) = value else {
        return Err(Error::BadInput(format!(
            "{shown} is not a JSON object: fix it or move it away (nothing was changed)"
        )));
    };
    let helpers = match top.get(SECTION) {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("?").to_string()))
            .collect(),
        Some(_) => {
            return Err(Error::BadInput(format!(
                "{shown}: \"{SECTION}\" is not an object: fix it by hand (nothing was changed)"
            )));
        }
    };
    Ok(Some(ConfigFile { text, helpers }))
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
    let mut plans = Vec::new();
    for target in targets()? {
        let file = read(&target.path)?;
        let before = file.as_ref().map_or("", |f| f.text.as_str()).to_string();
        let helpers = file.map(|f| f.helpers).unwrap_or_default();
        let mut changes = Changes::default();
        let mut notes = Vec::new();
        if opts.remove {
            for (k, v) in &helpers {
                if v == HELPER {
                    changes.remove.push(k.clone());
                    notes.push(format!("  - {k}"));
                }
            }
        } else {
            let wanted: BTreeSet<String> = keys.iter().map(|k| target.kind.helper_key(k)).collect();
            for k in wanted {
                match helpers.get(&k).map(String::as_str) {
                    Some(HELPER) => notes.push(format!("  = {k} (already set)")),
                    Some(other) if opts.force => {
                        notes.push(format!("  + {k} (taken over from docker-credential-{other})"));
                        changes.set.push((k, HELPER.to_string()));
                    }
                    Some(other) => out.warnings.push(format!(
                        "{}: {k} is handled by docker-credential-{other}; left alone (configure --force takes it over)",
                        target.path.display()
                    )),
                    None => {
                        notes.push(format!("  + {k}"));
                        changes.set.push((k, HELPER.to_string()));
                    }
                }
            }
        }
        let after = jsonedit::edit(&before, SECTION, &changes).map_err(|why| {
            Error::BadInput(format!(
                "cannot edit {}: {why}; fix it by hand (nothing was changed)",
                target.path.display()
            ))
        })?;
        plans.push((target, before, after, notes));
    }
    for (target, before, after, notes) in &plans {
        let path = target.path.display();
        out.lines.push(format!("{} ({path}):", target.kind.label()));
        if notes.is_empty() {
            out.lines.push("  nothing to change".to_string());
        }
        out.lines.extend(notes.iter().cloned());
        if before == after {
            continue;
        }
        if opts.dry_run {
            out.lines.push(diff(&path.to_string(), before, after));
        } else {
            write_atomic(&target.path, after.as_bytes())?;
            out.lines.push(format!("  updated {path}"));
        }
    }
    if opts.dry_run {
        out.lines.push("dry run: nothing was written".to_string());
    }
    Ok(out)
}

/// Whether docker's config sends `key` to this helper (for hints after `add`).
pub fn docker_wired(key: &Key) -> bool {
    targets()
        .ok()
        .and_then(|t| t.into_iter().find(|t| t.kind == Kind::Docker))
        .and_then(|t| read(&t.path).ok().flatten())
        .is_some_and(|f| {
            f.helpers
                .get(&Kind::Docker.helper_key(key))
                .map(String::as_str)
                == Some(HELPER)
        })
}

/// Replaces `path` with `bytes` so readers see the old file or the new one, never a mix,
/// keeping the old file's mode and owner (a new file gets 0600, as docker creates it).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // Write through a symlink to its target, so a dotfiles link stays a link.
    let path = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            Error::BadInput(format!("cannot follow the link {}: {e}", path.display()))
        })?,
        _ => path.to_path_buf(),
    };
    let fail = |what: &str, e: io::Error| {
        Error::BadInput(format!(
            "cannot {what} {}: {e}; check the folder's permissions (the old file is unchanged)",
            path.display()
        ))
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() && !dir.exists() {
        create_dir(dir).map_err(|e| fail("create the folder for", e))?;
    }
    let old = fs::metadata(&path).ok();
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // Private from the first byte (the file may hold `auths` passwords); the old file's
        // mode is applied once the content is in place.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        keep_mode_and_owner(&f, old.as_ref())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail("write", e));
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn keep_mode_and_owner(f: &fs::File, old: Option<&fs::Metadata>) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = old.map_or(0o600, |m| m.mode() & 0o7777);
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    if let Some(m) = old {
        // Only root can give a file away; for anyone else the owner is already right.
        let _ = std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn keep_mode_and_owner(_f: &fs::File, _old: Option<&fs::Metadata>) -> io::Result<()> {
    Ok(())
}

/// A line diff of `before` → `after` with two lines of context, secrets redacted (a docker
/// config may hold base64 passwords in `auths`, and the context lines could show them).
pub fn diff(name: &str, before: &str, after: &str) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let ops = lcs_ops(&a, &b);
    let mut out = format!("--- {name}\n+++ {name} (after)\n");
    const CONTEXT: usize = 2;
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let mut last_shown: Option<usize> = None;
    for (i, op) in ops.iter().enumerate() {
        let near = changed
            .iter()
            .any(|&c| i + CONTEXT >= c && i <= c + CONTEXT);
        if !near {
            continue;
        }
        if last_shown.is_some_and(|l| l + 1 != i) {
            out.push_str("  …\n");
        }
        last_shown = Some(i);
        let (mark, line) = match op {
            Op::Same(l) => (' ', *l),
            Op::Del(l) => ('-', *l),
            Op::Add(l) => ('+', *l),
        };
        out.push(mark);
        out.push_str(&redact(line));
        out.push('\n');
    }
    out.trim_end().to_string()
}

enum Op<'a> {
    Same(&'a str),
    Del(&'a str),
    Add(&'a str),
}

/// Longest-common-subsequence edit script; config files are small. Beyond a few million
/// cells, shows the whole file replaced instead.
fn lcs_ops<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Op<'a>> {
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        return a
            .iter()
            .map(|l| Op::Del(l))
            .chain(b.iter().map(|l| Op::Add(l)))
            .collect();
    }
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Same(a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            // Deletions first, as diff(1) shows a changed line.
            ops.push(Op::Del(a[i]));
            i += 1;
        } else {
            ops.push(Op::Add(b[j]));
            j += 1;
        }
    }
    ops
}

/// Replaces the string values of secret-bearing keys (`auth`, `password`, `identitytoken`,
/// `registrytoken`) with `REDACTED` in one line of JSON.
fn redact(line: &str) -> String {
    const KEYS: [&str; 4] = [
        "\"auth\"",
        "\"password\"",
        "\"identitytoken\"",
        "\"registrytoken\"",
    ];
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while !rest.is_empty() {
        for k in KEYS {
            if rest.len() >= k.len()
                && rest.as_bytes()[..k.len()].eq_ignore_ascii_case(k.as_bytes())
            {
                let after = &rest[k.len()..];
                let value = after.trim_start_matches([' ', '\t']);
                if let Some(v) = value.strip_prefix(':') {
                    let v = v.trim_start_matches([' ', '\t']);
                    if let Some(body) = v.strip_prefix('"') {
                        let end = string_end(body);
                        out.push_str(&rest[..rest.len() - v.len()]);
                        out.push_str("\"REDACTED\"");
                        rest = &body[end..];
                        continue 'scan;
                    }
                }
            }
        }
        let c = rest.chars().next().expect("BUG: non-empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The byte index just past the closing quote of a JSON string body (or its end).
fn string_end(body: &str) -> usize {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
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

    #[test]
    fn redacts_secrets_in_any_layout() {
        assert_eq!(
            redact(r#"{"auths":{"a":{"auth":"c2VjcmV0"}},"x":{"password" : "p\"w","user":"u"}}"#),
            r#"{"auths":{"a":{"auth":"REDACTED"}},"x":{"password" : "REDACTED","user":"u"}}"#
        );
        assert_eq!(
            redact("\t\t\"identitytoken\": \"tok\","),
            "\t\t\"identitytoken\": \"REDACTED\","
        );
        assert_eq!(redact("\"author\": \"me\""), "\"author\": \"me\"");
    }

    #[test]
    fn diff_shows_changes_with_context() {
        let before = "a\nb\nc\nd\ne\nf\ng\n";
        let after = "a\nb\nc\nd\nX\ne\nf\ng\n";
        let d = diff("f", before, after);
        assert_eq!(d, "--- f\n+++ f (after)\n c\n d\n+X\n e\n f");
    }
}
