//! Platforms without a supported keychain: every call says so, and how to carry on.

pub(super) fn new() -> std::sync::Arc<dyn super::Keychain> {
    std::sync::Arc::new(super::Broken(
        "this platform has no supported OS keychain".to_string(),
    ))
}
