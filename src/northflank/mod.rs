//! Connected to Northflank (SPEC §9): `sync` mirrors the registry credentials a team saved in
//! Northflank, with their project restrictions, into the local store.
//!
//! The work is split where it can be tested on its own:
//!
//! - [`token`]: where the API token and the API base come from (flags, environment, the
//!   official CLI's login file) — pure over an [`token::Env`], so tests never touch the
//!   process environment.
//! - [`wire`]: the documented JSON answers as serde types, and the pure conversion of one
//!   answer into an [`Upstream`] credential or a stated reason to skip it.
//! - [`api`]: the HTTP conversation over [`crate::http`] — pagination, the incremental
//!   `GET`s, retries, rate limits, and errors that say what to do.
//! - [`plan`]: pure: what a sync changes in the store (create, update, rename, remove, skip),
//!   for `--dry-run`, `--json` and the store transaction that applies it.
//!
//! The store never sees this module's HTTP types and this module never sees the store: the
//! `sync` command calls [`api::fetch`] (outside the store's lock: it is the slow part), then,
//! inside one store transaction, [`plan::plan`] against the credentials as they are under the
//! lock, and applies the plan's steps.

pub mod api;
pub mod error;
pub mod plan;
pub mod token;
pub mod wire;

use serde::Serialize;

use crate::policy::Restrictions;
use crate::provider::Provider;
use crate::secret::Secret;

pub use crate::credential::Origin;
pub use error::SyncError;

/// Whose credentials a sync mirrors: the token's own account, or one team (`--team ID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Account,
    Team(String),
}

impl Scope {
    /// The scope for `--team ID` (or none). Team ids go into URL paths, so only Northflank's
    /// id characters are accepted.
    pub fn new(team: Option<&str>) -> Result<Scope, SyncError> {
        match team {
            None => Ok(Scope::Account),
            Some(t) if crate::policy::valid_project_id(t) => Ok(Scope::Team(t.to_string())),
            Some(t) => Err(SyncError::Config(format!(
                "invalid team id {:?}: a Northflank id has only letters, digits and hyphens \
                 (give the team's id, not its display name)",
                error::one_line(t, 60)
            ))),
        }
    }

    /// The team as [`Origin::team`] records it.
    pub fn team(&self) -> Option<&str> {
        match self {
            Scope::Account => None,
            Scope::Team(t) => Some(t),
        }
    }

    /// Whether a credential with this origin was synced from this scope.
    pub fn owns(&self, origin: &Origin) -> bool {
        origin.team.as_deref() == self.team()
    }

    /// For messages: `the token's account` or `team ID`.
    pub fn describe(&self) -> String {
        match self {
            Scope::Account => "the token's account".to_string(),
            Scope::Team(t) => format!("team {t}"),
        }
    }
}

/// One credential as Northflank holds it, ready to be saved: every field checked, the
/// registry normalised, the secret present. Built by [`wire::convert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Northflank's `legacy` and providers this program does not know arrive as `custom`.
    pub provider: Provider,
    /// The canonical registry key ([`crate::host::normalize`]).
    pub registry: String,
    pub username: String,
    pub secret: Secret,
    pub restrictions: Restrictions,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl Upstream {
    /// The origin to save with this credential when it is synced from `scope`.
    pub fn origin(&self, scope: &Scope) -> Origin {
        Origin {
            credential_id: self.id.clone(),
            team: scope.team().map(str::to_string),
            api: None,
            updated_at: self.updated_at.clone(),
        }
    }
}

/// What [`api::fetch`] brought back: one entry per listed credential, in list order.
#[derive(Debug)]
pub struct Fetched {
    pub scope: Scope,
    pub entries: Vec<Entry>,
    /// HTTP requests sent, retries included (the benchmark prints them; tests assert them).
    pub requests: Requests,
    /// Set when the list was read in full but the `GET`s stopped part-way (rate limit, server
    /// down). The entries not fetched are [`Entry::NotFetched`], and applying the plan still
    /// saves what was fetched: a first sync larger than the rate limit finishes over several
    /// runs instead of starting over each time. The command exits with this error's code.
    pub stopped: Option<SyncError>,
}

/// Requests sent, by endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    pub list: u32,
    pub get: u32,
}

impl Requests {
    pub fn total(&self) -> u32 {
        self.list + self.get
    }
}

/// One listed credential after the fetch.
#[derive(Debug)]
pub enum Entry {
    /// Fetched and convertible: the credential to save.
    Fetched(Upstream),
    /// The list's `updatedAt` equals the one saved here: not fetched again.
    Unchanged { id: String, name: String },
    /// Listed, but it cannot be mirrored; `reason` says why.
    Skipped {
        id: String,
        name: String,
        reason: String,
    },
    /// Listed, but Northflank's get said it has no such credential: deleted since the list.
    /// Planned like a credential the list no longer has.
    Gone {
        id: String,
        name: String,
        reason: String,
    },
    /// Not fetched because the sync stopped first ([`Fetched::stopped`]), or fetched with an
    /// answer that could not be read (`unreadable`, which fails the sync at its end): the copy
    /// here, if any, stays as it was.
    NotFetched {
        id: String,
        name: String,
        unreadable: bool,
    },
}

impl Entry {
    pub fn id(&self) -> &str {
        match self {
            Entry::Fetched(u) => &u.id,
            Entry::Unchanged { id, .. }
            | Entry::Skipped { id, .. }
            | Entry::Gone { id, .. }
            | Entry::NotFetched { id, .. } => id,
        }
    }

    /// Northflank's name for it.
    pub fn name(&self) -> &str {
        match self {
            Entry::Fetched(u) => &u.name,
            Entry::Unchanged { name, .. }
            | Entry::Skipped { name, .. }
            | Entry::Gone { name, .. }
            | Entry::NotFetched { name, .. } => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        assert_eq!(Scope::new(None).unwrap(), Scope::Account);
        assert_eq!(
            Scope::new(Some("my-team-1")).unwrap(),
            Scope::Team("my-team-1".into())
        );
        for bad in ["", "a/b", "../x", "a?b", "a b"] {
            let e = Scope::new(Some(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 1, "{bad}");
            assert!(e.to_string().contains("invalid team id"), "{e}");
        }
        let team = Scope::Team("t".into());
        let origin = |team: Option<&str>| Origin {
            credential_id: "c".into(),
            team: team.map(str::to_string),
            api: None,
            updated_at: None,
        };
        assert!(team.owns(&origin(Some("t"))));
        assert!(!team.owns(&origin(None)));
        assert!(!team.owns(&origin(Some("u"))));
        assert!(Scope::Account.owns(&origin(None)));
        assert!(!Scope::Account.owns(&origin(Some("t"))));
    }
}
