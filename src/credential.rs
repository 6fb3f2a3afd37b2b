//! A saved credential, as Northflank's "Save registry credentials" page describes one.

use serde::{Deserialize, Serialize};

use crate::policy::Restrictions;
pub use crate::provider::Provider;

/// Where a credential's secret lives. Recorded per credential, so a lookup never has to guess
/// (a locked keychain answers "no entry", which must not be mistaken for "not saved").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "file" => Ok(Backend::File),
            "keyring" => Ok(Backend::Keyring),
            _ => Err(format!("unknown backend {s:?}: use file or keyring")),
        }
    }
}

/// One saved credential, as Northflank describes one: everything but the secret, which the
/// store keeps where its backend says (see [`crate::store`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// A stable random id: unlike the name it never changes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub provider: Provider,
    /// The canonical registry key (see [`crate::host`]).
    pub registry: String,
    pub username: String,
    pub restrictions: Restrictions,
    pub created: String,
    pub updated: String,
    /// Where a synced credential came from; `None` for one saved on this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

impl Credential {
    /// Marks a synced credential as changed on this machine, so the next `sync` fetches
    /// Northflank's version again instead of taking it as unchanged.
    pub fn changed_locally(&mut self) {
        if let Some(origin) = &mut self.origin {
            origin.updated_at = None;
        }
    }
}

/// The Northflank credential a synced one mirrors (SPEC §9): a re-sync finds it again by
/// `credential_id` (also after a rename) and removes it only when the same origin no longer
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Northflank's credential id.
    pub credential_id: String,
    /// The team it was synced from with `--team`; `None` for the token's own account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The API it was synced from (`https://api.northflank.com`, or `NORTHFLANK_API_URL`'s):
    /// a sync against another API (staging, a second installation) leaves it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Northflank's `updatedAt` when it was last fetched: an unchanged one is not fetched again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
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
    let (y, m, d, hh, mm, ss) = utc(secs as i64);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// Unix seconds as UTC (year, month, day, hour, minute, second), without a date crate:
/// Howard Hinnant's `civil_from_days` (proleptic Gregorian). Also what SigV4 signs with.
pub fn utc(secs: i64) -> (i64, u32, u32, i64, i64, i64) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
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
}
