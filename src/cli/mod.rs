//! The management commands (`add`, `ls`, `rm`, `restrict`, `rename`, `import-docker-config`,
//! `configure`, `doctor`, `migrate`), for people and scripts.
//!
//! They share the executable with the protocol verbs but never change how those behave.
//! Output goes to stdout, warnings to stderr; errors are returned to `main`, which prints them
//! on stderr. The work of each larger command lives in its own module; this file parses
//! arguments and prints.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod configure;
pub mod doctor;
pub mod import;
pub mod keyfile;
pub mod migrate;
pub mod secret_input;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::credential::{Backend, Credential, Provider, new_id, now_rfc3339};
use crate::error::{Error, Result};
use crate::host;
use crate::policy::{self, Restrictions};
use crate::protocol::{self as serve, Context, read_input};
use crate::store::Store;
use crate::store::backend;
use crate::{kube, verify};
use secret_input::Source;

#[derive(Debug, Parser)]
#[command(
    name = "docker-credential-northflank",
    version,
    about = "Docker credential helper with project-restricted registry credentials",
    long_about = "Docker credential helper with project-restricted registry credentials.\n\n\
        Protocol (used by docker, podman, skopeo, buildah): docker-credential-northflank <store|get|erase|list|version>\n\
        The current project comes from NORTHFLANK_PROJECT; the store from NORTHFLANK_CONFIG_DIR."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Save a registry credential, optionally restricted to projects.
    Add(AddArgs),
    /// List saved credentials (never their secrets).
    Ls(LsArgs),
    /// Remove a saved credential.
    Rm {
        /// The credential's name.
        name: String,
    },
    /// Restrict a credential to projects, or make it available to all.
    Restrict(RestrictArgs),
    /// Rename a saved credential.
    Rename {
        /// The credential's current name.
        old: String,
        /// The new name (3-39 letters, digits, single hyphens or spaces, starting with a letter).
        new: String,
    },
    /// Save the credentials of a Docker config.json ("Authenticate with JSON").
    ImportDockerConfig(ImportArgs),
    /// Point docker and podman/skopeo/buildah at this helper for every saved registry.
    Configure(ConfigureArgs),
    /// Check the installation, the config files, the store and the current project.
    Doctor,
    /// Write the credentials a project may use as a Docker config.json or a Kubernetes Secret.
    Export(ExportArgs),
    /// Answer the kubelet's image credential provider protocol (CredentialProviderRequest on stdin).
    Kubelet,
    /// Check a saved credential against its registry (Docker Registry v2 handshake).
    Verify {
        /// A credential name, or a registry host (checks what `get` serves for it here).
        target: String,
        #[command(flatten)]
        opts: VerifyArgs,
    },
    /// Print a kubelet CredentialProviderConfig for the registries a project is served.
    KubeletConfig {
        /// The project the kubelet pulls for (becomes NORTHFLANK_PROJECT in the plugin's env);
        /// default: NORTHFLANK_PROJECT, else unrestricted credentials only.
        #[arg(long, value_name = "ID")]
        project: Option<String>,
    },
    /// Move every secret to the file store or the OS keychain, and make that the default.
    ///
    /// Safe to interrupt: each secret is copied to the target before its record is switched,
    /// and removed from the source only after; run it again to finish.
    Migrate {
        /// Where the secrets should live.
        #[arg(long, value_enum)]
        to: Backend,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExportFormat {
    DockerConfig,
    KubernetesSecret,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Export what this project may use (exactly what `get` serves it).
    #[arg(long, value_name = "ID")]
    project: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "docker-config")]
    format: ExportFormat,
    /// The Secret's name (kubernetes-secret).
    #[arg(long, value_name = "NAME", default_value = "northflank-registry")]
    name: String,
    /// The Secret's namespace (kubernetes-secret).
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Write the Secret manifest as JSON instead of YAML.
    #[arg(long)]
    json: bool,
    /// Write to this file (created with mode 0600) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Without --password-stdin, --password-file or --keyfile, the password is asked \
    for on the terminal (not echoed). Secrets are never taken from arguments."
)]
struct AddArgs {
    /// A name: 3-39 letters, digits, single hyphens or spaces, starting with a letter.
    name: String,
    /// The registry provider.
    #[arg(long, value_enum)]
    provider: Provider,
    /// HOST[:PORT] of the registry; required for custom and self-hosted GitLab.
    #[arg(long, value_name = "HOST[:PORT]")]
    registry: Option<String>,
    /// The registry user name (with --keyfile: optional, `_json_key`).
    #[arg(long, required_unless_present = "keyfile")]
    username: Option<String>,
    /// Read the password or token from stdin.
    #[arg(long, group = "secret_source")]
    password_stdin: bool,
    /// Read the password or token from a file.
    #[arg(long, value_name = "FILE", group = "secret_source")]
    password_file: Option<PathBuf>,
    /// A Google service-account JSON key (gcr providers): checked, then saved as the secret.
    #[arg(long, value_name = "KEY.json", group = "secret_source")]
    keyfile: Option<PathBuf>,
    /// Restrict the credential to this project (repeat for several); none means unrestricted.
    #[arg(long = "project", value_name = "ID")]
    projects: Vec<String>,
    /// A free-text description.
    #[arg(long, default_value = "")]
    description: String,
    /// Check the credential against the registry first; save nothing if it is refused.
    #[arg(long)]
    verify: bool,
    #[command(flatten)]
    verify_opts: VerifyArgs,
}

/// How to reach the registry when verifying.
#[derive(Debug, Args)]
struct VerifyArgs {
    /// Trust this CA certificate too (PEM, or one DER certificate), for a registry with a private CA.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
    /// Allow plain http:// to a registry that is not on this machine.
    #[arg(long)]
    insecure_http: bool,
}

impl VerifyArgs {
    fn options(&self) -> verify::Options {
        let mut o = verify::Options::from_env();
        o.timeout = std::time::Duration::from_secs(self.timeout.max(1));
        o.ca_cert = self.ca_cert.clone();
        o.insecure_http = self.insecure_http;
        o
    }
}

#[derive(Debug, Args)]
struct LsArgs {
    /// Show what this project would be served: per registry, the credential `get` returns.
    #[arg(long, value_name = "ID")]
    project: Option<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["projects", "unrestricted"])))]
struct RestrictArgs {
    /// The credential's name.
    name: String,
    /// Allow only this project (repeat for several).
    #[arg(long = "project", value_name = "ID")]
    projects: Vec<String>,
    /// Allow every project.
    #[arg(long)]
    unrestricted: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The config.json to read, or `-` for stdin.
    file: PathBuf,
    /// Restrict the imported credentials to this project (repeat for several); none means
    /// unrestricted.
    #[arg(long = "project", value_name = "ID")]
    projects: Vec<String>,
    /// Show what would be saved, save nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct ConfigureArgs {
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

/// Runs a management command from the full argv.
pub fn run(args: Vec<OsString>) -> Result<()> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return Ok(());
        }
        Err(e) => return Err(Error::BadInput(first_line(&e.to_string()))),
    };
    let store = Store::open_default()?;
    match cli.command {
        Command::Add(a) => add(&store, a),
        Command::Ls(a) => ls(&store, a),
        Command::Rm { name } => rm(&store, &name),
        Command::Restrict(a) => restrict(&store, a),
        Command::Rename { old, new } => rename(&store, &old, &new),
        Command::ImportDockerConfig(a) => import_docker_config(&store, a),
        Command::Configure(a) => run_configure(&store, a),
        Command::Doctor => run_doctor(&store),
        Command::Export(a) => export(store, a),
        Command::Kubelet => kubelet(store),
        Command::Verify { target, opts } => verify_saved(store, &target, &opts),
        Command::KubeletConfig { project } => kubelet_config(store, project),
        Command::Migrate { to } => run_migrate(&store, to),
    }
}

/// clap's errors are several lines with usage; keep the one that says what was wrong.
fn first_line(msg: &str) -> String {
    // The message runs until the first blank line (then come usage and tips); its lines
    // (e.g. the list of missing arguments) are joined into one.
    let text: Vec<&str> = msg
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = text.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("{text} (see --help)")
}

fn check_project(project: &str) -> Result<String> {
    Ok(check_projects(&[project.to_string()])?.remove(0))
}

fn check_projects(projects: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in projects {
        if !policy::valid_project_id(p) {
            return Err(Error::BadInput(format!(
                "invalid project id {p:?}: use letters, digits and hyphens"
            )));
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The registry key for a provider and an optional `--registry`.
fn registry_for(provider: Provider, registry: Option<&str>) -> Result<host::Key> {
    let given = registry
        .map(|r| {
            host::normalize(r)
                .map_err(|e| Error::BadInput(format!("invalid --registry {r:?}: {e}")))
        })
        .transpose()?;
    let fixed = provider
        .default_host()
        .map(|h| host::normalize(h).expect("BUG: provider hosts are valid"));
    match (given, fixed) {
        (Some(g), Some(f)) if provider.takes_any_host() || g == f => Ok(g),
        (Some(g), Some(f)) => Err(Error::BadInput(format!(
            "provider {} always uses {f}, not {g}: drop --registry or use --provider custom",
            provider.as_str()
        ))),
        (Some(g), None) => Ok(g),
        (None, Some(f)) => Ok(f),
        (None, None) => Err(Error::BadInput(format!(
            "provider {} needs --registry HOST[:PORT]",
            provider.as_str()
        ))),
    }
}

fn add(store: &Store, a: AddArgs) -> Result<()> {
    policy::check_name(&a.name).map_err(Error::BadInput)?;
    let projects = check_projects(&a.projects)?;
    let key = registry_for(a.provider, a.registry.as_deref())?;
    let gcr = matches!(
        a.provider,
        Provider::Gcr | Provider::GcrUs | Provider::GcrEu | Provider::GcrAsia
    );
    // Said after the save, so a failure stays the one line on stderr.
    let mut notes: Vec<String> = Vec::new();
    let (username, secret) = match &a.keyfile {
        Some(_) if !gcr => {
            return Err(Error::BadInput(format!(
                "--keyfile is for the gcr providers, not {}: use --password-stdin or --password-file",
                a.provider.as_str()
            )));
        }
        Some(path) => {
            let key_file = keyfile::read(path)?;
            let username = a
                .username
                .unwrap_or_else(|| keyfile::JSON_KEY_USER.to_string());
            notes.push(format!(
                "keyfile: service account {}",
                key_file.client_email
            ));
            if username != keyfile::JSON_KEY_USER {
                notes.push(format!(
                    "warning: GCR takes a keyfile with the user name {}, not {username:?}",
                    keyfile::JSON_KEY_USER
                ));
            }
            (username, key_file.secret)
        }
        None => {
            let username = a
                .username
                .expect("BUG: clap requires --username without --keyfile");
            let label = format!("Password or token for {username} at {key}");
            let source = match (&a.password_file, a.password_stdin) {
                (Some(path), _) => Source::File(path),
                (None, true) => Source::Stdin,
                (None, false) => Source::Prompt { label: &label },
            };
            let secret = secret_input::read(source)?;
            if gcr && username == keyfile::JSON_KEY_USER {
                // The check --keyfile makes, for a key piped in: a warning here, like the
                // token checks, since only --keyfile says "this is a service-account key".
                if let Err(why) = keyfile::check(secret.expose()) {
                    notes.push(format!("warning: the secret for {username} {why}"));
                }
            } else if let Some(w) = secret_input::shape_warning(a.provider, &secret) {
                notes.push(format!("warning: {w}"));
            }
            (username, secret)
        }
    };
    if username.is_empty() {
        return Err(Error::BadInput(
            "--username is empty: give the registry user name".into(),
        ));
    }
    if a.verify {
        let accepted = verify::verify(key.as_str(), &username, &secret, &a.verify_opts.options())?;
        println!("{accepted}");
    }
    let backend = backend::for_new_secrets(store)?;
    let now = now_rfc3339();
    let cred = Credential {
        id: new_id(),
        name: a.name.clone(),
        description: a.description,
        provider: a.provider,
        registry: key.as_str().to_string(),
        username,
        backend,
        secret: None,
        restrictions: Restrictions::to_projects(projects),
        created: now.clone(),
        updated: now,
    };
    let scope = cred.restrictions.scope();
    store.write(|tx| {
        if tx.all()?.iter().any(|c| c.name == cred.name) {
            return Err(Error::Conflict(format!(
                "a credential named {:?} already exists: choose another name, or remove it with `rm` first",
                cred.name
            )));
        }
        let creds = tx.registry(key.as_str())?;
        creds.push(cred);
        policy::check_unambiguous(key.as_str(), creds.iter().map(|c| (c.name.as_str(), &c.restrictions)))
            .map_err(Error::Conflict)?;
        // Last, so a refused save leaves no keychain item behind.
        let cred = creds.last_mut().expect("BUG: just pushed");
        backend::put_secret(cred, secret)
    })?;
    println!("saved {:?} for {key} ({scope})", a.name);
    for note in notes {
        eprintln!("{note}");
    }
    hint_configure(&key);
    Ok(())
}

/// After a save, says how to make docker use it if its config does not yet.
fn hint_configure(key: &host::Key) {
    if !configure::docker_wired(key) {
        eprintln!(
            "hint: docker does not send {key} to this helper yet: run `docker-credential-northflank configure`"
        );
    }
}

/// A credential as `ls --json` shows it: everything but the secret.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    description: &'a str,
    provider: &'a str,
    registry: &'a str,
    username: &'a str,
    restricted: bool,
    projects: &'a [String],
    backend: Backend,
    created: &'a str,
    updated: &'a str,
}

fn ls(store: &Store, a: LsArgs) -> Result<()> {
    let project = a
        .project
        .map(|p| check_projects(&[p]))
        .transpose()?
        .and_then(|mut v| v.pop());
    let all = store.summaries()?;
    let mut rows: Vec<&Credential> = match project.as_deref() {
        // Exactly what `get` would serve to that project: one credential per registry.
        Some(p) => all
            .values()
            .filter_map(|creds| policy::select(creds, |c| &c.restrictions, Some(p)))
            .collect(),
        None => all.values().flatten().collect(),
    };
    rows.sort_by(|x, y| x.name.cmp(&y.name));
    if a.json {
        let listed: Vec<Listed> = rows
            .iter()
            .map(|c| Listed {
                name: &c.name,
                description: &c.description,
                provider: c.provider.as_str(),
                registry: &c.registry,
                username: &c.username,
                restricted: c.restrictions.restricted,
                projects: &c.restrictions.projects,
                backend: c.backend,
                created: &c.created,
                updated: &c.updated,
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&listed).expect("BUG: listing serialises")
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!(
            "no saved credentials{}",
            project
                .map(|p| format!(" visible to project {p}"))
                .unwrap_or_default()
        );
        return Ok(());
    }
    let header = [
        "NAME",
        "PROVIDER",
        "REGISTRY",
        "USERNAME",
        "RESTRICTED TO",
        "UPDATED",
    ];
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.provider.as_str().to_string(),
                c.registry.clone(),
                c.username.clone(),
                c.restrictions.describe(),
                c.updated.clone(),
            ]
            .map(|cell| printable(&cell))
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let print_row = |cells: &[&str]| {
        let line: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    };
    print_row(&header);
    for row in &table {
        print_row(&row.each_ref().map(String::as_str));
    }
    Ok(())
}

/// Finds the registry of the credential called `name`.
fn registry_of(tx: &mut crate::store::Tx, name: &str) -> Result<String> {
    tx.all()?
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.registry.clone())
        .ok_or_else(|| {
            Error::BadInput(format!(
                "no credential named {name:?}: see `docker-credential-northflank ls`"
            ))
        })
}

/// A table cell with control characters escaped, so a username saved by `docker login` or an
/// import cannot move the cursor or recolour the terminal.
fn printable(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The credential called `name` in one registry's list, for changing it.
fn named<'a>(creds: &'a mut [Credential], name: &str) -> Result<&'a mut Credential> {
    creds.iter_mut().find(|c| c.name == name).ok_or_else(|| {
        Error::Conflict(format!(
            "credential {name:?} changed while reading it; try again"
        ))
    })
}

fn rm(store: &Store, name: &str) -> Result<()> {
    let (registry, removed) = store.write(|tx| {
        let registry = registry_of(tx, name)?;
        let creds = tx.registry(&registry)?;
        let i = creds.iter().position(|c| c.name == name);
        let removed = i.map(|i| creds.remove(i));
        if let Some(cred) = &removed {
            backend::before_removing(tx, cred)?;
        }
        Ok((registry, removed))
    })?;
    // After the commit: a crash can only leave an unused keychain item, never a record
    // whose secret is gone.
    removed.iter().for_each(backend::discard);
    println!("removed {name:?} ({registry})");
    Ok(())
}

fn restrict(store: &Store, a: RestrictArgs) -> Result<()> {
    let restrictions = if a.unrestricted {
        Restrictions::unrestricted()
    } else {
        Restrictions::to_projects(check_projects(&a.projects)?)
    };
    let scope = restrictions.scope();
    store.write(|tx| {
        let registry = registry_of(tx, &a.name)?;
        let creds = tx.registry(&registry)?;
        let cred = named(creds, &a.name)?;
        cred.restrictions = restrictions;
        cred.updated = now_rfc3339();
        policy::check_unambiguous(
            &registry,
            creds.iter().map(|c| (c.name.as_str(), &c.restrictions)),
        )
        .map_err(Error::Conflict)
    })?;
    println!("{:?} is now available to {scope}", a.name);
    Ok(())
}

fn rename(store: &Store, old: &str, new: &str) -> Result<()> {
    policy::check_name(new).map_err(Error::BadInput)?;
    let registry = store.write(|tx| {
        if old != new && tx.all()?.iter().any(|c| c.name == new) {
            return Err(Error::Conflict(format!(
                "a credential named {new:?} already exists: choose another name"
            )));
        }
        let registry = registry_of(tx, old)?;
        let cred = named(tx.registry(&registry)?, old)?;
        cred.name = new.to_string();
        cred.updated = now_rfc3339();
        Ok(registry)
    })?;
    println!("renamed {old:?} to {new:?} ({registry})");
    Ok(())
}

/// Import files are small; this bounds what `-` reads from a pipe.
const MAX_IMPORT: u64 = 4 * 1024 * 1024;

fn import_docker_config(store: &Store, a: ImportArgs) -> Result<()> {
    use std::io::Read;
    let projects = check_projects(&a.projects)?;
    let restrictions = Restrictions::to_projects(projects);
    let (source, mut reader): (String, Box<dyn Read>) = if a.file.as_os_str() == "-" {
        ("stdin".to_string(), Box::new(std::io::stdin()))
    } else {
        let shown = a.file.display().to_string();
        let f = std::fs::File::open(&a.file)
            .map_err(|e| Error::BadInput(format!("cannot read {shown}: {e}")))?;
        (shown, Box::new(f))
    };
    let mut text = Vec::new();
    reader
        .by_ref()
        .take(MAX_IMPORT + 1)
        .read_to_end(&mut text)
        .map_err(|e| Error::BadInput(format!("cannot read {source}: {e}")))?;
    if text.len() as u64 > MAX_IMPORT {
        return Err(Error::BadInput(format!(
            "{source} is larger than 4 MiB, so it is not a Docker config.json"
        )));
    }
    let report = import::run(store, &source, &text, &restrictions, a.dry_run)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for line in &report.lines {
        println!("{line}");
    }
    if report.lines.is_empty() {
        println!("nothing to import: {source} holds no credentials");
    }
    if a.dry_run {
        println!("dry run: nothing was saved");
    }
    if report.failed > 0 {
        return Err(Error::BadInput(format!(
            "{} entr{} could not be imported (see above){}",
            report.failed,
            if report.failed == 1 { "y" } else { "ies" },
            if report.saved > 0 && !a.dry_run {
                "; the others were saved"
            } else {
                ""
            }
        )));
    }
    if report.saved > 0 && !a.dry_run {
        println!(
            "next: run `docker-credential-northflank configure` so docker and podman use them"
        );
    }
    Ok(())
}

fn run_configure(store: &Store, a: ConfigureArgs) -> Result<()> {
    let extra = a
        .registries
        .iter()
        .map(|r| {
            host::normalize(r)
                .map_err(|e| Error::BadInput(format!("invalid --registry {r:?}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let opts = configure::Options {
        dry_run: a.dry_run,
        remove: a.remove,
        force: a.force,
        extra,
    };
    let outcome = configure::run(store, &opts)?;
    for line in &outcome.lines {
        println!("{line}");
    }
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn run_doctor(store: &Store) -> Result<()> {
    let checks = doctor::run(store);
    let mut failed = 0;
    for c in &checks {
        let tag = match c.status {
            doctor::Status::Ok => "ok  ",
            doctor::Status::Warn => "warn",
            doctor::Status::Fail => {
                failed += 1;
                "FAIL"
            }
        };
        match &c.fix {
            Some(fix) => println!("{tag}  {} — fix: {fix}", c.text),
            None => println!("{tag}  {}", c.text),
        }
    }
    if failed > 0 {
        return Err(Error::BadInput(format!(
            "doctor found {failed} problem(s): apply the fixes above"
        )));
    }
    println!("everything looks right");
    Ok(())
}

fn run_migrate(store: &Store, to: Backend) -> Result<()> {
    let report = crate::cli::migrate::migrate(store, to)?;
    for name in &report.moved {
        println!("moved {name:?} to {}", to.as_str());
    }
    for line in &report.stale {
        eprintln!("docker-credential-northflank: warning: old keychain item left behind: {line}");
    }
    if !report.changed.is_empty() {
        return Err(Error::Conflict(format!(
            "{} changed while migrating ({}); run `migrate --to {}` again",
            report.changed.len(),
            report.changed.join(", "),
            to.as_str()
        )));
    }
    println!(
        "{} moved, {} already there; new secrets now go to {}",
        report.moved.len(),
        report.already,
        to.as_str()
    );
    Ok(())
}

/// Whether `arg` names a management command (so `main` routes it here).
pub fn is_command(arg: &str) -> bool {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == arg)
}

fn export(store: Store, a: ExportArgs) -> Result<()> {
    let ctx = Context {
        store,
        project: Some(check_project(&a.project)?),
    };
    let mut entries = Vec::new();
    for summary in serve::served(&ctx)? {
        let cred = serve::with_secret(&ctx, &summary)?;
        let secret = serve::secret_of(&cred)?;
        entries.push(kube::Entry {
            key: cred.registry,
            username: cred.username,
            secret,
        });
    }
    let text = match a.format {
        ExportFormat::DockerConfig => kube::docker_config(&entries),
        ExportFormat::KubernetesSecret => {
            let format = if a.json {
                kube::ManifestFormat::Json
            } else {
                kube::ManifestFormat::Yaml
            };
            kube::kubernetes_secret(&entries, &a.name, a.namespace.as_deref(), format)?
        }
    };
    eprintln!(
        "warning: this output contains the registry secrets of {} credential(s) for project {}: keep it private",
        entries.len(),
        a.project
    );
    match a.output {
        None => print!("{text}"),
        Some(path) => write_private(&path, text.as_bytes())?,
    }
    Ok(())
}

/// Writes a file only its owner can read, also when it already existed.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let fail = |e: std::io::Error| Error::BadInput(format!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
        }
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(fail)
}

/// The kubelet exec plugin: one request on stdin, one response on stdout.
fn kubelet(store: Store) -> Result<()> {
    let ctx = Context {
        store,
        project: policy::project_from_env(std::env::var_os(policy::PROJECT_ENV).as_deref()),
    };
    let request = read_input(&mut std::io::stdin().lock())?;
    let answer = kube::kubelet_response(&request, |registry: &str| -> Result<_> {
        let Ok(key) = host::normalize(registry) else {
            return Ok(None);
        };
        let Some(cred) = serve::served_for(&ctx, &key)? else {
            return Ok(None);
        };
        let secret = serve::secret_of(&cred)?;
        Ok(Some((cred.username, secret)))
    })?;
    print!("{answer}");
    Ok(())
}

fn kubelet_config(store: Store, project: Option<String>) -> Result<()> {
    let project = match project {
        Some(p) => Some(check_project(&p)?),
        None => policy::project_from_env(std::env::var_os(policy::PROJECT_ENV).as_deref()),
    };
    let dir = store.dir().to_string_lossy().into_owned();
    let ctx = Context {
        store,
        project: project.clone(),
    };
    let hosts: Vec<String> = serve::served(&ctx)?
        .into_iter()
        .map(|c| c.registry)
        .collect();
    print!(
        "{}",
        kube::provider_config(&hosts, project.as_deref(), Some(&dir))?
    );
    Ok(())
}

/// `verify NAME|HOST`: a name picks that credential; a host picks what `get` serves here.
fn verify_saved(store: Store, target: &str, opts: &VerifyArgs) -> Result<()> {
    let by_name = store
        .all()?
        .into_values()
        .flatten()
        .find(|c| c.name == target);
    // A host keeps the caller's spelling, so `verify http://localhost:5000` asks over http.
    let registry = by_name
        .as_ref()
        .map_or(target, |c| c.registry.as_str())
        .to_string();
    let cred = match by_name {
        Some(c) => c,
        None => {
            let key = host::normalize(target).map_err(|e| {
                Error::BadInput(format!(
                    "{target:?} is neither a saved credential's name nor a registry ({e})"
                ))
            })?;
            let project =
                policy::project_from_env(std::env::var_os(policy::PROJECT_ENV).as_deref());
            let ctx = Context { store, project };
            serve::served_for(&ctx, &key)?.ok_or_else(|| {
                Error::BadInput(format!(
                    "no credential for {key} in this context: see `docker-credential-northflank ls`"
                ))
            })?
        }
    };
    let secret = serve::secret_of(&cred)?;
    let accepted = verify::verify(&registry, &cred.username, &secret, &opts.options())?;
    println!("{:?} ({}): {accepted}", cred.name, cred.registry);
    Ok(())
}
