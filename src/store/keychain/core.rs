//! macOS and Windows: keyring 4's `Entry`, over the one platform store its `v1` feature sets
//! up as the default (the login Keychain, the Credential Manager).
//!
//! keyring offers no way to forbid the system's own dialogs, and macOS may show one (a
//! locked login keychain; an item whose access list names an earlier build of this binary).
//! [`super::TIMEOUT`] bounds such a call like any hung one. The Credential Manager has no
//! lock and no dialog.

use std::sync::Arc;

use keyring::{Entry, Error};

use super::{FILE_BACKEND, Keychain, SERVICE, Why};
use crate::secret::Secret;

/// Items are `Entry`s for ([`SERVICE`], item) in the platform's store.
pub(super) struct Core {
    /// The store, for messages: "the login keychain".
    what: &'static str,
    /// What to tell the user when the store refuses access.
    locked_hint: &'static str,
}

impl Core {
    /// The keychain of this platform. keyring opens its store on the first `Entry`, so that
    /// happens inside a bounded call like everything else.
    pub(super) fn open(what: &'static str, locked_hint: &'static str) -> Arc<dyn Keychain> {
        Arc::new(Core { what, locked_hint })
    }

    fn entry(&self, item: &str) -> Result<Entry, Why> {
        Entry::new(SERVICE, item).map_err(|e| match (&e, Entry::store_status()) {
            (Error::NoDefaultStore, Err(cause)) => format!(
                "cannot open {}: {}; set {FILE_BACKEND}",
                self.what,
                self.describe(cause)
            ),
            _ => self.describe(&e),
        })
    }

    fn describe(&self, e: &Error) -> Why {
        describe(e, self.locked_hint)
    }
}

/// keyring's errors in words. Some variants carry the item's raw bytes (`BadEncoding`,
/// `BadDataFormat`), so nothing here formats an error with `Debug` or prints those bytes.
fn describe(e: &Error, locked_hint: &str) -> Why {
    match e {
        Error::NoStorageAccess(cause) => format!(
            "access refused, the keychain may be locked ({cause}): {locked_hint}, or set {FILE_BACKEND}"
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
        Error::NoDefaultStore => format!("the keychain could not be opened; set {FILE_BACKEND}"),
        other => format!("keychain failure: {other}"),
    }
}

impl Keychain for Core {
    fn get(&self, item: &str) -> Result<Option<Secret>, Why> {
        match self.entry(item)?.get_secret() {
            Ok(bytes) => super::utf8(bytes).map(Some),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(self.describe(&e)),
        }
    }

    fn set(&self, item: &str, _label: &str, secret: &Secret) -> Result<(), Why> {
        // Bytes, not a "password": the Windows store keeps passwords as UTF-16, halving the
        // 2,560-byte limit that a GCR keyfile already comes close to.
        self.entry(item)?
            .set_secret(secret.expose().as_bytes())
            .map_err(|e| self.describe(&e))
    }

    fn delete(&self, item: &str) -> Result<(), Why> {
        match self.entry(item)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(self.describe(&e)),
        }
    }

    fn probe(&self) -> Result<(), Why> {
        // Reading an item that does not exist exercises access without changing anything.
        self.get("probe-docker-credential-northflank").map(drop)
    }

    /// keyring's `Entry` cannot search, so the store cannot sweep orphans here.
    fn items(&self) -> Result<Option<Vec<String>>, Why> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_cause_and_the_fix_and_never_the_item_bytes() {
        let hint = "unlock the login keychain";
        let locked = describe(
            &Error::NoStorageAccess("user interaction is not allowed".into()),
            hint,
        );
        assert!(
            locked.contains("locked") && locked.contains(hint),
            "{locked}"
        );
        assert!(
            locked.contains("NORTHFLANK_CREDENTIAL_BACKEND=file"),
            "{locked}"
        );
        for e in [
            Error::BadEncoding(b"hunter2".to_vec()),
            Error::BadDataFormat(b"hunter2".to_vec(), "bad".into()),
        ] {
            let why = describe(&e, hint);
            assert!(
                !why.contains("hunter2") && !why.contains("104, 117"),
                "{why}"
            );
            assert!(why.contains("save the credential again"), "{why}");
        }
    }
}
