//! The errors callers branch on, and what each one means on the wire.
//!
//! Protocol errors are printed on **stdout** as one line with exit code 1, because that is all
//! a client reads. [`Error::NotFound`] renders exactly `credentials not found in native
//! keychain`, the one answer clients take as "carry on anonymously"; hidden, missing and
//! unusable entries all look like it on `get`.
//!
//! These are plain values (no backtrace capture), so a miss costs what a hit costs even with
//! `RUST_BACKTRACE=1` set. This is a leaf: it knows no integration. The management commands
//! wrap these (and the integrations' own errors) in `anyhow` with context.

/// Everything that can go wrong, grouped by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credential this context may use. Clients continue without credentials.
    #[error("credentials not found in native keychain")]
    NotFound,
    /// `get`/`erase`/`store` without a server. Exact string from `credentials.Serve`.
    #[error("no credentials server URL")]
    MissingServerUrl,
    /// `store` without a username. Exact string from `credentials.Serve`.
    #[error("no credentials username")]
    MissingUsername,
    /// The input (stdin, an argument, a file the user named) is wrong; the text says how to fix it.
    #[error("{0}")]
    BadInput(String),
    /// The request contradicts what is saved: a name taken, two credentials that would both
    /// answer for one project, a credential this context cannot see.
    #[error("{0}")]
    Conflict(String),
    /// The store could not be read or written; the text names the file and the fix.
    #[error("{0}")]
    Store(String),
    /// The OS keychain could not do what was asked: unreachable, locked, too slow. The text
    /// names the cause and the fix (often `NORTHFLANK_CREDENTIAL_BACKEND=file`). Never
    /// "not found": a credential whose secret is in the keychain exists, so clients must not
    /// carry on anonymously as if it did not.
    #[error("{0}")]
    Keychain(String),
    /// A registry whose saved secret is exchanged for a token (ECR) could not issue one: keys
    /// rejected, throttled, unreachable. Never "not found", so docker does not carry on
    /// anonymously against a registry that has credentials.
    #[error("{0}")]
    Exchange(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
