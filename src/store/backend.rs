//! Where secrets live: inline in the file store, or in the OS keychain (SPEC §5).
//!
//! The choice is made once and written down, twice over:
//!
//! - **per store**, `store.json`'s `backend` says where *new* credentials put their secret.
//!   `NORTHFLANK_CREDENTIAL_BACKEND=file|keyring` overrides it for one call; when neither is
//!   set, the first save picks the keychain if one answers, otherwise the file store with a
//!   one-line notice on stderr, and records the pick. So a later call from cron, CI or SSH,
//!   where no keychain answers, keeps using the keychain (and says clearly that it cannot
//!   reach it) instead of quietly saving elsewhere.
//! - **per credential**, [`Credential::backend`] says where *its* secret is. Reads follow it
//!   and never guess: a locked Secret Service collection answers "no such item", which must
//!   not read as "never saved". Updates keep a credential where it is; only `migrate` moves
//!   secrets (see [`crate::cli::migrate`]).
//!
//! Nothing here touches the keychain for a file-backed credential, so `get` on the file
//! backend costs what it cost before the keychain existed.

use crate::credential::{Backend, Credential};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::keychain;
use crate::store::{FORMAT_VERSION, Meta, Store};

/// Overrides the recorded backend for new secrets: `file` or `keyring`.
pub const ENV: &str = "NORTHFLANK_CREDENTIAL_BACKEND";

/// The backend named by [`ENV`], if set.
pub fn from_env() -> Result<Option<Backend>> {
    match std::env::var(ENV) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) if v == "file" => Ok(Some(Backend::File)),
        Ok(v) if v == "keyring" => Ok(Some(Backend::Keyring)),
        _ => Err(Error::BadInput(format!(
            "{ENV} must be file or keyring (or unset to use the recorded choice)"
        ))),
    }
}

/// The backend a new credential's secret goes to: [`ENV`], else the store's recorded choice,
/// else the first-save choice, which this records. Call it before [`Store::write`] (it may
/// take the store lock itself).
pub fn for_new_secrets(store: &Store) -> Result<Backend> {
    let meta = match store.meta() {
        Ok(meta) => meta,
        // An unusable store fails with the writer's message (it says what to fix), before
        // any keychain probe or notice.
        Err(read) => {
            store.write(|_| Ok(()))?;
            return Err(read);
        }
    };
    let recorded = meta.and_then(|m| m.backend);
    if let Some(chosen) = from_env()? {
        if recorded.is_none() {
            // Recorded only once it can work, so one failed try does not stick.
            if chosen == Backend::Keyring {
                keychain::probe().map_err(|why| {
                    Error::Keychain(format!(
                        "{ENV}=keyring, but the keychain cannot be used: {why}"
                    ))
                })?;
            }
            record(store, chosen)?;
        }
        return Ok(chosen);
    }
    if let Some(recorded) = recorded {
        return Ok(recorded);
    }
    let chosen = match keychain::probe() {
        Ok(()) => Backend::Keyring,
        Err(why) => {
            notice(&format!(
                "no OS keychain available ({why}); saving secrets UNENCRYPTED in {} \
                 (readable only by you), and recording that choice; set {ENV}=keyring to require \
                 a keychain, or run `docker-credential-northflank migrate --to keyring` later",
                store.dir().display()
            ));
            Backend::File
        }
    };
    record(store, chosen)
}

/// Records `backend` as the store's choice unless another process recorded one first, and
/// returns the choice that stands.
fn record(store: &Store, backend: Backend) -> Result<Backend> {
    store.write(|tx| {
        if let Some(existing) = store.meta()?.and_then(|m| m.backend) {
            return Ok(existing);
        }
        tx.set_meta(Meta {
            version: FORMAT_VERSION,
            backend: Some(backend),
        });
        Ok(backend)
    })
}

/// Makes `backend` the store's choice for new secrets (used by `migrate`).
pub fn set_recorded(store: &Store, backend: Backend) -> Result<()> {
    store.write(|tx| {
        tx.set_meta(Meta {
            version: FORMAT_VERSION,
            backend: Some(backend),
        });
        Ok(())
    })
}

/// One line on stderr for the person at the terminal; clients never parse stderr.
#[allow(clippy::print_stderr)]
fn notice(msg: &str) {
    eprintln!("docker-credential-northflank: {msg}");
}

/// The secret of a credential, from where its record says it is. Touches the keychain
/// (once) only for a keyring-backed credential.
pub fn secret_of(cred: &Credential) -> Result<Secret> {
    match cred.backend {
        Backend::File => cred.secret.clone().ok_or_else(|| {
            Error::Store(format!(
                "credential {:?} has no secret in the store; save it again with `add` or `docker login`",
                cred.name
            ))
        }),
        Backend::Keyring => match keychain::get(&cred.id) {
            Ok(Some(secret)) => Ok(secret),
            // The record says the secret is in the keychain, so a missing item means a locked
            // collection that hides its items, or an item deleted behind our back.
            Ok(None) => Err(Error::Keychain(format!(
                "the keychain has no secret for credential {:?} (service {}, account {}): \
                 unlock the keychain if it is locked, otherwise save the credential again",
                cred.name,
                keychain::SERVICE,
                cred.id
            ))),
            Err(why) => Err(keychain_failed("read", &cred.name, &why)),
        },
    }
}

fn keychain_failed(what: &str, name: &str, why: &str) -> Error {
    Error::Keychain(format!(
        "cannot {what} the secret of credential {name:?} in the keychain: {why}"
    ))
}

/// Saves `secret` where `cred.backend` says, and updates the record to match (inline secret
/// for the file backend, none for the keychain). Call it inside the write transaction that
/// saves `cred`: the keychain is written first, so if it fails nothing is committed.
pub fn put_secret(cred: &mut Credential, secret: Secret) -> Result<()> {
    match cred.backend {
        Backend::File => cred.secret = Some(secret),
        Backend::Keyring => {
            if cred.id.is_empty() {
                cred.id = crate::credential::new_id();
            }
            let label = format!("{}: {} ({})", keychain::SERVICE, cred.name, cred.registry);
            keychain::set(&cred.id, &label, &secret)
                .map_err(|why| keychain_failed("save", &cred.name, &why))?;
            cred.secret = None;
        }
    }
    Ok(())
}

/// Deletes a credential's secret from the keychain, if that is where it is. Call it before
/// the record is removed: if the keychain refuses, the credential stays whole and the user
/// can retry, rather than leaving an orphaned secret behind.
/// Replaces the secret of a saved credential without touching the old copy: a keychain secret
/// goes to a new item, and the old record is returned so its item can be [`discard`]ed once the
/// transaction has committed. If the commit fails, the old record still finds its old item.
pub fn replace_secret(cred: &mut Credential, secret: Secret) -> Result<Option<Credential>> {
    match cred.backend {
        Backend::File => {
            cred.secret = Some(secret);
            Ok(None)
        }
        Backend::Keyring => {
            let old = cred.clone();
            cred.id = crate::credential::new_id();
            put_secret(cred, secret)?;
            Ok(Some(old))
        }
    }
}

/// Deletes the keychain item of a record that is no longer saved (after the commit that
/// dropped it). Best effort: an item left behind is unused, so a failure is a notice, not an
/// error for a change that did happen.
pub fn discard(cred: &Credential) {
    if let Err(e) = remove_secret(cred) {
        notice(&format!(
            "the keychain item of {:?} could not be deleted ({e}); it is unused, delete it with your keychain tool",
            cred.name
        ));
    }
}

/// Call inside the transaction that removes `cred` (its record is deleted first, its secret
/// [`discard`]ed after the commit). For a keyring-backed credential it refuses when the
/// keychain could not delete the secret now (locked, gone) — removing a credential must not
/// leave its secret behind — and sweeps items left by earlier crashes.
pub fn before_removing(tx: &crate::store::Tx, cred: &Credential) -> Result<()> {
    if cred.backend != Backend::Keyring {
        return Ok(());
    }
    keychain::probe().map_err(|why| {
        Error::Keychain(format!(
            "cannot delete the secret of credential {:?} in the keychain: {why}",
            cred.name
        ))
    })?;
    sweep_orphans(tx);
    Ok(())
}

/// Deletes keychain items no credential refers to: left by a writer that died between saving
/// a secret and committing its record, or between committing a removal and deleting the
/// secret. Only when the store can say for sure which ids are in use and the keychain can
/// list every item; call it inside a write transaction that uses the keychain anyway, so no
/// other writer has an item in flight. Best effort.
pub fn sweep_orphans(tx: &crate::store::Tx) {
    if let (Ok(ids), Ok(Some(items))) = (tx.ids(), keychain::items()) {
        for orphan in items.iter().filter(|i| !ids.contains(*i)) {
            let _ = keychain::delete(orphan);
        }
    }
}

pub fn remove_secret(cred: &Credential) -> Result<()> {
    match cred.backend {
        Backend::File => Ok(()),
        Backend::Keyring if cred.id.is_empty() => Ok(()),
        Backend::Keyring => {
            keychain::delete(&cred.id).map_err(|why| keychain_failed("delete", &cred.name, &why))
        }
    }
}
