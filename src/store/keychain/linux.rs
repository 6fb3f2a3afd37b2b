//! Linux and the BSDs: the freedesktop Secret Service (gnome-keyring, KeePassXC, KWallet's
//! bridge) on the session D-Bus, through the `secret-service` crate's blocking API.
//!
//! Items carry the attributes keyring's Secret Service store uses (`service`, `username`),
//! so keyring-based tools and `secret-tool lookup service docker-credential-northflank
//! username ITEM` find them. Nothing here ever calls `Unlock`: items in a locked collection
//! are reported as locked, so no call can sit behind a password prompt. (keyring's own
//! Secret Service store does unlock, which is why it is not used: docs/keychain.md.)

use std::collections::HashMap;
use std::ffi::OsStr;

use secret_service::blocking::SecretService;
use secret_service::{EncryptionType, Error as SsError};

use super::{FILE_BACKEND, Keychain, SERVICE, Why};
use crate::secret::Secret;

pub(super) fn new() -> std::sync::Arc<dyn Keychain> {
    std::sync::Arc::new(SecretServiceKeychain)
}

/// Stateless: every call opens its own connection, so a daemon restarted between two calls
/// is no problem, and a connection never outlives the thread that [`super::Guard`] gave it.
struct SecretServiceKeychain;

const CONTENT_TYPE: &str = "text/plain";

fn attributes(item: &str) -> HashMap<&str, &str> {
    HashMap::from([("service", SERVICE), ("username", item)])
}

/// Connects and opens a session for moving secrets, in clear on a local bus and encrypted
/// on any other (see [`encryption_for`]).
fn connect() -> Result<SecretService<'static>, Why> {
    if !session_bus_configured() {
        return Err(format!(
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no \
             $XDG_RUNTIME_DIR/bus), as under SSH, cron or in a container: run in a desktop \
             session or under `dbus-run-session` with gnome-keyring-daemon, or set {FILE_BACKEND}"
        ));
    }
    let address = std::env::var_os("DBUS_SESSION_BUS_ADDRESS");
    match SecretService::connect(encryption_for(address.as_deref())) {
        // A service may offer only the encrypted session (the spec makes `plain` mandatory,
        // but costs nothing to be lenient about).
        Err(e) if e.to_string().contains("NotSupported") => {
            SecretService::connect(EncryptionType::Dh)
        }
        other => other,
    }
    .map_err(describe)
}

/// How secrets travel between the Secret Service and us. On a Unix socket the bus is local
/// and only our own user can connect to it or watch it, and that user can ask the service
/// for every unlocked secret anyway, so encrypting the transfer protects nothing and its
/// key exchange (a 1024-bit Diffie-Hellman in pure Rust) would be most of the cost of a
/// `get`. Any other transport (TCP, a bus reached through a program such as ssh) may leave
/// the machine, so there the secret is encrypted. docs/keychain.md has the measurements.
fn encryption_for(address: Option<&OsStr>) -> EncryptionType {
    // zbus falls back to $XDG_RUNTIME_DIR/bus, a Unix socket, when the variable is unset.
    let local = address.is_none_or(|a| {
        a.to_str().is_some_and(|a| {
            let mut transports = a.split(';').filter(|t| !t.is_empty()).peekable();
            transports.peek().is_some() && transports.all(|t| t.starts_with("unix:"))
        })
    });
    if local {
        EncryptionType::Plain
    } else {
        EncryptionType::Dh
    }
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
         on stdin), or set {FILE_BACKEND}"
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
             gnome-keyring-daemon (or another Secret Service) in this session, or set {FILE_BACKEND}"
        )
    } else if has("ServiceUnknown") || has("NameHasNoOwner") {
        format!(
            "no Secret Service on the session bus: start gnome-keyring-daemon \
             (`gnome-keyring-daemon --start --components=secrets`), or set {FILE_BACKEND}"
        )
    } else if matches!(e, SsError::NoResult) {
        format!(
            "the Secret Service has no default collection (as on WSL): create one with \
             seahorse, or set {FILE_BACKEND}"
        )
    } else if matches!(e, SsError::Prompt | SsError::PromptDisconnected) {
        format!("the Secret Service wanted a prompt, which this helper never shows: {text}")
    } else {
        format!("Secret Service error: {text}; if it persists, set {FILE_BACKEND}")
    }
}

impl Keychain for SecretServiceKeychain {
    fn get(&self, item: &str) -> Result<Option<Secret>, Why> {
        let ss = connect()?;
        let found = ss.search_items(attributes(item)).map_err(describe)?;
        let Some(item) = found.unlocked.first() else {
            return if found.locked.is_empty() {
                Ok(None)
            } else {
                Err(locked())
            };
        };
        super::utf8(item.get_secret().map_err(describe)?).map(Some)
    }

    fn set(&self, item: &str, label: &str, secret: &Secret) -> Result<(), Why> {
        let ss = connect()?;
        let found = ss.search_items(attributes(item)).map_err(describe)?;
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
            .create_item(label, attributes(item), bytes, true, CONTENT_TYPE)
            .map(drop)
            .map_err(describe)
    }

    fn delete(&self, item: &str) -> Result<(), Why> {
        let ss = connect()?;
        let found = ss.search_items(attributes(item)).map_err(describe)?;
        if !found.locked.is_empty() {
            return Err(locked());
        }
        found
            .unlocked
            .iter()
            .try_for_each(|item| item.delete().map_err(describe))
    }

    fn items(&self) -> Result<Option<Vec<String>>, Why> {
        let ss = connect()?;
        let found = ss
            .search_items(HashMap::from([("service", SERVICE)]))
            .map_err(describe)?;
        if !found.locked.is_empty() {
            return Ok(None);
        }
        let mut items = Vec::new();
        for item in &found.unlocked {
            let attributes = item.get_attributes().map_err(describe)?;
            match attributes.get("username") {
                Some(name) => items.push(name.clone()),
                None => return Ok(None),
            }
        }
        Ok(Some(items))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(address: Option<&str>) -> bool {
        matches!(
            encryption_for(address.map(OsStr::new)),
            EncryptionType::Plain
        )
    }

    #[test]
    fn secrets_travel_in_clear_only_over_local_sockets() {
        assert!(plain(None), "unset: $XDG_RUNTIME_DIR/bus");
        assert!(plain(Some("unix:path=/run/user/1000/bus")));
        assert!(plain(Some("unix:abstract=/tmp/dbus-x,guid=0123")));
        assert!(plain(Some("unix:path=/a;unix:tmpdir=/tmp;")));
        assert!(!plain(Some("tcp:host=10.0.0.5,port=1234")));
        assert!(!plain(Some("unix:path=/a;tcp:host=localhost,port=1")));
        assert!(!plain(Some("unixexec:path=ssh,argv1=host")));
        assert!(!plain(Some("vsock:cid=3,port=5000")));
        assert!(!plain(Some("")), "nothing zbus can use: the careful choice");
    }
}
