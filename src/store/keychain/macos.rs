//! macOS: the user's login Keychain, through keyring 4 with `apple-native-keyring-store`
//! (see [`super::core`]).
//!
//! Compile-checked only (`.ci/check-targets`); not run in CI.

pub(super) fn new() -> std::sync::Arc<dyn super::Keychain> {
    super::core::Core::open(
        "the login keychain",
        "unlock the login keychain (Keychain Access, or `security unlock-keychain`)",
    )
}
