//! `verify NAME|HOST`: checks a saved credential against its registry (see [`crate::verify`]).

use std::path::PathBuf;

use anyhow::Context as _;

use crate::protocol::{self, View};
use crate::store::Store;
use crate::{host, verify};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A credential name, or a registry host (checks what `get` serves for it here).
    target: String,
    #[command(flatten)]
    opts: Reach,
}

/// How to reach the registry when verifying (also `add --verify`).
#[derive(Debug, clap::Args)]
pub struct Reach {
    /// Trust this CA certificate too (PEM, or one DER certificate), for a registry with a private CA.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
    /// Allow plain http:// to a registry that is not on this machine.
    #[arg(long)]
    insecure_http: bool,
}

impl Reach {
    pub fn options(&self) -> verify::Options {
        let mut o = verify::Options::from_env();
        o.timeout = std::time::Duration::from_secs(self.timeout.max(1));
        o.ca_cert = self.ca_cert.clone();
        o.insecure_http = self.insecure_http;
        o
    }
}

/// A name picks that credential; a host picks what `get` serves for it in this context.
pub fn run(store: Store, a: Args) -> anyhow::Result<()> {
    let target = a.target.as_str();
    let by_name = store.find(target)?;
    // A host keeps the caller's spelling, so `verify http://localhost:5000` asks over http.
    let registry = by_name
        .as_ref()
        .map_or(target, |c| c.registry.as_str())
        .to_string();
    let view = View::from_env()?;
    let saved = match by_name {
        Some(c) => c,
        None => {
            let key = host::normalize(target).map_err(|e| {
                anyhow::anyhow!(
                    "{:?} is neither a saved credential's name nor a registry ({e})",
                    host::redacted(target)
                )
            })?;
            protocol::served_for(&view, &key)?.with_context(|| {
                format!(
                    "no credential for {key} in this context: see `docker-credential-northflank ls`"
                )
            })?
        }
    };
    let (username, secret) = protocol::credentials_of(&view, &saved)?;
    let accepted = verify::verify(&registry, &username, &secret, &a.opts.options())?;
    super::output::line(&format!(
        "{:?} ({}): {accepted}",
        saved.name, saved.registry
    ))?;
    Ok(())
}
