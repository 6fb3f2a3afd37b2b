//! `docker-credential-northflank`: a Docker credential helper that keeps registry credentials
//! the way Northflank does — saved once, optionally restricted to projects — and hands them to
//! every client of the credential-helper protocol.
//!
//! # The protocol contract
//!
//! The helper is run as `docker-credential-northflank <verb>` with exactly one argument, and
//! behaves byte for byte like Go's `credentials.Serve` from docker-credential-helpers:
//!
//! | verb | stdin | stdout on success (exit 0) |
//! |---|---|---|
//! | `get` | server string | `{"ServerURL":"<as sent>","Username":"…","Secret":"…"}` + `\n` |
//! | `store` | `{"ServerURL":…,"Username":…,"Secret":…}` | nothing |
//! | `erase` | server string | nothing (also when nothing was saved) |
//! | `list` | not read | `{"<key>":"<username>",…}` + `\n`, keys sorted, `{}` when empty |
//! | `version` | not read | `docker-credential-northflank (<package>) v<version>` + `\n` |
//!
//! Errors go to **stdout** as one line with exit code 1, because clients read only stdout.
//! `credentials not found in native keychain` is the one answer clients treat as "no
//! credentials, carry on" — it is what a missing, hidden (other project) or invalid registry
//! gets. JSON is escaped as Go escapes it.
//!
//! # Where things are
//!
//! - [`protocol`]: the wire — verbs, the Go-exact codec, the errors clients see;
//! - pure leaves: [`host`] (one canonical key per registry), [`policy`] (project
//!   restrictions), [`credential`], [`provider`], [`secret`], and [`fsutil`] (file safety);
//! - [`store`]: the crash-safe store and its transactions, which alone place secrets (file or
//!   OS keychain);
//! - [`cli`]: the management commands (`add`, `ls`, `sync`, `configure`, `export`, …);
//! - integrations: [`verify`] (the registry handshake), [`kube`] (Kubernetes), over [`http`].

pub mod cli;
pub mod credential;
pub mod ecr;
pub mod error;
pub mod fsutil;
pub mod host;
pub mod http;
pub mod jsonfmt;
pub mod kube;
pub mod northflank;
pub mod policy;
pub mod protocol;
pub mod provider;
pub mod secret;
pub mod store;
pub mod term;
pub mod verify;

pub use error::{Error, Result};

use protocol::{Call, Verb};

/// Runs the executable: a protocol verb, or a management command. Returns the exit code.
pub fn main() -> u8 {
    let stdout_was_closed = std_fds::stdout_was_closed();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let call = Call::parse(&args, cli::is_command);
    // With no stdout, an answer cannot be delivered: say so rather than exit 0 having said
    // nothing (store and erase answer nothing, so they may go on).
    if stdout_was_closed && !matches!(call, Call::Verb(Verb::Store | Verb::Erase)) {
        term::warn("stdout is closed, so no answer can be delivered: run with stdout open");
        return 1;
    }
    match call {
        Call::Management => cli::main(args),
        call => protocol::run(
            &call,
            std::io::stdin().lock(),
            std::io::stdout().lock(),
            protocol::View::from_env,
        ),
    }
}

/// The standard file descriptors as the process got them.
mod std_fds {
    /// Whether the process was started with stdout closed.
    ///
    /// Rust's runtime opens `/dev/null` (read-write) on any of fds 0–2 that is closed before
    /// `main` runs, so that no file opened later can become one of them — a notice written
    /// into a credential file. What is left to tell is whether that happened to stdout: a
    /// shell's `>/dev/null` opens it write-only, the runtime read-write.
    #[cfg(unix)]
    pub fn stdout_was_closed() -> bool {
        use std::os::unix::fs::MetadataExt;
        let stdout = std::io::stdout();
        let (Ok(ours), Ok(null)) = (rustix::fs::fstat(&stdout), std::fs::metadata("/dev/null"))
        else {
            return false;
        };
        let read_write = rustix::fs::fcntl_getfl(&stdout)
            .is_ok_and(|f| f & rustix::fs::OFlags::RWMODE == rustix::fs::OFlags::RDWR);
        // st_rdev is a u64 on Linux but an i32 on macOS; std's rdev() is a u64 everywhere.
        #[allow(clippy::unnecessary_cast)]
        let rdev = ours.st_rdev as u64;
        rdev == null.rdev() && ours.st_ino == null.ino() && read_write
    }

    #[cfg(not(unix))]
    pub fn stdout_was_closed() -> bool {
        false
    }
}
