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
pub mod kube;
pub mod policy;
pub mod protocol;
pub mod provider;
pub mod secret;
pub mod store;
pub mod term;
#[cfg(feature = "network")]
pub mod verify;
// Until verify is built on crate::http (next commit), builds without `network` keep its stub.
#[cfg(not(feature = "network"))]
#[path = "verify/unavailable.rs"]
pub mod verify;

pub use error::{Error, Result};

use protocol::{Call, Verb};

/// Runs the executable: a protocol verb, or a management command. Returns the exit code.
pub fn main() -> u8 {
    let stdout_was_closed = std_fds::reopen_closed();
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

/// The standard file descriptors, made safe before anything is opened.
mod std_fds {
    /// Opens `/dev/null` on any of fds 0–2 that is closed, so that no file this process opens
    /// later (a store file, a temp file) can become its stdin, stdout or stderr — an answer or
    /// a notice written into a credential file. Returns whether stdout was closed.
    #[cfg(unix)]
    pub fn reopen_closed() -> bool {
        use std::os::fd::{AsRawFd, IntoRawFd};
        let mut stdout_closed = false;
        loop {
            let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            else {
                return stdout_closed;
            };
            match null.as_raw_fd() {
                // The lowest free descriptor: one of 0–2 was closed; keep it open for good.
                fd @ 0..=2 => {
                    stdout_closed |= fd == 1;
                    let _ = null.into_raw_fd();
                }
                _ => return stdout_closed,
            }
        }
    }

    #[cfg(not(unix))]
    pub fn reopen_closed() -> bool {
        false
    }
}
