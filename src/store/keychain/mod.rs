//! The operating system's keychain, where the secrets of keyring-backed credentials live
//! (SPEC §5): the Secret Service on Linux and the BSDs, the login Keychain on macOS, the
//! Credential Manager on Windows.
//!
//! # Items
//!
//! One item per credential, under the service name [`SERVICE`] and an account that is the
//! credential's stable [`id`](crate::credential::Credential::id) — not its name or registry,
//! so the item survives a rename and two credentials for one registry never share an item.
//! Only the secret is in the keychain; everything else stays in the file store, so `list`
//! never touches the keychain and `get` touches it once.
//!
//! # Never hang, never prompt
//!
//! The helper runs inside `docker pull`, cron jobs and CI, where nobody can answer a dialog.
//! So every call runs on its own thread and is abandoned after [`TIMEOUT`] with an error that
//! names the cause and the fix (the process exits soon after, taking the thread with it), and
//! no platform module ever asks the keychain to unlock: a locked collection is an error
//! ("unlock it, or use the file backend"), not a prompt.
//!
//! # Which library
//!
//! On macOS and Windows we use `keyring-core` with the per-platform stores that keyring 4
//! recommends to applications (`apple-native-keyring-store`, `windows-native-keyring-store`).
//! On Linux the matching store (`zbus-secret-service-keyring-store`) unlocks locked items
//! before every search, which shows a password prompt and blocks until someone answers it;
//! so the Linux module talks to the Secret Service through the `secret-service` crate that
//! store is built on (pure-Rust D-Bus and crypto: no libdbus, no OpenSSL), with the same
//! `service`/`username` item attributes keyring uses, and refuses instead of unlocking.
//! Unit tests run the keyring-core adapter against keyring-core's in-memory mock; that mock
//! is compiled only into unit tests, so no build can end up with a keychain that forgets.

use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use crate::secret::Secret;

// One module per platform. Unit tests swap in the mock, so there the platform code is
// compiled and linted but unused.
#[cfg(any(target_os = "macos", windows, test))]
#[cfg_attr(test, allow(dead_code))]
mod core;
#[cfg(all(unix, not(target_os = "macos")))]
#[cfg_attr(test, allow(dead_code))]
mod linux;
#[cfg(target_os = "macos")]
#[cfg_attr(test, allow(dead_code))]
mod macos;
#[cfg(not(any(unix, windows)))]
#[cfg_attr(test, allow(dead_code))]
mod unsupported;
#[cfg(windows)]
#[cfg_attr(test, allow(dead_code))]
mod windows;

#[cfg(all(unix, not(target_os = "macos"), not(test)))]
use linux as platform;
#[cfg(all(target_os = "macos", not(test)))]
use macos as platform;
#[cfg(all(not(any(unix, windows)), not(test)))]
use unsupported as platform;
#[cfg(all(windows, not(test)))]
use windows as platform;

/// The service name every item is saved under. Stable: changing it would orphan every
/// saved secret.
pub const SERVICE: &str = "docker-credential-northflank";

/// How long one keychain call may take before we give up on it. A healthy keychain answers
/// in milliseconds; a hung or prompting one never does.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// What a failed call reports: the cause and what to do, one line, never a secret.
pub(crate) type Why = String;

/// The four things the store asks of a keychain. Implementations never prompt and never
/// put secret bytes into an error.
pub(crate) trait Keychain: Send + Sync {
    /// The secret saved for `account`, or `None` when there is no such item.
    fn get(&self, account: &str) -> std::result::Result<Option<Secret>, Why>;
    /// Saves `secret` for `account`, replacing what was there. `label` is what keychain
    /// UIs show.
    fn set(&self, account: &str, label: &str, secret: &Secret) -> std::result::Result<(), Why>;
    /// Deletes the item for `account`; succeeds when there is none.
    fn delete(&self, account: &str) -> std::result::Result<(), Why>;
    /// Succeeds when a [`Keychain::set`] would work now (reachable and unlocked).
    fn probe(&self) -> std::result::Result<(), Why>;
    /// Every account saved under [`SERVICE`], or `None` where the platform cannot list them
    /// (or some are locked, so the list would be incomplete).
    fn accounts(&self) -> std::result::Result<Option<Vec<String>>, Why> {
        Ok(None)
    }
}

/// A keychain that cannot be opened on this machine: every call says why.
#[cfg(not(all(unix, not(target_os = "macos"))))]
struct Broken(Why);

#[cfg(not(all(unix, not(target_os = "macos"))))]
impl Keychain for Broken {
    fn get(&self, _: &str) -> std::result::Result<Option<Secret>, Why> {
        Err(self.why())
    }
    fn set(&self, _: &str, _: &str, _: &Secret) -> std::result::Result<(), Why> {
        Err(self.why())
    }
    fn delete(&self, _: &str) -> std::result::Result<(), Why> {
        Err(self.why())
    }
    fn probe(&self) -> std::result::Result<(), Why> {
        Err(self.why())
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
impl Broken {
    fn why(&self) -> Why {
        format!("{}; set {}=file", self.0, crate::store::backend::ENV)
    }
}

/// The keychain of this build, set up on first use so that file-backed `get`s never pay
/// for it.
fn keychain() -> &'static dyn Keychain {
    static KEYCHAIN: OnceLock<Box<dyn Keychain>> = OnceLock::new();
    KEYCHAIN.get_or_init(make).as_ref()
}

#[cfg(not(test))]
fn make() -> Box<dyn Keychain> {
    platform::new()
}

#[cfg(test)]
fn make() -> Box<dyn Keychain> {
    Box::new(core::Core::new(testing::mock_store()))
}

/// Runs `op` on its own thread and waits at most [`TIMEOUT`] for it.
fn bounded<T: Send + 'static>(
    op: impl FnOnce(&'static dyn Keychain) -> std::result::Result<T, Why> + Send + 'static,
) -> std::result::Result<T, Why> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("keychain".into())
        .spawn(move || {
            let _ = tx.send(op(keychain()));
        })
        .map_err(|e| format!("cannot start a thread for the keychain call: {e}"))?;
    match rx.recv_timeout(TIMEOUT) {
        Ok(answer) => answer,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "the keychain did not answer within {} s (hung, or waiting for an unlock prompt); \
             check it is running and unlocked, or set {}=file",
            TIMEOUT.as_secs(),
            crate::store::backend::ENV
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the keychain call failed unexpectedly (its thread panicked)".into())
        }
    }
}

/// The secret saved under `item`, `None` when there is no such item.
pub fn get(item: &str) -> std::result::Result<Option<Secret>, Why> {
    let owned = item.to_string();
    bounded(move |k| k.get(&owned))
}

/// Saves `secret` under `item`; `label` is what keychain tools show.
pub fn set(item: &str, label: &str, secret: &Secret) -> std::result::Result<(), Why> {
    let (owned, label, secret) = (item.to_string(), label.to_string(), secret.clone());
    bounded(move |k| k.set(&owned, &label, &secret))
}

/// Deletes the item; succeeds when there is none.
pub fn delete(item: &str) -> std::result::Result<(), Why> {
    let owned = item.to_string();
    bounded(move |k| k.delete(&owned))
}

/// Every item saved under [`SERVICE`], or `None` where the platform cannot list them all.
pub fn items() -> std::result::Result<Option<Vec<String>>, Why> {
    bounded(|k| k.accounts())
}

/// Whether secrets can be saved in the keychain right now, and if not, why.
pub fn probe() -> std::result::Result<(), Why> {
    bounded(|k| k.probe())
}

/// Access to the unit tests' mock keychain.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::{Arc, OnceLock};

    use keyring_core::CredentialStore;

    /// The one mock store of the test process (credentials are told apart by their ids).
    pub fn mock_store() -> Arc<CredentialStore> {
        static STORE: OnceLock<Arc<CredentialStore>> = OnceLock::new();
        STORE
            .get_or_init(|| keyring_core::mock::Store::new().expect("BUG: mock store"))
            .clone()
    }

    /// Makes the next keychain call for `account` fail with `error`.
    pub fn fail_next(account: &str, error: keyring_core::Error) {
        let entry = keyring_core::Entry::new_in_store(&mock_store(), super::SERVICE, account)
            .expect("BUG: mock entry");
        let cred: &keyring_core::mock::Cred =
            entry.as_any().downcast_ref().expect("BUG: a mock entry");
        cred.set_error(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_update_delete() {
        let item = crate::credential::new_id();
        let secret = Secret::new("pässwörd ✓ \u{1F511}");
        set(&item, "one", &secret).unwrap();
        assert_eq!(get(&item).unwrap(), Some(secret));
        set(&item, "one", &Secret::new("second")).unwrap();
        assert_eq!(get(&item).unwrap().unwrap().expose(), "second");
        delete(&item).unwrap();
        delete(&item).unwrap();
        assert_eq!(get(&item).unwrap(), None);
    }

    #[test]
    fn platform_errors_name_the_cause_and_never_the_secret() {
        let item = crate::credential::new_id();
        set(&item, "two", &Secret::new("hunter2")).unwrap();
        testing::fail_next(
            &item,
            keyring_core::Error::NoStorageAccess("collection is locked".into()),
        );
        let err = get(&item).unwrap_err();
        assert!(err.contains("locked"), "{err}");
        testing::fail_next(&item, keyring_core::Error::BadEncoding(b"hunter2".to_vec()));
        let err = get(&item).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(get(&item).unwrap().unwrap().expose(), "hunter2");
    }
}
