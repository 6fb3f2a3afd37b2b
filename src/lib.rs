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
//! gets. JSON is escaped as Go escapes it. See [`protocol`] for the bytes, [`host`] for how
//! server strings map to one canonical key, [`policy`] for project restrictions and [`store`]
//! for the crash-safe file store, [`backend`] and [`keychain`] for secrets kept in the OS
//! keychain.
//!
//! Every other first argument is a management command (`add`, `ls`, `rm`, `restrict`,
//! `rename`, `import-docker-config`, `configure`, `doctor`, `verify`, `export`, `kubelet`,
//! `kubelet-config`, `migrate`), see [`cli`].

pub mod cli;
pub mod credential;
pub mod error;
pub mod fsutil;
pub mod host;
pub mod http;
pub mod kube;
pub mod policy;
pub mod protocol;
pub mod secret;
pub mod store;
pub mod verify;

use std::ffi::OsString;
use std::io::Write;

pub use error::{Error, Result};

const USAGE: &str = "Usage: docker-credential-northflank <store|get|erase|list|version>\n";

/// How a failure is reported: protocol errors on stdout (all clients read), management
/// errors on stderr like any command-line tool.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub protocol: bool,
}

impl Failure {
    /// Prints the error as one line where its caller looks for it.
    #[allow(clippy::print_stdout, clippy::print_stderr)]
    pub fn report(&self) {
        let line = self.error.to_string().replace(['\n', '\r'], " ");
        if self.protocol {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        } else {
            eprintln!("docker-credential-northflank: {line}");
        }
    }
}

/// Runs the executable with its full argv (program name first).
pub fn run(args: Vec<OsString>) -> std::result::Result<(), Failure> {
    let protocol = |error| Failure {
        error,
        protocol: true,
    };
    let usage = || protocol(Error::BadInput(USAGE.trim_end().to_string()));
    let Some(first) = args.get(1) else {
        return Err(usage());
    };
    let first = first.to_string_lossy();
    if let Some(verb) = protocol::Verb::parse(&first) {
        if args.len() != 2 {
            return Err(usage());
        }
        if verb == protocol::Verb::Version {
            // Needs no store, so it answers even where there is no home directory.
            return write_stdout(protocol::version_line().as_bytes()).map_err(protocol);
        }
        let ctx = protocol::Context {
            store: store::Store::open_default().map_err(protocol)?,
            project: policy::project_from_env(std::env::var_os(policy::PROJECT_ENV).as_deref()),
        };
        let answer = protocol::run(verb, &mut std::io::stdin().lock(), &ctx).map_err(protocol)?;
        return write_stdout(answer.as_bytes()).map_err(protocol);
    }
    match first.as_ref() {
        "-h" | "--help" | "help" if args.len() == 2 => {
            write_stdout(help().as_bytes()).map_err(protocol)
        }
        cmd if cli::is_command(cmd) => cli::run(args).map_err(|error| Failure {
            error,
            protocol: false,
        }),
        // `credentials.Serve` answers any argument count but one with its usage line.
        _ if args.len() != 2 => Err(usage()),
        _ => Err(protocol(Error::BadInput(format!(
            "docker-credential-northflank: unknown action: {first}"
        )))),
    }
}

fn help() -> String {
    format!(
        "{USAGE}\nManage saved credentials: docker-credential-northflank \
         <add|ls|rm|restrict|rename|import-docker-config|configure|doctor|verify|export|kubelet|kubelet-config|migrate> --help\n\
         Environment: NORTHFLANK_PROJECT (current project), NORTHFLANK_CONFIG_DIR (store folder),\n\
         NORTHFLANK_CREDENTIAL_BACKEND (file|keyring: where new secrets go)\n"
    )
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::Store(format!("cannot write the answer to stdout: {e}")))
}
