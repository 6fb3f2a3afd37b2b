//! A saved credential, as Northflank's "Save registry credentials" page describes one.

use serde::{Deserialize, Serialize};

use crate::host::{self, Key};
use crate::policy::Restrictions;
use crate::secret::Secret;

/// Northflank's provider ids. Each knows its registry host except `gitlab` (self-hosted
/// domains) and `custom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum Provider {
    Dockerhub,
    Gcr,
    GcrUs,
    GcrEu,
    GcrAsia,
    Github,
    Gitlab,
    Custom,
}

impl Provider {
    /// The registry this provider always uses, if fixed. GitLab defaults to gitlab.com's.
    pub fn default_host(self) -> Option<&'static str> {
        Some(match self {
            Provider::Dockerhub => host::DOCKER_HUB,
            Provider::Gcr => "gcr.io",
            Provider::GcrUs => "us.gcr.io",
            Provider::GcrEu => "eu.gcr.io",
            Provider::GcrAsia => "asia.gcr.io",
            Provider::Github => "ghcr.io",
            Provider::Gitlab => "registry.gitlab.com",
            Provider::Custom => return None,
        })
    }

    /// Whether the user may point this provider at a host of their own.
    pub fn takes_any_host(self) -> bool {
        matches!(self, Provider::Gitlab | Provider::Custom)
    }

    /// The provider a registry most likely belongs to, for credentials made by `docker login`.
    pub fn guess(key: &Key) -> Provider {
        match key.as_str() {
            k if k.starts_with(host::DOCKER_HUB) => Provider::Dockerhub,
            "gcr.io" => Provider::Gcr,
            "us.gcr.io" => Provider::GcrUs,
            "eu.gcr.io" => Provider::GcrEu,
            "asia.gcr.io" => Provider::GcrAsia,
            "ghcr.io" => Provider::Github,
            "registry.gitlab.com" => Provider::Gitlab,
            _ => Provider::Custom,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Dockerhub => "dockerhub",
            Provider::Gcr => "gcr",
            Provider::GcrUs => "gcr-us",
            Provider::GcrEu => "gcr-eu",
            Provider::GcrAsia => "gcr-asia",
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Custom => "custom",
        }
    }
}

/// Where a credential's secret lives. Recorded per credential, so a lookup never has to guess
/// (a locked keychain answers "no entry", which must not be mistaken for "not saved").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum Backend {
    /// Inline in the credential's registry file (0600, unencrypted).
    #[default]
    File,
    /// In the OS keychain, under the credential's id.
    Keyring,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::Keyring => "keyring",
        }
    }
}

/// One saved credential. The secret is inline only for the file backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// A stable random id, the account of the credential's keychain item: unlike the name
    /// it never changes, so the item outlives a rename. Empty in records written before ids
    /// existed; one is assigned when the secret first goes to the keychain.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub provider: Provider,
    /// The canonical registry key (see [`crate::host`]).
    pub registry: String,
    pub username: String,
    #[serde(default)]
    pub backend: Backend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    pub restrictions: Restrictions,
    pub created: String,
    pub updated: String,
}

/// A fresh credential id: 64 random bits as hex. Ids are not secret; they only have to be
/// unique, and std's per-process random hasher keys are enough for that without a crate.
pub fn new_id() -> String {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let bits = std::collections::hash_map::RandomState::new().hash_one((nanos, std::process::id()));
    format!("{bits:016x}")
}

/// Now as RFC 3339 UTC (`2026-11-28T16:22:48Z`), without a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-from-civil, inverted.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_796_568), "2026-11-27T16:22:48Z");
    }

    #[test]
    fn ids_are_hex_and_distinct() {
        let ids: std::collections::BTreeSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn provider_hosts_normalise_to_themselves() {
        for p in [
            Provider::Dockerhub,
            Provider::Gcr,
            Provider::GcrAsia,
            Provider::Github,
            Provider::Gitlab,
        ] {
            let h = p.default_host().unwrap();
            let key = host::normalize(h).unwrap();
            assert_eq!(key.as_str(), h);
            assert_eq!(Provider::guess(&key), p);
        }
    }
}
