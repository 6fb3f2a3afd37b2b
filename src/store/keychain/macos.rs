//! macOS: the user's login Keychain, through keyring-core's `apple-native-keyring-store`.
//!
//! Compile-checked only (`.ci/check-targets`); not run in CI.

use super::Keychain;
use super::core::Core;

pub(super) fn new() -> Box<dyn Keychain> {
    match apple_native_keyring_store::keychain::Store::new() {
        Ok(store) => Box::new(Core::new(store).with_locked_hint(
            "unlock the login keychain (Keychain Access, or `security unlock-keychain`)",
        )),
        Err(e) => Box::new(super::Broken(format!(
            "cannot open the login keychain: {e}"
        ))),
    }
}
