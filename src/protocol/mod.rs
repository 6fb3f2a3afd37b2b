//! The five protocol verbs, run against the store under the current project's view.
//!
//! Every verb sees only what the project may use (see [`crate::policy`]): a hidden credential
//! does not exist for `get`, `list`, `erase` or `store`. Answers are returned as the exact
//! bytes to print; the caller owns stdout.

use std::collections::BTreeMap;
use std::io::Read;

use crate::credential::{Credential, Provider, new_id, now_rfc3339};
use crate::error::{Error, Result};
use crate::host::{self, Key};
use crate::policy::{self, Restrictions};
use crate::store::backend;
pub mod codec;

use crate::store::Store;
pub use codec::Verb;
use codec::{self as wire, MAX_INPUT};

/// What a verb runs against: the store and the current project.
pub struct Context {
    pub store: Store,
    pub project: Option<String>,
}

/// Runs one verb; returns what to print on stdout.
pub fn run(verb: Verb, stdin: &mut dyn Read, ctx: &Context) -> Result<String> {
    match verb {
        Verb::Get => get(&wire::server_from_stdin(&read_input(stdin)?)?, ctx),
        Verb::Store => store(wire::parse_store(&read_input(stdin)?)?, ctx).map(|()| String::new()),
        Verb::Erase => {
            erase(&wire::server_from_stdin(&read_input(stdin)?)?, ctx).map(|()| String::new())
        }
        Verb::List => list(ctx),
        Verb::Version => Ok(version_line()),
    }
}

/// `docker-credential-northflank (<package>) <version>`, as `credentials.Serve` prints it.
pub fn version_line() -> String {
    format!(
        "docker-credential-northflank (github.com/northflank/docker-credential-northflank) v{}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Reads all of stdin, refusing more than [`MAX_INPUT`] bytes.
pub fn read_input(stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    stdin
        .take(MAX_INPUT as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::BadInput(format!("cannot read stdin: {e}")))?;
    if buf.len() > MAX_INPUT {
        return Err(Error::BadInput(format!(
            "input on stdin is larger than {} KiB; send one server address or one credentials JSON object",
            MAX_INPUT / 1024
        )));
    }
    Ok(buf)
}

/// Normalises a server string for a lookup. A string that is no registry names nothing that
/// could be saved, so lookups treat it as not found (clients then carry on anonymously) and
/// say why on stderr.
fn lookup_key(server: &str, outcome: &str) -> Option<Key> {
    match host::normalize(server) {
        Ok(key) => Some(key),
        Err(e) => {
            diagnose(&format!("not a registry address ({e}); {outcome}"));
            None
        }
    }
}

/// One line on stderr. Clients pass stderr to the user's terminal and never parse it.
#[allow(clippy::print_stderr)]
fn diagnose(msg: &str) {
    eprintln!("docker-credential-northflank: {msg}");
}

fn get(server: &str, ctx: &Context) -> Result<String> {
    let key = lookup_key(server, "answering not found").ok_or(Error::NotFound)?;
    let cred = served_for(ctx, &key)?.ok_or(Error::NotFound)?;
    let secret = secret_of(&cred)?;
    Ok(wire::encode_get(server, &cred.username, &secret))
}

/// The credential `get` serves for `key` in this context. When credentials exist but all are
/// hidden from this project, says so on stderr (never which projects, never a secret).
pub fn served_for(ctx: &Context, key: &Key) -> Result<Option<Credential>> {
    let mut creds = ctx.store.registry(key)?;
    match policy::position(&creds, |c| &c.restrictions, ctx.project.as_deref()) {
        Some(i) => Ok(Some(creds.swap_remove(i))),
        None => {
            if !creds.is_empty() {
                let project = ctx.project.as_deref().unwrap_or("unset or invalid");
                diagnose(&format!(
                    "{key} has credentials only for other projects ({}={project})",
                    policy::PROJECT_ENV
                ));
            }
            Ok(None)
        }
    }
}

/// Every credential `get` would serve in this context, one per registry key, **without
/// secrets**: what `list` shows and `export` writes (after [`with_secret`]).
pub fn served(ctx: &Context) -> Result<Vec<Credential>> {
    let project = ctx.project.as_deref();
    Ok(ctx
        .store
        .summaries()?
        .into_values()
        .filter_map(|mut creds| {
            let i = policy::position(&creds, |c| &c.restrictions, project)?;
            Some(creds.swap_remove(i))
        })
        .collect())
}

/// The full record (secret included) of a credential listed by [`served`]: read again from
/// its registry file, where the project's choice is made again, so a secret is only ever handed
/// out by the same rule `get` applies.
pub fn with_secret(ctx: &Context, summary: &Credential) -> Result<Credential> {
    let key = host::normalize(&summary.registry).map_err(|e| {
        Error::Store(format!(
            "the store holds an invalid registry key {:?} ({e})",
            summary.registry
        ))
    })?;
    served_for(ctx, &key)?
        .filter(|c| c.name == summary.name)
        .ok_or_else(|| {
            Error::Store(format!(
                "credential {:?} changed while reading it; try again",
                summary.name
            ))
        })
}

pub use crate::store::backend::secret_of;

fn store(input: wire::Credentials, ctx: &Context) -> Result<()> {
    let key = host::normalize(&input.server_url).map_err(|e| {
        Error::BadInput(format!(
            "cannot store credentials for {:?}: {e}",
            host::redacted(&input.server_url)
        ))
    })?;
    let project = ctx.project.as_deref();
    // Decided before taking the lock: the first save may probe the keychain and record the pick.
    let backend = backend::for_new_secrets(&ctx.store)?;
    let replaced = ctx.store.write(|tx| {
        if backend == crate::credential::Backend::Keyring {
            backend::sweep_orphans(tx);
        }
        let now = now_rfc3339();
        let creds = tx.registry(key.as_str())?;
        if let Some(i) = policy::position(creds, |c| &c.restrictions, project) {
            let cred = &mut creds[i];
            // An update stays on the credential's own backend; only `migrate` moves secrets.
            let replaced = backend::replace_secret(cred, input.secret)?;
            cred.username = input.username;
            cred.updated = now;
            return Ok(replaced);
        }
        let taken: Vec<String> = tx.all()?.into_iter().map(|c| c.name).collect();
        let mut cred = Credential {
            id: new_id(),
            name: login_name(&key, &taken),
            description: "saved by docker login".to_string(),
            provider: Provider::guess(&key),
            registry: key.as_str().to_string(),
            username: input.username,
            backend,
            secret: None,
            restrictions: Restrictions::unrestricted(),
            created: now.clone(),
            updated: now,
        };
        backend::put_secret(&mut cred, input.secret)?;
        tx.registry(key.as_str())?.push(cred);
        Ok(None)
    })?;
    replaced.iter().for_each(backend::discard);
    Ok(())
}

/// A unique, valid name for a credential created by `docker login`: `login-ghcr-io`,
/// `login-127-0-0-1-5000-2`, …
fn login_name(key: &Key, taken: &[String]) -> String {
    policy::generated_name("login", key, taken)
}

fn erase(server: &str, ctx: &Context) -> Result<()> {
    let Some(key) = lookup_key(server, "nothing to erase") else {
        return Ok(());
    };
    let project = ctx.project.as_deref();
    // Most erases (docker logout tries four spellings) find nothing: answer without a lock.
    if policy::select(&ctx.store.registry(&key)?, |c| &c.restrictions, project).is_none() {
        return Ok(());
    }
    let removed = ctx.store.write(|tx| {
        let creds = tx.registry(key.as_str())?;
        let Some(i) = policy::position(creds, |c| &c.restrictions, project) else {
            return Ok(None);
        };
        let cred = creds.remove(i);
        backend::before_removing(tx, &cred)?;
        Ok(Some(cred))
    })?;
    // The record goes first, so a crash can only leave an unused keychain item (swept by the
    // next keychain write), never a record whose secret is gone.
    removed.iter().for_each(backend::discard);
    Ok(())
}

fn list(ctx: &Context) -> Result<String> {
    let entries: BTreeMap<String, String> = served(ctx)?
        .into_iter()
        .map(|c| (c.registry, c.username))
        .collect();
    Ok(wire::encode_list(&entries))
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
            let name = login_name(&host::normalize(server).unwrap(), &[]);
            assert_eq!(name, want);
            policy::check_name(&name).unwrap();
        }
        let key = host::normalize("ghcr.io").unwrap();
        let taken = vec!["login-ghcr-io".to_string(), "login-ghcr-io-2".to_string()];
        assert_eq!(login_name(&key, &taken), "login-ghcr-io-3");
    }
}
