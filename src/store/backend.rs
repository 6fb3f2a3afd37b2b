//! Where new secrets go: inline in the file store, or in the OS keychain (SPEC §5).
//!
//! The choice is made once and written down, twice over:
//!
//! - **per store**, `store.json`'s `backend` says where *new* credentials put their secret.
//!   `NORTHFLANK_CREDENTIAL_BACKEND=file|keyring` overrides it for one call; when neither is
//!   set, the first save picks the keychain if one answers, otherwise the file store with a
//!   one-line notice on stderr, and records the pick. So a later call from cron, CI or SSH,
//!   where no keychain answers, keeps using the keychain (and says clearly that it cannot
//!   reach it) instead of quietly saving elsewhere.
//! - **per credential**, each record says where *its* secret is. Reads follow it and never
//!   guess: a locked Secret Service collection answers "no such item", which must not read as
//!   "never saved". Updates keep a credential where it is; only `migrate` moves secrets.
//!
//! Nothing here touches the keychain for a file-backed credential, so `get` on the file
//! backend costs what it cost before the keychain existed.

use super::{Store, keychain};
use crate::credential::Backend;
use crate::error::{Error, Result};

/// Overrides the recorded backend for new secrets: `file` or `keyring`.
pub const ENV: &str = "NORTHFLANK_CREDENTIAL_BACKEND";

/// The backend named by [`ENV`], if set.
pub fn from_env() -> Result<Option<Backend>> {
    match std::env::var(ENV) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => v.parse().map(Some).map_err(|_| bad_env()),
        Err(_) => Err(bad_env()),
    }
}

fn bad_env() -> Error {
    Error::BadInput(format!(
        "{ENV} must be file or keyring (or unset to use the recorded choice)"
    ))
}

/// The backend for a new secret given the store's `recorded` choice, and whether that is a
/// choice to record (the first save's). Probes the keychain only when nothing is recorded.
pub(super) fn choose(recorded: Option<Backend>, store: &Store) -> Result<(Backend, bool)> {
    if let Some(chosen) = from_env()? {
        if recorded.is_none() && chosen == Backend::Keyring {
            // Recorded only once it can work, so one failed try does not stick.
            keychain::probe().map_err(|why| {
                Error::Keychain(format!(
                    "{ENV}=keyring, but the keychain cannot be used: {why}"
                ))
            })?;
        }
        return Ok((chosen, recorded.is_none()));
    }
    if let Some(recorded) = recorded {
        return Ok((recorded, false));
    }
    let chosen = match keychain::probe() {
        Ok(()) => Backend::Keyring,
        Err(why) => {
            store.notice(&format!(
                "no OS keychain available ({why}); saving secrets UNENCRYPTED in {} \
                 (readable only by you), and recording that choice; set {ENV}=keyring to require \
                 a keychain, or run `docker-credential-northflank migrate --to keyring` later",
                store.dir().display()
            ));
            Backend::File
        }
    };
    Ok((chosen, true))
}
