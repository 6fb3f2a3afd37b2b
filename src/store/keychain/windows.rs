//! Windows: the user's Credential Manager, through keyring 4 with
//! `windows-native-keyring-store` (see [`super::core`]). A secret there holds at most 2,560
//! bytes.
//!
//! Compile-checked only (`.ci/check-targets`); not run in CI.

pub(super) fn new() -> std::sync::Arc<dyn super::Keychain> {
    super::core::Core::open(
        "the Windows Credential Manager",
        "check that Credential Manager is available to this user session",
    )
}
