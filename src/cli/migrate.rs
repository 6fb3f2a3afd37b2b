//! `migrate --to file|keyring`: move every secret to one backend, safe to interrupt.
//!
//! Each credential moves in three steps, each of which leaves it readable:
//!
//! 1. **copy** the secret to the target (a keychain item, or the new record's inline field);
//! 2. **flip** the record in one atomic registry-file write, under the store lock, and only if
//!    the record is still the one step 1 copied (a concurrent `docker login` wins, and the
//!    next run moves its new secret);
//! 3. **delete** the source copy — for file → keyring the flip already dropped the inline
//!    secret; for keyring → file the keychain item is deleted after the flip.
//!
//! Interrupted between 1 and 2, the record still points at the source, which still holds the
//! secret; the extra target copy is overwritten by the re-run. Interrupted between 2 and 3,
//! the record points at the target, which holds the secret; only a stale keychain item is
//! left, and this command reports it. The store's recorded backend changes last, once every
//! credential has moved, so a re-run finishes the job.

use crate::credential::{Backend, Credential};
use crate::error::Result;
use crate::store::Store;
use crate::store::backend;

/// What a migration did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Credentials whose secret moved.
    pub moved: Vec<String>,
    /// Credentials already on the target.
    pub already: usize,
    /// Credentials changed by another process while moving; run `migrate` again.
    pub changed: Vec<String>,
    /// Keychain items that could not be deleted after their secret moved to the file store.
    pub stale: Vec<String>,
}

/// Moves every secret to `to`, then records `to` as the store's backend. Stops at the first
/// credential it cannot move (a keychain that is locked or gone would fail them all); what
/// moved before stays moved, and a re-run continues.
pub fn migrate(store: &Store, to: Backend) -> Result<Report> {
    let mut report = Report::default();
    for (registry, creds) in store.all()? {
        for cred in creds {
            if cred.backend == to {
                report.already += 1;
                continue;
            }
            move_one(store, &registry, &cred, to, &mut report)?;
        }
    }
    if report.changed.is_empty() {
        backend::set_recorded(store, to)?;
    }
    Ok(report)
}

fn move_one(
    store: &Store,
    registry: &str,
    cred: &Credential,
    to: Backend,
    report: &mut Report,
) -> Result<()> {
    // 1. Copy.
    let secret = backend::secret_of(cred)?;
    let mut moved = cred.clone();
    moved.backend = to;
    backend::put_secret(&mut moved, secret)?;
    // 2. Flip, if nobody changed the record meanwhile.
    let flipped = store.write(|tx| {
        let creds = tx.registry(registry)?;
        match creds.iter_mut().find(|c| c.name == cred.name) {
            Some(current) if current == cred => {
                *current = moved.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    })?;
    if !flipped {
        report.changed.push(cred.name.clone());
        return Ok(());
    }
    // 3. Delete the source copy (file → keyring: done by the flip).
    if cred.backend == Backend::Keyring
        && let Err(e) = crate::store::backend::remove_secret(cred)
    {
        report.stale.push(format!("{}: {e}", cred.name));
    }
    report.moved.push(cred.name.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{Provider, new_id, now_rfc3339};
    use crate::policy::Restrictions;
    use crate::secret::Secret;
    use crate::store::keychain;

    fn cred(name: &str, registry: &str, secret: &str) -> Credential {
        let now = now_rfc3339();
        Credential {
            id: new_id(),
            name: name.into(),
            description: String::new(),
            provider: Provider::Custom,
            registry: registry.into(),
            username: format!("user-{name}"),
            backend: Backend::File,
            secret: Some(Secret::new(secret)),
            restrictions: Restrictions::unrestricted(),
            created: now.clone(),
            updated: now,
        }
    }

    /// A file store with three file-backed credentials in two registries.
    fn seeded() -> (tempfile::TempDir, Store, Vec<(String, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let want = vec![
            ("alpha".to_string(), "a-secret ✓".to_string()),
            ("bravo".to_string(), "b-secret".to_string()),
            ("charlie".to_string(), "c".repeat(4096)),
        ];
        store
            .write(|tx| {
                tx.registry("a.example")?
                    .push(cred("alpha", "a.example", &want[0].1));
                tx.registry("b.example")?
                    .push(cred("bravo", "b.example", &want[1].1));
                tx.registry("b.example")?
                    .push(cred("charlie", "b.example", &want[2].1));
                Ok(())
            })
            .unwrap();
        (dir, store, want)
    }

    fn records(store: &Store) -> Vec<Credential> {
        let mut all: Vec<Credential> = store.all().unwrap().into_values().flatten().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Every credential reads back its own secret, wherever its record says it is.
    fn assert_all_readable(store: &Store, want: &[(String, String)]) {
        let all = records(store);
        assert_eq!(all.len(), want.len());
        for (c, (name, secret)) in all.iter().zip(want) {
            assert_eq!(&c.name, name);
            assert_eq!(backend::secret_of(c).unwrap().expose(), secret, "{name}");
        }
    }

    #[test]
    fn round_trip_file_keyring_file() {
        let (_dir, store, want) = seeded();
        let report = migrate(&store, Backend::Keyring).unwrap();
        assert_eq!(report.moved, ["alpha", "bravo", "charlie"]);
        for c in records(&store) {
            assert_eq!(c.backend, Backend::Keyring);
            assert!(c.secret.is_none(), "{} still has an inline secret", c.name);
        }
        assert_all_readable(&store, &want);
        assert_eq!(
            store.meta().unwrap().unwrap().backend,
            Some(Backend::Keyring)
        );
        let on_disk =
            std::fs::read_to_string(store.dir().join("registries/b.example.json")).unwrap();
        assert!(!on_disk.contains("b-secret"), "{on_disk}");

        let ids: Vec<String> = records(&store).into_iter().map(|c| c.id).collect();
        let report = migrate(&store, Backend::File).unwrap();
        assert_eq!(report.moved.len(), 3);
        assert!(report.stale.is_empty(), "{:?}", report.stale);
        assert_all_readable(&store, &want);
        assert_eq!(store.meta().unwrap().unwrap().backend, Some(Backend::File));
        for (id, c) in ids.iter().zip(records(&store)) {
            assert_eq!(&c.id, id, "ids are stable");
            assert!(
                keychain::get(id) == Ok(None),
                "keychain item of {} deleted",
                c.name
            );
        }
        assert_eq!(migrate(&store, Backend::File).unwrap().already, 3);
    }

    #[test]
    fn interrupted_to_keyring_keeps_everything_readable_and_a_rerun_completes() {
        let (_dir, store, want) = seeded();
        let bravo = records(&store)
            .into_iter()
            .find(|c| c.name == "bravo")
            .unwrap();
        keychain::memory::fail_next(&bravo.id, "the collection is locked");
        let err = migrate(&store, Backend::Keyring).unwrap_err().to_string();
        assert!(err.contains("\"bravo\"") && err.contains("locked"), "{err}");
        let backends: Vec<Backend> = records(&store).iter().map(|c| c.backend).collect();
        assert_eq!(backends, [Backend::Keyring, Backend::File, Backend::File]);
        assert_all_readable(&store, &want);
        assert_eq!(
            store.meta().unwrap().unwrap().backend,
            None,
            "not recorded yet"
        );

        let report = migrate(&store, Backend::Keyring).unwrap();
        assert_eq!((report.moved.len(), report.already), (2, 1));
        assert!(
            records(&store)
                .iter()
                .all(|c| c.backend == Backend::Keyring)
        );
        assert_all_readable(&store, &want);
        assert_eq!(
            store.meta().unwrap().unwrap().backend,
            Some(Backend::Keyring)
        );
    }

    #[test]
    fn interrupted_to_file_keeps_everything_readable_and_a_rerun_completes() {
        let (_dir, store, want) = seeded();
        migrate(&store, Backend::Keyring).unwrap();
        let charlie = records(&store)
            .into_iter()
            .find(|c| c.name == "charlie")
            .unwrap();
        keychain::memory::fail_next(&charlie.id, "the daemon went away");
        migrate(&store, Backend::File).unwrap_err();
        let backends: Vec<Backend> = records(&store).iter().map(|c| c.backend).collect();
        assert_eq!(backends, [Backend::File, Backend::File, Backend::Keyring]);
        assert_all_readable(&store, &want);
        assert_eq!(migrate(&store, Backend::File).unwrap().moved, ["charlie"]);
        assert_all_readable(&store, &want);
    }

    #[test]
    fn a_record_changed_mid_move_is_left_for_the_next_run() {
        let (_dir, store, _) = seeded();
        let before = records(&store);
        // Simulates a `docker login` between copy and flip: the record no longer matches.
        let mut report = Report::default();
        let mut stale = before[0].clone();
        stale.updated = "1999-01-01T00:00:00Z".into();
        move_one(&store, "a.example", &stale, Backend::Keyring, &mut report).unwrap();
        assert_eq!(report.changed, ["alpha"]);
        assert_eq!(records(&store)[0], before[0], "record untouched");
    }
}
