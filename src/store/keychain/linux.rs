//! Linux and the BSDs: the freedesktop Secret Service (gnome-keyring, KeePassXC, KWallet's
//! bridge) on the session D-Bus, through the `secret-service` crate's blocking API.
//!
//! Items carry the attributes keyring's Secret Service store uses (`service`, `username`),
//! so keyring-based tools and `secret-tool lookup service docker-credential-northflank
//! username ACCOUNT` find them. Nothing here ever calls `Unlock`: items in a locked
//! collection are reported as locked, so no call can sit behind a password prompt.

use std::collections::HashMap;

use secret_service::blocking::SecretService;
use secret_service::{EncryptionType, Error as SsError};

use super::{Keychain, SERVICE, Why};
use crate::secret::Secret;
use crate::store::backend::ENV;

pub(super) fn new() -> Box<dyn Keychain> {
    Box::new(SecretServiceKeychain)
}

/// Stateless: every call opens its own connection, so a daemon restarted between two calls
/// is no problem, and a connection never outlives the thread that [`super::bounded`] gave it.
struct SecretServiceKeychain;

const CONTENT_TYPE: &str = "text/plain";

fn attributes(account: &str) -> HashMap<&str, &str> {
    HashMap::from([("service", SERVICE), ("username", account)])
}

/// Connects and opens an encrypted session, so secrets never cross the bus in clear.
fn connect() -> Result<SecretService<'static>, Why> {
    if !session_bus_configured() {
        return Err(format!(
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no \
             $XDG_RUNTIME_DIR/bus), as under SSH, cron or in a container: run in a desktop \
             session or under `dbus-run-session` with gnome-keyring-daemon, or set {ENV}=file"
        ));
    }
    SecretService::connect(EncryptionType::Dh).map_err(describe)
}

/// Whether a session bus could exist, checked without touching it: zbus falls back to
/// `$XDG_RUNTIME_DIR/bus` when the variable is unset.
fn session_bus_configured() -> bool {
    let set = |k| std::env::var_os(k).filter(|v| !v.is_empty());
    set("DBUS_SESSION_BUS_ADDRESS").is_some()
        || set("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
}

fn locked() -> Why {
    format!(
        "the Secret Service collection is locked (this helper never shows an unlock prompt): \
         unlock it (log in to the desktop, or `gnome-keyring-daemon --unlock` with the password \
         on stdin), or set {ENV}=file"
    )
}

/// The Secret Service's errors in words, with the fix. The crate's errors carry D-Bus
/// names and messages, never secret bytes.
fn describe(e: SsError) -> Why {
    let text = e.to_string();
    let has = |needle: &str| text.contains(needle);
    if matches!(e, SsError::Locked) || has("IsLocked") {
        locked()
    } else if matches!(e, SsError::Unavailable) {
        format!(
            "cannot reach the D-Bus session bus or the Secret Service on it: start \
             gnome-keyring-daemon (or another Secret Service) in this session, or set {ENV}=file"
        )
    } else if has("ServiceUnknown") || has("NameHasNoOwner") {
        format!(
            "no Secret Service on the session bus: start gnome-keyring-daemon \
             (`gnome-keyring-daemon --start --components=secrets`), or set {ENV}=file"
        )
    } else if matches!(e, SsError::NoResult) {
        format!(
            "the Secret Service has no default collection (as on WSL): create one with \
             seahorse, or set {ENV}=file"
        )
    } else if matches!(e, SsError::Prompt | SsError::PromptDisconnected) {
        format!("the Secret Service wanted a prompt, which this helper never shows: {text}")
    } else {
        format!("Secret Service error: {text}; if it persists, set {ENV}=file")
    }
}

impl Keychain for SecretServiceKeychain {
    fn get(&self, account: &str) -> Result<Option<Secret>, Why> {
        let ss = connect()?;
        let found = ss.search_items(attributes(account)).map_err(describe)?;
        let Some(item) = found.unlocked.first() else {
            return if found.locked.is_empty() {
                Ok(None)
            } else {
                Err(locked())
            };
        };
        let bytes = item.get_secret().map_err(describe)?;
        String::from_utf8(bytes)
            .map(|s| Some(Secret::new(s)))
            .map_err(|_| {
                "the keychain item does not hold UTF-8 text; save the credential again".into()
            })
    }

    fn set(&self, account: &str, label: &str, secret: &Secret) -> Result<(), Why> {
        let ss = connect()?;
        let found = ss.search_items(attributes(account)).map_err(describe)?;
        let bytes = secret.expose().as_bytes();
        if let Some(item) = found.unlocked.first() {
            return item.set_secret(bytes, CONTENT_TYPE).map_err(describe);
        }
        if !found.locked.is_empty() {
            return Err(locked());
        }
        let collection = ss.get_default_collection().map_err(describe)?;
        if collection.is_locked().map_err(describe)? {
            return Err(locked());
        }
        collection
            .create_item(label, attributes(account), bytes, true, CONTENT_TYPE)
            .map(drop)
            .map_err(describe)
    }

    fn delete(&self, account: &str) -> Result<(), Why> {
        let ss = connect()?;
        let found = ss.search_items(attributes(account)).map_err(describe)?;
        if !found.locked.is_empty() {
            return Err(locked());
        }
        found
            .unlocked
            .iter()
            .try_for_each(|item| item.delete().map_err(describe))
    }

    fn accounts(&self) -> Result<Option<Vec<String>>, Why> {
        let ss = connect()?;
        let found = ss
            .search_items(HashMap::from([("service", SERVICE)]))
            .map_err(describe)?;
        if !found.locked.is_empty() {
            return Ok(None);
        }
        let mut accounts = Vec::new();
        for item in &found.unlocked {
            let attributes = item.get_attributes().map_err(describe)?;
            match attributes.get("username") {
                Some(account) => accounts.push(account.clone()),
                None => return Ok(None),
            }
        }
        Ok(Some(accounts))
    }

    fn probe(&self) -> Result<(), Why> {
        let ss = connect()?;
        let collection = ss.get_default_collection().map_err(describe)?;
        if collection.is_locked().map_err(describe)? {
            return Err(locked());
        }
        Ok(())
    }
}
