//! Stand-in for [`verify`](crate::verify) in builds without the `verify` feature.
//!
//! The real module's TLS stack (rustls on ring) compiles C for the target, which needs that
//! target's SDK; `.ci/check-targets` builds without the feature so that the macOS and Windows
//! keychain code can still be type-checked from Linux. Such a build answers `verify` and
//! `add --verify` with a clear error.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// Same fields as the real options; unused here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub timeout: Duration,
    pub ca_cert: Option<PathBuf>,
    pub ssl_cert_file: Option<PathBuf>,
    pub insecure_http: bool,
}

impl Options {
    pub fn from_env() -> Self {
        Options::default()
    }
}

/// Never constructed: every check fails.
#[derive(Debug)]
pub struct Accepted;

impl fmt::Display for Accepted {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(
        "this build of docker-credential-northflank has no registry verification (built without the `network` feature): use a default build"
    )]
    Unavailable,
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        1
    }
}

pub fn verify(_: &str, _: &str, _: &Secret, _: &Options) -> Result<Accepted, Failure> {
    Err(Failure::Unavailable)
}
