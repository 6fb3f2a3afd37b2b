//! The credential-helper protocol: everything a client sees. The verb is the helper's only
//! argument; the answer, and every error, goes to stdout as `credentials.Serve` writes it (see
//! [`codec`] for the bytes). [`run`] is the whole exchange, generic over its input and output,
//! so tests drive it in-process as well as through the binary.
//!
//! Every verb works under the current project's view (see [`crate::policy`]): a credential
//! another project's restriction hides does not exist for `get`, `list` or `erase`, and the
//! protocol's writes stay inside the current project — `store` updates only a credential
//! restricted to this project alone (else creates one), `erase` removes only such a
//! credential (SPEC §4).

pub mod codec;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::time::Instant;

use codec::MAX_INPUT;
pub use codec::Verb;

use crate::credential::{Credential, now_rfc3339};
use crate::error::{Error, Result};
use crate::fsutil::{self, FileError};
use crate::host::{self, Key};
use crate::policy::{self, Project, StoreTarget};
use crate::provider::Provider;
use crate::secret::Secret;
use crate::store::{Exchanged, FetchError, Saved, Store};

/// `Usage: …`, as `credentials.Serve` prints it for a missing verb or extra arguments.
pub const USAGE: &str = "Usage: docker-credential-northflank <store|get|erase|list|version>";

/// What a verb runs against: the store and the current project.
pub struct View {
    pub store: Store,
    pub project: Project,
}

impl View {
    /// The store and project of this process's environment.
    pub fn from_env() -> Result<View> {
        Ok(View {
            store: Store::open_default()?,
            project: Project::current(),
        })
    }
}

/// What the first argument asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Verb(Verb),
    /// `-h`, `--help`, `help`: usage on stdout, exit 0.
    Help,
    /// No verb, or a verb with more arguments: usage, exit 1.
    Usage,
    /// Not a verb and not a management command.
    Unknown(String),
    /// A management command (see [`crate::cli`]).
    Management,
}

impl Call {
    /// Routes the full argv (program name first); `is_command` names the management commands.
    pub fn parse(args: &[OsString], is_command: impl Fn(&str) -> bool) -> Call {
        let Some(first) = args.get(1) else {
            return Call::Usage;
        };
        let first = first.to_string_lossy();
        if let Some(verb) = Verb::parse(&first) {
            return if args.len() == 2 {
                Call::Verb(verb)
            } else {
                Call::Usage
            };
        }
        match first.as_ref() {
            "-h" | "--help" | "help" if args.len() == 2 => Call::Help,
            cmd if is_command(cmd) => Call::Management,
            // `credentials.Serve` answers any argument count but one with its usage line.
            _ if args.len() != 2 => Call::Usage,
            other => Call::Unknown(other.to_string()),
        }
    }
}

/// Answers a protocol call: the answer or the error line on `stdout`, like
/// `credentials.Serve`. Returns the exit code. `view` is opened only for verbs that need the
/// store, so `version` answers even where there is no home folder.
pub fn run(
    call: &Call,
    stdin: impl Read,
    mut stdout: impl Write,
    view: impl FnOnce() -> Result<View>,
) -> u8 {
    let (answer, code) = match call {
        Call::Verb(Verb::Version) => (version_line(), 0),
        Call::Help => (help(), 0),
        Call::Usage => (format!("{USAGE}\n"), 1),
        Call::Unknown(arg) => (
            format!("docker-credential-northflank: unknown action: {arg}\n"),
            1,
        ),
        Call::Verb(verb) => match view().and_then(|v| answer(*verb, stdin, &v)) {
            Ok(bytes) => (bytes, 0),
            Err(e) => (error_line(&e), 1),
        },
        Call::Management => unreachable!("BUG: management commands are not protocol calls"),
    };
    match stdout
        .write_all(answer.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => code,
        Err(e) => {
            crate::term::warn(&format!("cannot write the answer to stdout: {e}"));
            1
        }
    }
}

/// One verb's answer (what to print on success).
pub fn answer(verb: Verb, stdin: impl Read, view: &View) -> Result<String> {
    match verb {
        Verb::Get => get(&codec::server_from_stdin(&read_input(stdin)?)?, view),
        Verb::Store => {
            store(codec::parse_store(&read_input(stdin)?)?, view).map(|()| String::new())
        }
        Verb::Erase => {
            erase(&codec::server_from_stdin(&read_input(stdin)?)?, view).map(|()| String::new())
        }
        Verb::List => list(view),
        Verb::Version => Ok(version_line()),
    }
}

/// An error as the one line clients read.
fn error_line(e: &Error) -> String {
    format!("{}\n", e.to_string().replace(['\n', '\r'], " "))
}

/// `docker-credential-northflank (<package>) <version>`, as `credentials.Serve` prints it.
pub fn version_line() -> String {
    format!(
        "docker-credential-northflank (github.com/northflank/docker-credential-northflank) v{}\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn help() -> String {
    format!(
        "{USAGE}\n\nManage saved credentials: docker-credential-northflank \
         <add|ls|rm|restrict|rename|import-docker-config|sync|configure|doctor|verify|export|kubelet|kubelet-config|migrate|completions> --help\n\
         Environment: NORTHFLANK_PROJECT (current project), NORTHFLANK_CONFIG_DIR (store folder),\n\
         NORTHFLANK_CREDENTIAL_BACKEND (file|keyring: where new secrets go)\n"
    )
}

/// Reads all of stdin, refusing more than [`MAX_INPUT`] bytes.
pub fn read_input(stdin: impl Read) -> Result<Vec<u8>> {
    fsutil::read_limited(stdin, MAX_INPUT as u64).map_err(|e| match e {
        FileError::TooLarge(_) => Error::BadInput(format!(
            "input on stdin is larger than {} KiB; send one server address or one credentials JSON object",
            MAX_INPUT / 1024
        )),
        other => Error::BadInput(format!("cannot read stdin: {other}")),
    })
}

/// Normalises a server string for a lookup. A string that is no registry names nothing that
/// could be saved, so lookups treat it as not found (clients then carry on anonymously) and
/// say why on stderr.
fn lookup_key(server: &str, view: &View, outcome: &str) -> Option<Key> {
    match host::normalize(server) {
        Ok(key) => Some(key),
        Err(e) => {
            view.store
                .notice(&format!("not a registry address ({e}); {outcome}"));
            None
        }
    }
}

fn get(server: &str, view: &View) -> Result<String> {
    let key = lookup_key(server, view, "answering not found").ok_or(Error::NotFound)?;
    let saved = served_for(view, &key)?.ok_or(Error::NotFound)?;
    let (username, secret) = credentials_of(view, &saved)?;
    Ok(codec::encode_get(server, &username, &secret))
}

/// The user name and secret `get` hands out for a served credential: the saved ones, or for
/// a registry that exchanges its secret (ECR), `AWS` and a registry token — cached in the
/// store, so only the first `get` in twelve hours touches the network.
pub fn credentials_of(view: &View, saved: &Saved) -> Result<(String, Secret)> {
    if !saved.provider.exchanges_secret() {
        return Ok((saved.username.clone(), view.store.secret(saved)?));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // One budget for waiting on another `get`'s exchange and for our own: SPEC §10 bounds
    // the whole answer by 10 s.
    let token = view
        .store
        .exchanged_token(saved, now, crate::ecr::TIMEOUT, ecr_token)?;
    Ok((crate::ecr::USERNAME.to_string(), token))
}

fn ecr_token(
    saved: &Saved,
    secret: Secret,
    deadline: Instant,
) -> std::result::Result<Exchanged, FetchError> {
    ecr_exchange(
        &saved.registry,
        &saved.name,
        &saved.username,
        &secret,
        deadline,
    )
}

/// One `GetAuthorizationToken` exchange for an ECR key pair (access key id as the username,
/// secret access key as the secret) of the credential `name` for `registry`, ending by
/// `deadline` (at most [`crate::ecr::TIMEOUT`] from now).
pub fn ecr_exchange(
    registry: &str,
    name: &str,
    key_id: &str,
    secret: &Secret,
    deadline: Instant,
) -> std::result::Result<Exchanged, FetchError> {
    let fail = |error: String, transient: bool| FetchError {
        error: Error::Exchange(error),
        transient,
    };
    let ecr_registry = host::normalize(registry)
        .ok()
        .and_then(|key| crate::ecr::registry(&key))
        .ok_or_else(|| {
            fail(
                format!(
                    "credential {name:?} is an ecr credential, but {registry} is not an ECR registry: save it again for {}",
                    crate::ecr::EXPECTED_FORM
                ),
                false,
            )
        })?;
    let endpoint = crate::ecr::endpoint(&ecr_registry, &crate::ecr::process_env)
        .map_err(|e| fail(e.to_string(), false))?;
    crate::ecr::exchange_until(
        &ecr_registry,
        &endpoint,
        key_id,
        secret,
        std::time::SystemTime::now(),
        deadline,
    )
    .map(|t| Exchanged {
        token: t.token,
        expires_at: t.expires_at,
    })
    .map_err(|e| fail(e.to_string(), e.is_transient()))
}

/// The credential `get` serves for `key` in this context. When credentials exist but all are
/// hidden from this project, says so on stderr (never which projects, never a secret).
pub fn served_for(view: &View, key: &Key) -> Result<Option<Saved>> {
    let mut creds = view.store.registry(key)?;
    match policy::position(&creds, |c| &c.restrictions, view.project.id()) {
        Some(i) => Ok(Some(creds.swap_remove(i))),
        None => {
            if !creds.is_empty() {
                let project = view.project.id().unwrap_or("unset or invalid");
                view.store.notice(&format!(
                    "{key} has credentials only for other projects ({}={project})",
                    policy::PROJECT_ENV
                ));
            }
            Ok(None)
        }
    }
}

/// Every credential `get` would serve in this context, one per registry key, **without
/// secrets**: what `list` shows and `export` writes (after [`served_again`]).
pub fn served(view: &View) -> Result<Vec<Saved>> {
    let project = view.project.id();
    Ok(view
        .store
        .summaries()?
        .into_values()
        .filter_map(|mut creds| {
            let i = policy::position(&creds, |c| &c.restrictions, project)?;
            Some(creds.swap_remove(i))
        })
        .collect())
}

/// A credential listed by [`served`], read again from its registry file, where the project's
/// choice is made again: a secret is only ever handed out by the rule `get` applies.
pub fn served_again(view: &View, summary: &Saved) -> Result<Saved> {
    let key = host::normalize(&summary.registry).map_err(|e| {
        Error::Store(format!(
            "the store holds an invalid registry key {:?} ({e})",
            summary.registry
        ))
    })?;
    served_for(view, &key)?
        .filter(|c| c.id == summary.id)
        .ok_or_else(|| {
            Error::Conflict(format!(
                "credential {:?} changed while reading it; try again",
                summary.name
            ))
        })
}

fn store(input: codec::Credentials, view: &View) -> Result<()> {
    let key = host::normalize(&input.server_url).map_err(|e| {
        Error::BadInput(format!(
            "cannot store credentials for {:?}: {e}",
            host::redacted(&input.server_url)
        ))
    })?;
    view.store.write(|tx| {
        let creds = tx.registry(&key)?;
        match policy::store_target(creds, |c| &c.restrictions, |c| &c.name, &view.project) {
            StoreTarget::Update(i) => {
                let id = creds[i].id.clone();
                tx.replace_login(&id, &input.username, input.secret)
            }
            StoreTarget::Create(restrictions) => {
                let name = free_name(tx, &key)?;
                let now = now_rfc3339();
                let cred = Credential {
                    id: String::new(),
                    name,
                    description: "saved by docker login".to_string(),
                    provider: Provider::guess(&key),
                    registry: key.as_str().to_string(),
                    username: input.username,
                    restrictions,
                    created: now.clone(),
                    updated: now,
                    origin: None,
                };
                tx.insert(cred, input.secret)
            }
            StoreTarget::Refuse(why) => Err(Error::Conflict(why)),
        }
    })
}

/// The first generated name for `key` (`login-ghcr-io`, `login-ghcr-io-2`, …) that no
/// credential has.
fn free_name(tx: &mut crate::store::Tx, key: &Key) -> Result<String> {
    let mut failed = None;
    let name = policy::generated_name("login", key, |n| {
        tx.name_taken(n).unwrap_or_else(|e| {
            failed = Some(e);
            false
        })
    });
    failed.map_or(Ok(name), Err)
}

fn erase(server: &str, view: &View) -> Result<()> {
    let Some(key) = lookup_key(server, view, "nothing to erase") else {
        return Ok(());
    };
    let target = |creds: &[Saved]| {
        policy::erase_target(creds, |c| &c.restrictions, |c| &c.name, &view.project)
    };
    // Most erases (docker logout tries up to four spellings) find nothing: answer without a lock.
    match target(&view.store.registry(&key)?) {
        Ok(Some(_)) => {}
        Ok(None) => return Ok(()),
        Err(why) => {
            view.store.notice(&why);
            return Ok(());
        }
    }
    view.store.write(|tx| {
        let creds = tx.registry(&key)?;
        if let Ok(Some(i)) = target(creds) {
            let id = creds[i].id.clone();
            tx.remove(&id)?;
        }
        Ok(())
    })
}

fn list(view: &View) -> Result<String> {
    let entries: BTreeMap<String, String> = served(view)?
        .into_iter()
        .map(|c| {
            let user = c.provider.served_username(&c.username).to_string();
            (c.registry.clone(), user)
        })
        .collect();
    Ok(codec::encode_list(&entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_are_valid_and_unique() {
        let cases = [
            ("ghcr.io", "login-ghcr-io"),
            ("docker.io", "login-docker-hub"),
            (
                "https://index.docker.io/v1/access-token",
                "login-docker-hub-access-token",
            ),
            ("[::1]:5000", "login-1-5000"),
            ("127.0.0.1:5000", "login-127-0-0-1-5000"),
            (
                "a-very-long-registry-name.example.com:5050",
                "login-a-very-long-registry-name",
            ),
        ];
        for (server, want) in cases {
            let name =
                policy::generated_name("login", &host::normalize(server).unwrap(), |_| false);
            assert_eq!(name, want);
            policy::check_name(&name).unwrap();
        }
        let key = host::normalize("ghcr.io").unwrap();
        let taken = ["login-ghcr-io", "login-ghcr-io-2"];
        let name = policy::generated_name("login", &key, |n| taken.contains(&n));
        assert_eq!(name, "login-ghcr-io-3");
    }
}
