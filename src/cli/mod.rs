//! The management commands, for people and scripts. They share the executable with the
//! protocol verbs but never change how those behave.
//!
//! Each command group has its own file and returns `anyhow::Result`, with context added where
//! an error happens; [`main`] prints the error as one line on stderr and picks the exit code
//! (1, or the code an integration's outcome carries, e.g. `verify`'s). Output goes through
//! [`output`], so a closed pipe or a full disk never panics.

pub mod add;
pub mod completions;
pub mod configure;
pub mod doctor;
pub mod export;
pub mod import;
pub mod manage;
pub mod migrate;
pub mod output;
pub mod verify;

use std::ffi::OsString;

use clap::{CommandFactory, Parser, Subcommand};

use crate::credential::Backend;
use crate::policy;
use crate::provider::Provider;
use crate::store::Store;

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
    Add(add::Args),
    /// List saved credentials (never their secrets).
    Ls(manage::LsArgs),
    /// Remove a saved credential.
    Rm {
        /// The credential's name.
        name: String,
    },
    /// Restrict a credential to projects, or make it available to all.
    Restrict(manage::RestrictArgs),
    /// Rename a saved credential.
    Rename {
        /// The credential's current name.
        old: String,
        /// The new name (3-39 letters, digits, single hyphens or spaces, starting with a letter).
        new: String,
    },
    /// Save the credentials of a Docker config.json ("Authenticate with JSON").
    ImportDockerConfig(import::Args),
    /// Point docker and podman/skopeo/buildah at this helper for every saved registry.
    Configure(configure::Args),
    /// Check the installation, the config files, the store and the current project.
    Doctor,
    /// Write the credentials a project may use as a Docker config.json or a Kubernetes Secret.
    Export(export::ExportArgs),
    /// Answer the kubelet's image credential provider protocol (CredentialProviderRequest on stdin).
    Kubelet,
    /// Print a kubelet CredentialProviderConfig for the registries a project is served.
    KubeletConfig {
        /// The project the kubelet pulls for (becomes NORTHFLANK_PROJECT in the plugin's env);
        /// default: NORTHFLANK_PROJECT, else unrestricted credentials only.
        #[arg(long, value_name = "ID")]
        project: Option<String>,
    },
    /// Check a saved credential against its registry (Docker Registry v2 handshake).
    Verify(verify::Args),
    /// Move every secret to the file store or the OS keychain, and make that the default.
    ///
    /// Safe to interrupt: each secret is copied to the target before its record is switched,
    /// and removed from the source only after; run it again to finish.
    Migrate {
        /// Where the secrets should live.
        #[arg(long, value_enum)]
        to: BackendArg,
    },
    /// Print a shell completion script (install.sh installs it).
    Completions {
        #[arg(value_enum)]
        shell: completions::Shell,
    },
    /// Print the man page (roff; install.sh installs it).
    #[command(hide = true)]
    Manpage,
}

/// Runs a management command from the full argv and returns the exit code.
pub fn main(args: Vec<OsString>) -> u8 {
    match run(args) {
        Ok(()) => 0,
        Err(e) => {
            if matches!(e.downcast_ref(), Some(output::OutputError::Closed)) {
                return output::OutputError::CLOSED_EXIT;
            }
            output::warn(&format!("{e:#}").replace(['\n', '\r'], " "));
            exit_code(&e)
        }
    }
}

/// 1, unless an integration's outcome says otherwise (see `docs/errors.md`).
fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(f) = e.downcast_ref::<crate::verify::Failure>() {
        return f.exit_code();
    }
    1
}

fn run(args: Vec<OsString>) -> anyhow::Result<()> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        // `--help`, `--version`: clap's text on stdout, success.
        Err(e) if !e.use_stderr() => {
            return Ok(output::raw(e.render().to_string().as_bytes())?);
        }
        Err(e) => anyhow::bail!("{}", first_line(&e.to_string())),
    };
    // Commands that need no store.
    match cli.command {
        Command::Completions { shell } => return completions::completions(shell),
        Command::Manpage => return completions::manpage(),
        _ => {}
    }
    let store = Store::open_default()?;
    match cli.command {
        Command::Add(a) => add::run(&store, a),
        Command::Ls(a) => manage::ls(&store, a),
        Command::Rm { name } => manage::rm(&store, &name),
        Command::Restrict(a) => manage::restrict(&store, a),
        Command::Rename { old, new } => manage::rename(&store, &old, &new),
        Command::ImportDockerConfig(a) => import::run(&store, a),
        Command::Configure(a) => configure::command(&store, a),
        Command::Doctor => doctor::command(&store),
        Command::Export(a) => export::export(store, a),
        Command::Kubelet => export::kubelet(store),
        Command::KubeletConfig { project } => export::kubelet_config(store, project),
        Command::Verify(a) => verify::run(store, a),
        Command::Migrate { to } => migrate::run(&store, to.0),
        Command::Completions { .. } | Command::Manpage => unreachable!("BUG: answered above"),
    }
}

/// Whether `arg` names a management command (so `main` routes it here).
pub fn is_command(arg: &str) -> bool {
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == arg)
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

/// `--project` values, checked and without duplicates.
fn check_projects(projects: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in projects {
        if !policy::valid_project_id(p) {
            anyhow::bail!("invalid project id {p:?}: use letters, digits and hyphens");
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn check_project(project: &str) -> anyhow::Result<String> {
    Ok(check_projects(&[project.to_string()])?.remove(0))
}

/// `--provider` on the command line: the domain's [`Provider`] with clap's value handling.
#[derive(Debug, Clone, Copy)]
pub struct ProviderArg(pub Provider);

impl clap::ValueEnum for ProviderArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [ProviderArg; Provider::ALL.len()] = {
            let mut all = [ProviderArg(Provider::Custom); Provider::ALL.len()];
            let mut i = 0;
            while i < all.len() {
                all[i] = ProviderArg(Provider::ALL[i]);
                i += 1;
            }
            all
        };
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.as_str()).help(self.0.describe()))
    }
}

/// `--to` of `migrate`.
#[derive(Debug, Clone, Copy)]
pub struct BackendArg(pub Backend);

impl clap::ValueEnum for BackendArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[BackendArg(Backend::File), BackendArg(Backend::Keyring)]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.as_str()))
    }
}
