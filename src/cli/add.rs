//! `add NAME --provider P …`: saves a credential typed in by a person (or a script).
//!
//! Secrets never come from arguments: argv is visible to every user through `ps` and lands in
//! shell history. They come from stdin, a file, or — when a person is at a terminal — a prompt
//! that does not echo (`rpassword`, which reads `/dev/tty` with echo off and restores the
//! terminal afterwards; hand-coding termios would need `unsafe`, which this crate forbids).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::output;
use super::{ProviderArg, check_projects};
use crate::credential::{Credential, now_rfc3339};
use crate::fsutil::{self, FileError};
use crate::policy::{self, Restrictions};
use crate::protocol::codec::MAX_INPUT;
use crate::provider::{self, JSON_KEY_USER};
use crate::secret::Secret;
use crate::store::Store;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --password-stdin, --password-file or --keyfile, the password is asked \
    for on the terminal (not echoed). Secrets are never taken from arguments."
)]
pub struct Args {
    /// A name: 3-39 letters, digits, single hyphens or spaces, starting with a letter.
    name: String,
    /// The registry provider.
    #[arg(long, value_enum)]
    provider: ProviderArg,
    /// HOST[:PORT] of the registry; required for gar, ecr, acr, custom and self-hosted GitLab.
    #[arg(long, value_name = "HOST[:PORT]")]
    registry: Option<String>,
    /// The registry user name (with --keyfile: optional, `_json_key`; for ecr: the access key id).
    #[arg(long, required_unless_present = "keyfile")]
    username: Option<String>,
    /// Read the password or token from stdin.
    #[arg(long, group = "secret_source")]
    password_stdin: bool,
    /// Read the password or token from a file.
    #[arg(long, value_name = "FILE", group = "secret_source")]
    password_file: Option<PathBuf>,
    /// A Google service-account JSON key (gcr and gar providers): checked, then saved as the secret.
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
    reach: super::verify::Reach,
}

pub fn run(store: &Store, a: Args) -> anyhow::Result<()> {
    let provider = a.provider.0;
    policy::check_name(&a.name).map_err(anyhow::Error::msg)?;
    let projects = check_projects(&a.projects)?;
    let key = provider
        .registry(a.registry.as_deref())
        .map_err(anyhow::Error::msg)?;
    // Said after the save, so a failure stays the one line on stderr.
    let mut notes: Vec<String> = Vec::new();
    let (username, secret) = match &a.keyfile {
        Some(_) if !provider.takes_keyfile() => bail!(
            "--keyfile is for the gcr providers (gcr, gcr-us, gcr-eu, gcr-asia) and gar, not {provider}: use --password-stdin or --password-file"
        ),
        Some(path) => {
            let key_file = read_keyfile(path)?;
            let username = a.username.unwrap_or_else(|| JSON_KEY_USER.to_string());
            notes.push(format!(
                "keyfile: service account {}",
                key_file.client_email
            ));
            if username != JSON_KEY_USER {
                let which = if provider == crate::provider::Provider::Gar {
                    "Artifact Registry"
                } else {
                    "GCR"
                };
                notes.push(format!(
                    "warning: {which} takes a keyfile with the user name {JSON_KEY_USER}, not {username:?}"
                ));
            }
            (username, key_file.secret)
        }
        None => {
            let username = a
                .username
                .expect("BUG: clap requires --username without --keyfile");
            let label = format!("Password or token for {username} at {key}");
            let secret = match (&a.password_file, a.password_stdin) {
                (Some(path), _) => read_secret_file(path)?,
                (None, true) => read_secret_stdin()?,
                (None, false) => prompt(&label)?,
            };
            if let Some(w) = provider.shape_warning(&username, &secret) {
                notes.push(format!("warning: {w}"));
            }
            (username, secret)
        }
    };
    if username.is_empty() {
        bail!("--username is empty: give the registry user name");
    }
    if a.verify {
        // An ECR key pair is checked the way it is used: exchanged for a registry token first.
        let (user, checked) = if provider.exchanges_secret() {
            let token = crate::protocol::ecr_exchange(
                key.as_str(),
                &a.name,
                &username,
                &secret,
                std::time::Instant::now() + crate::ecr::TIMEOUT,
            )
            .map_err(|e| e.error)?;
            (crate::ecr::USERNAME.to_string(), token.token)
        } else {
            (username.clone(), secret.clone())
        };
        let accepted = crate::verify::verify(key.as_str(), &user, &checked, &a.reach.options())?;
        output::line(&accepted.to_string())?;
    }
    let now = now_rfc3339();
    let cred = Credential {
        id: String::new(),
        name: a.name.clone(),
        description: a.description,
        provider,
        registry: key.as_str().to_string(),
        username,
        restrictions: Restrictions::to_projects(projects),
        created: now.clone(),
        updated: now,
        origin: None,
    };
    let scope = cred.restrictions.scope();
    store.write(|tx| tx.insert(cred, secret))?;
    output::done([format!("saved {:?} for {key} ({scope})", a.name)]);
    notes.iter().for_each(|n| output::note(n));
    hint_configure(&key);
    Ok(())
}

/// After a save, says how to make docker use it if its config does not yet.
pub fn hint_configure(key: &crate::host::Key) {
    match super::configure::docker_wired(key) {
        Ok(()) => {}
        Err(None) => output::note(&format!(
            "hint: docker does not send {key} to this helper yet: run `docker-credential-northflank configure`"
        )),
        Err(Some(other)) => output::note(&format!(
            "hint: docker sends {key} to docker-credential-{other}, not to this helper: run `docker-credential-northflank configure --force` to take it over"
        )),
    }
}

/// A secret read from a file or stdin, with the one line break a shell or editor adds dropped.
fn secret_from(bytes: Vec<u8>, origin: &str) -> anyhow::Result<Secret> {
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "the password is not valid UTF-8 (read from {origin}): give the secret as UTF-8 text"
        )
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        bail!("the password is empty (read from {origin}): give the registry password or token");
    }
    Ok(Secret::new(text))
}

fn read_secret_stdin() -> anyhow::Result<Secret> {
    let bytes = fsutil::read_limited(std::io::stdin().lock(), MAX_INPUT as u64)
        .map_err(|e| too_large_or(e, "stdin"))?;
    secret_from(bytes, "stdin")
}

fn read_secret_file(path: &Path) -> anyhow::Result<Secret> {
    let shown = format!("password file {}", path.display());
    let bytes = read_named_file(
        path,
        &shown,
        MAX_INPUT as u64,
        "it is not a password or token: give the file that holds only the secret",
    )?;
    secret_from(bytes, &shown)
}

/// A file the user names for a secret may be a pipe (`--password-file <(pass show ghcr)`,
/// `--keyfile <(gcloud …)`): read as a stream, but never more than `max` bytes. Errors say
/// how to point at the right file; `too_large` says what a larger file cannot be.
fn read_named_file(path: &Path, shown: &str, max: u64, too_large: &str) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            anyhow::anyhow!("cannot read {shown}: it does not exist: check the path")
        }
        _ => anyhow::anyhow!("cannot read {shown}: {e}: check the path and the file's permissions"),
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        bail!("{shown} is a directory: give the path of the file itself");
    }
    fsutil::read_limited(file, max).map_err(|e| match e {
        FileError::TooLarge(max) => anyhow::anyhow!("{shown} is larger than {max}, so {too_large}"),
        other => anyhow::anyhow!("cannot read {shown}: {other}"),
    })
}

fn too_large_or(e: FileError, origin: &str) -> anyhow::Error {
    match e {
        FileError::TooLarge(max) => anyhow::anyhow!(
            "{origin} is larger than {max}, so it is not a password or token: give the file that holds only the secret"
        ),
        other => anyhow::anyhow!("cannot read {origin}: {other}"),
    }
}

fn prompt(label: &str) -> anyhow::Result<Secret> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "no secret given: use --password-stdin or --password-file FILE (secrets are never taken from arguments)"
        );
    }
    let text = rpassword::prompt_password(format!("{label}: "))
        .context("cannot read the password from the terminal")?;
    secret_from(text.into_bytes(), "the terminal")
}

/// Reads and checks a keyfile named on the command line.
fn read_keyfile(path: &Path) -> anyhow::Result<provider::Keyfile> {
    /// Keyfiles are a few KiB; anything much larger is not one.
    const MAX_KEYFILE: u64 = 1024 * 1024;
    const GET_ONE: &str =
        "download a JSON key for the service account from the Google Cloud console";
    let shown = format!("keyfile {}", path.display());
    let bytes = read_named_file(
        path,
        &shown,
        MAX_KEYFILE,
        &format!("it is not a service-account key: {GET_ONE}"),
    )?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!("{shown} is not UTF-8 text, so it is not a service-account key: {GET_ONE}")
    })?;
    provider::check_keyfile(&text).map_err(|why| anyhow::anyhow!("{shown} {why}"))
}
