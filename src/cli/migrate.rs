//! `migrate --to file|keyring`: moves every secret to one backend, safe to interrupt.
//!
//! Each credential moves in its own store transaction ([`crate::store::Tx::move_secret`]):
//! copied to the target, the record switched at commit, the source copy deleted after. So
//! an interrupted run leaves every credential readable where its record says, a `docker
//! login` racing the migration waits for the lock instead of being overwritten, and a re-run
//! moves what is left. The store's recorded backend changes last, once every credential has
//! moved.

use super::output;
use crate::credential::Backend;
use crate::error::{Error, Result};
use crate::store::Store;

/// What a migration did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Credentials whose secret moved.
    pub moved: Vec<String>,
    /// Credentials already on the target.
    pub already: usize,
}

pub fn run(store: &Store, to: Backend) -> anyhow::Result<()> {
    let report = migrate(store, to)?;
    let moved = report
        .moved
        .iter()
        .map(|name| format!("moved {name:?} to {}", to.as_str()));
    output::done(moved.chain([format!(
        "{} moved, {} already there; new secrets now go to {}",
        report.moved.len(),
        report.already,
        to.as_str()
    )]));
    Ok(())
}

/// Moves every secret to `to`, then records `to` as the store's backend. Stops at the first
/// credential it cannot move (a keychain that is locked or gone would fail them all); what
/// moved before stays moved, and a re-run continues.
pub fn migrate(store: &Store, to: Backend) -> Result<Report> {
    let mut report = Report::default();
    for saved in store.summaries()?.into_values().flatten() {
        if saved.backend() == to {
            report.already += 1;
            continue;
        }
        let moved = store.write(|tx| match tx.move_secret(&saved.id, to) {
            // Removed by another process meanwhile: nothing left to move.
            Err(Error::Conflict(_)) => Ok(None),
            other => other.map(Some),
        })?;
        match moved {
            Some(true) => report.moved.push(saved.name.clone()),
            Some(false) => report.already += 1,
            None => {}
        }
    }
    store.write(|tx| {
        tx.set_default_backend(to);
        Ok(())
    })?;
    Ok(report)
}
