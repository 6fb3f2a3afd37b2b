//! A keychain behind a `keyring-core` credential store: the macOS and Windows stores, and
//! keyring-core's mock in unit tests.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error};

use super::{Keychain, SERVICE, Why};
use crate::secret::Secret;

/// Items are `Entry`s for ([`SERVICE`], account) in one store.
pub(crate) struct Core {
    store: Arc<CredentialStore>,
    /// What to tell the user when the store refuses access (platform-specific advice).
    locked_hint: &'static str,
}

impl Core {
    pub(crate) fn new(store: Arc<CredentialStore>) -> Self {
        Core {
            store,
            locked_hint: "unlock the keychain",
        }
    }

    pub(crate) fn with_locked_hint(mut self, hint: &'static str) -> Self {
        self.locked_hint = hint;
        self
    }

    fn entry(&self, account: &str) -> Result<Entry, Why> {
        Entry::new_in_store(&self.store, SERVICE, account).map_err(|e| self.describe(e))
    }

    /// keyring-core's errors in words. Some variants carry the item's raw bytes
    /// (`BadEncoding`, `BadDataFormat`), so nothing here formats an error with `Debug`.
    fn describe(&self, e: Error) -> Why {
        let fix = crate::store::backend::ENV;
        match e {
            Error::NoStorageAccess(cause) => format!(
                "access refused, the keychain may be locked ({cause}): {}, or set {fix}=file",
                self.locked_hint
            ),
            Error::PlatformFailure(cause) => format!("keychain failure: {cause}"),
            Error::BadEncoding(_) | Error::BadDataFormat(..) => {
                "the keychain item does not hold UTF-8 text; save the credential again".into()
            }
            Error::TooLong(what, max) => {
                format!("the {what} is longer than this keychain allows ({max} bytes)")
            }
            Error::Ambiguous(items) => format!(
                "{} keychain items match one credential; delete the extra ones",
                items.len()
            ),
            Error::NoEntry => "no such keychain item".into(),
            Error::Invalid(what, why) => format!("the keychain refused the {what}: {why}"),
            other => format!("keychain failure: {other}"),
        }
    }
}

impl Keychain for Core {
    fn get(&self, account: &str) -> Result<Option<Secret>, Why> {
        match self.entry(account)?.get_secret() {
            Ok(bytes) => String::from_utf8(bytes)
                .map(|s| Some(Secret::new(s)))
                .map_err(|_| {
                    "the keychain item does not hold UTF-8 text; save the credential again".into()
                }),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(self.describe(e)),
        }
    }

    fn set(&self, account: &str, _label: &str, secret: &Secret) -> Result<(), Why> {
        // Bytes, not a "password": the Windows store keeps passwords as UTF-16, halving the
        // 2,560-byte limit that a GCR keyfile already comes close to.
        self.entry(account)?
            .set_secret(secret.expose().as_bytes())
            .map_err(|e| self.describe(e))
    }

    fn delete(&self, account: &str) -> Result<(), Why> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(self.describe(e)),
        }
    }

    fn probe(&self) -> Result<(), Why> {
        // Reading an item that does not exist exercises access without changing anything.
        self.get("probe-docker-credential-northflank").map(drop)
    }
}
