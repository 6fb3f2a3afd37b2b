//! The management commands (`add`, `ls`, `rm`, `restrict`, `migrate`), for people and scripts.
//!
//! They share the executable with the protocol verbs but never change how those behave.
//! Output goes to stdout; errors are returned to `main`, which prints them on stderr.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::backend;
use crate::credential::{Backend, Credential, Provider, new_id, now_rfc3339};
use crate::error::{Error, Result};
use crate::host;
use crate::policy::{self, Restrictions};
use crate::secret::Secret;
use crate::serve::{self, Context, read_input};
use crate::store::Store;
use crate::{kube, verify};

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
    /// Print a kubelet CredentialProviderConfig for the saved registries.
    KubeletConfig {
        /// The project the kubelet pulls for (becomes NORTHFLANK_PROJECT in the plugin's env).
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
struct AddArgs {
    /// A name: 3-39 letters, digits, single hyphens or spaces, starting with a letter.
    name: String,
    /// The registry provider.
    #[arg(long, value_enum)]
    provider: Provider,
    /// HOST[:PORT] of the registry; required for custom and self-hosted GitLab.
    #[arg(long, value_name = "HOST[:PORT]")]
    registry: Option<String>,
    /// The registry user name.
    #[arg(long)]
    username: String,
    /// Read the password or token from stdin.
    #[arg(long, group = "secret_source")]
    password_stdin: bool,
    /// Read the password or token from a file.
    #[arg(long, value_name = "FILE", group = "secret_source")]
    password_file: Option<PathBuf>,
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
    /// Trust this CA certificate (PEM) too, for a registry with a private CA.
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
    /// Show only what this project can use.
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
        Command::Export(a) => export(store, a),
        Command::Kubelet => kubelet(store),
        Command::Verify { target, opts } => verify_saved(store, &target, &opts),
        Command::KubeletConfig { project } => kubelet_config(store, project),
        Command::Migrate { to } => migrate(&store, to),
    }
}

/// clap's errors are several lines with usage; keep the one that says what was wrong.
fn first_line(msg: &str) -> String {
    let line = msg.lines().next().unwrap_or("invalid arguments");
    let line = line.strip_prefix("error: ").unwrap_or(line);
    format!("{line} (see --help)")
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

/// Reads a secret from stdin or a file, dropping the one line break a shell or editor adds.
fn read_secret(from_stdin: bool, file: Option<&PathBuf>) -> Result<Secret> {
    let bytes = match (from_stdin, file) {
        (true, _) => read_input(&mut std::io::stdin().lock())?,
        (false, Some(path)) => {
            let mut f = std::fs::File::open(path).map_err(|e| {
                Error::BadInput(format!("cannot read password file {}: {e}", path.display()))
            })?;
            read_input(&mut f)?
        }
        (false, None) => {
            return Err(Error::BadInput(
                "no secret given: use --password-stdin or --password-file FILE (secrets are never taken from arguments)".into(),
            ));
        }
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::BadInput("the password is not valid UTF-8".into()))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(Error::BadInput("the password is empty".into()));
    }
    Ok(Secret::new(text))
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
    let secret = read_secret(a.password_stdin, a.password_file.as_ref())?;
    if a.verify {
        let accepted =
            verify::verify(key.as_str(), &a.username, &secret, &a.verify_opts.options())?;
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
        username: a.username,
        backend,
        secret: None,
        restrictions: Restrictions::to_projects(projects),
        created: now.clone(),
        updated: now,
    };
    let scope = cred.restrictions.describe();
    store.write(|tx| {
        if tx.all()?.iter().any(|c| c.name == cred.name) {
            return Err(Error::Conflict(format!(
                "a credential named {:?} already exists: choose another name or remove it with `rm`",
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
    let scope = if scope == "-" {
        "all projects".to_string()
    } else {
        format!("projects {scope}")
    };
    println!("saved {:?} for {key} ({scope})", a.name);
    Ok(())
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
    let mut rows: Vec<&Credential> = all
        .values()
        .flatten()
        .filter(|c| project.is_none() || c.restrictions.visible_to(project.as_deref()))
        .collect();
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

fn rm(store: &Store, name: &str) -> Result<()> {
    let registry = store.write(|tx| {
        let registry = registry_of(tx, name)?;
        let creds = tx.registry(&registry)?;
        if let Some(cred) = creds.iter().find(|c| c.name == name) {
            // The keychain item goes first: if the keychain refuses, nothing is removed.
            backend::remove_secret(cred)?;
        }
        creds.retain(|c| c.name != name);
        Ok(registry)
    })?;
    println!("removed {name:?} ({registry})");
    Ok(())
}

fn restrict(store: &Store, a: RestrictArgs) -> Result<()> {
    let restrictions = if a.unrestricted {
        Restrictions::unrestricted()
    } else {
        Restrictions::to_projects(check_projects(&a.projects)?)
    };
    let scope = restrictions.describe();
    store.write(|tx| {
        let registry = registry_of(tx, &a.name)?;
        let creds = tx.registry(&registry)?;
        let cred = creds
            .iter_mut()
            .find(|c| c.name == a.name)
            .expect("BUG: found above");
        cred.restrictions = restrictions;
        cred.updated = now_rfc3339();
        policy::check_unambiguous(
            &registry,
            creds.iter().map(|c| (c.name.as_str(), &c.restrictions)),
        )
        .map_err(Error::Conflict)
    })?;
    let scope = if scope == "-" {
        "all projects".to_string()
    } else {
        format!("projects {scope}")
    };
    println!("{:?} is now available to {scope}", a.name);
    Ok(())
}

fn migrate(store: &Store, to: Backend) -> Result<()> {
    let report = crate::migrate::migrate(store, to)?;
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
    let project = project.as_deref().map(check_project).transpose()?;
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
