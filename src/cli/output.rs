//! Output of the management commands on stdout.
//!
//! - it never panics: a closed pipe (`ls | head -1`) ends the command quietly with the status
//!   a Unix tool killed by `SIGPIPE` has, and any other write error (`> /dev/full`) is an
//!   error line;
//! - lines for people pass through [`printable`], so a user name or registry key from a
//!   config file cannot move the cursor, recolour the terminal, fake a line or reorder text;
//!   machine output (JSON, YAML, the kubelet answer) is written as is with [`raw`].
//!
//! Notices on stderr are [`crate::term`]'s, re-exported here.

use std::io::{self, Write};

pub use crate::term::{note, printable, warn};

/// Writing stdout failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The reader went away (a closed pipe): not worth a message.
    #[error("stdout was closed")]
    Closed,
    #[error("cannot write the output: {0}")]
    Failed(io::Error),
}

impl OutputError {
    /// The status of a process killed by `SIGPIPE`, as a shell reports it.
    pub const CLOSED_EXIT: u8 = 141;
}

fn failed(e: io::Error) -> OutputError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        OutputError::Closed
    } else {
        OutputError::Failed(e)
    }
}

/// Writes `bytes` to stdout as they are (machine output), and flushes.
pub fn raw(bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(failed)
}

/// Writes one line for people to stdout.
pub fn line(text: &str) -> Result<(), OutputError> {
    let mut s = printable(text).into_owned();
    s.push('\n');
    raw(s.as_bytes())
}

/// Says what a command changed, once the change is saved. The change stands whatever then
/// happens to stdout, so a closed pipe or a full disk is not a failure of the command (a
/// script would retry and find "already exists"): the text goes to stderr instead, with why,
/// and the command succeeds.
pub fn done<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) {
    let texts: Vec<S> = texts.into_iter().collect();
    if let Err(e) = lines(texts.iter().map(AsRef::as_ref)) {
        let why = match e {
            OutputError::Closed => "stdout was closed".to_string(),
            OutputError::Failed(e) => format!("stdout cannot be written: {e}"),
        };
        for t in &texts {
            note(&format!("{} ({why})", t.as_ref()));
        }
    }
}

/// Writes lines for people to stdout.
pub fn lines<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> Result<(), OutputError> {
    let mut s = String::new();
    for t in texts {
        s.push_str(&printable(t.as_ref()));
        s.push('\n');
    }
    raw(s.as_bytes())
}
