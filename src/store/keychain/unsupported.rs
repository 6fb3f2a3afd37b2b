//! Platforms without a supported keychain: every call says so, and how to carry on.

use super::{Broken, Keychain};

pub(super) fn new() -> Box<dyn Keychain> {
    Box::new(Broken(
        "this platform has no supported OS keychain".to_string(),
    ))
}
