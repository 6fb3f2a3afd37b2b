//! Windows: the user's Credential Manager, through keyring-core's
//! `windows-native-keyring-store`. A secret there holds at most 2,560 bytes.
//!
//! Compile-checked only (`.ci/check-targets`); not run in CI.

use super::Keychain;
use super::core::Core;

pub(super) fn new() -> Box<dyn Keychain> {
    match windows_native_keyring_store::Store::new() {
        Ok(store) => {
            Box::new(Core::new(store).with_locked_hint(
                "check that Credential Manager is available to this user session",
            ))
        }
        Err(e) => Box::new(super::Broken(format!(
            "cannot open the Windows Credential Manager: {e}"
        ))),
    }
}
