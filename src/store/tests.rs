//! The transaction's rules, in-process: crash ordering at every step, secret placement,
//! invariants. (Real processes killed mid-write: `tests/store.rs`; a real keychain:
//! `tests/keychain.rs`.)

use super::*;
use crate::credential::{Credential, Provider, now_rfc3339};
use crate::policy::Restrictions;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("store")).with_notify(Arc::new(|_| {}));
    (dir, store)
}

fn cred(name: &str, registry: &str, user: &str, projects: &[&str]) -> Credential {
    let now = now_rfc3339();
    Credential {
        id: String::new(),
        name: name.into(),
        description: String::new(),
        provider: Provider::Custom,
        registry: registry.into(),
        username: user.into(),
        restrictions: Restrictions::to_projects(projects.iter().map(|p| p.to_string()).collect()),
        created: now.clone(),
        updated: now,
        origin: None,
    }
}

/// A store whose new secrets go to `backend`, holding `c` (user `u-old`, secret `old`).
fn seeded(backend: Backend) -> (tempfile::TempDir, Store, String) {
    let (dir, store) = store();
    store
        .write(|tx| {
            tx.set_default_backend(backend);
            tx.insert(cred("cred", "ghcr.io", "u-old", &[]), Secret::new("old"))
        })
        .unwrap();
    let id = store.find("cred").unwrap().unwrap().id.clone();
    (dir, store, id)
}

/// The one credential of `store`, as a fresh reader sees it: (user, secret).
fn read_back(store: &Store) -> (String, String) {
    let reopened = Store::new(store.dir());
    let key = crate::host::normalize("ghcr.io").unwrap();
    let creds = reopened.registry(&key).unwrap();
    assert_eq!(creds.len(), 1, "{creds:?}");
    let secret = reopened.secret(&creds[0]).unwrap();
    (creds[0].username.clone(), secret.expose().to_string())
}

/// An update of user and secret (what `docker login` and `import` do) stopped dead at each
/// step leaves the old credential whole or the new one whole, and the next write works.
#[test]
fn an_update_killed_at_any_step_leaves_the_old_or_the_new_credential_whole() {
    let steps: &[(Backend, &[&str])] = &[
        (Backend::File, &["before-commit", "committed", "indexed"]),
        (
            Backend::Keyring,
            &["item-written", "before-commit", "committed", "indexed"],
        ),
    ];
    for (backend, steps) in steps {
        for step in *steps {
            let (_dir, store, id) = seeded(*backend);
            tx::fault::crash_at(Some(step));
            let err = store
                .write(|tx| {
                    tx.update(&id, |c| c.username = "u-new".into())?;
                    tx.set_secret(&id, Secret::new("new"))
                })
                .unwrap_err();
            tx::fault::crash_at(None);
            assert!(err.to_string().contains("injected crash"), "{err}");
            let got = read_back(&store);
            let whole = [("u-old", "old"), ("u-new", "new")]
                .iter()
                .any(|(u, s)| got == (u.to_string(), s.to_string()));
            assert!(whole, "{backend:?} at {step}: {got:?}");
            let before_commit = matches!(*step, "item-written" | "before-commit");
            assert_eq!(got.1 == "old", before_commit, "{backend:?} at {step}");
            // The next writer finds a consistent store and finishes the job.
            store
                .write(|tx| tx.set_secret(&id, Secret::new("again")))
                .unwrap();
            let user = if before_commit { "u-old" } else { "u-new" };
            assert_eq!(read_back(&store), (user.to_string(), "again".to_string()));
        }
    }
}

#[test]
fn secrets_move_between_backends_and_back_with_a_stable_id() {
    let (_dir, store, id) = seeded(Backend::File);
    for to in [Backend::Keyring, Backend::File, Backend::Keyring] {
        assert!(store.write(|tx| tx.move_secret(&id, to)).unwrap());
        assert!(!store.write(|tx| tx.move_secret(&id, to)).unwrap());
        let saved = store.find("cred").unwrap().unwrap();
        assert_eq!((saved.id.as_str(), saved.backend()), (id.as_str(), to));
        assert_eq!(read_back(&store), ("u-old".to_string(), "old".to_string()));
        let on_disk = std::fs::read_to_string(store.dir().join("registries/ghcr.io.json")).unwrap();
        assert_eq!(
            on_disk.contains("\"old\""),
            to == Backend::File,
            "{on_disk}"
        );
    }
}

#[test]
fn every_invariant_is_kept_by_the_transaction() {
    let (_dir, store) = store();
    let insert = |c: Credential| store.write(|tx| tx.insert(c, Secret::new("s")));
    insert(cred("shared", "ghcr.io", "u", &[])).unwrap();
    insert(cred("p1 only", "GHCR.io:443", "u", &["p1"])).unwrap();
    let err = insert(cred("shared", "quay.io", "u", &[])).unwrap_err();
    assert!(
        err.to_string().contains("named \"shared\" already exists"),
        "{err}"
    );
    let err = insert(cred("second", "https://ghcr.io/v2/", "u", &[])).unwrap_err();
    assert!(
        err.to_string().contains("so \"second\" would be ambiguous"),
        "{err}"
    );
    let err = insert(cred("1bad", "quay.io", "u", &[])).unwrap_err();
    assert!(err.to_string().contains("invalid credential name"), "{err}");
    let err = insert(cred("bad host", "ghcr.io@evil.com", "u", &[])).unwrap_err();
    assert!(err.to_string().contains("invalid registry"), "{err}");
    // Registries are stored canonical; a rename keeps the id; a move is checked like a save.
    let p1 = store.find("p1 only").unwrap().unwrap();
    assert_eq!(p1.registry, "ghcr.io");
    store
        .write(|tx| tx.update(&p1.id, |c| c.name = "p1 token".into()))
        .unwrap();
    assert_eq!(store.find("p1 token").unwrap().unwrap().id, p1.id);
    let err = store
        .write(|tx| tx.update(&p1.id, |c| c.restrictions = Restrictions::unrestricted()))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("so \"p1 token\" would be ambiguous"),
        "{err}"
    );
    store
        .write(|tx| tx.update(&p1.id, |c| c.registry = "quay.io".into()))
        .unwrap();
    let moved = store.find("p1 token").unwrap().unwrap();
    assert_eq!(
        (moved.registry.as_str(), moved.id.as_str()),
        ("quay.io", p1.id.as_str())
    );
    assert_eq!(store.secret(&moved).unwrap().expose(), "s");
    assert_eq!(store.summaries().unwrap().len(), 2);
}

#[test]
fn a_record_that_names_another_registry_is_never_overwritten() {
    let (_dir, store) = store();
    store
        .write(|tx| {
            tx.set_default_backend(Backend::File);
            tx.insert(
                cred("quay", "quay.io", "u", &[]),
                Secret::new("quay-secret"),
            )
        })
        .unwrap();
    // As a hash collision would place it: quay.io's record where ghcr.io's belongs.
    let regs = store.dir().join("registries");
    std::fs::rename(regs.join("quay.io.json"), regs.join("ghcr.io.json")).unwrap();
    let err = store
        .write(|tx| tx.insert(cred("ghcr", "ghcr.io", "u", &[]), Secret::new("s")))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("holds the credentials of quay.io, not of ghcr.io"),
        "{err}"
    );
    let text = std::fs::read_to_string(regs.join("ghcr.io.json")).unwrap();
    assert!(text.contains("quay-secret"), "untouched");
}

#[test]
fn long_registry_names_get_distinct_files() {
    let (_dir, store) = store();
    // Three 60-letter labels: over the 200 bytes a readable file name may take.
    let label = "a".repeat(60);
    let long = |tail: &str| format!("{label}.{label}.{label}.example.org{tail}");
    store
        .write(|tx| {
            tx.insert(cred("one", &long(":5000"), "u1", &[]), Secret::new("s1"))?;
            tx.insert(cred("two", &long(":5001"), "u2", &[]), Secret::new("s2"))
        })
        .unwrap();
    for (tail, user) in [(":5000", "u1"), (":5001", "u2")] {
        let key = crate::host::normalize(&long(tail)).unwrap();
        let creds = store.registry(&key).unwrap();
        assert_eq!(creds.len(), 1);
        assert_eq!(creds[0].username, user);
    }
}

#[test]
fn a_keychain_that_refuses_a_save_changes_nothing_and_leaves_no_item() {
    let _kc = keychain::memory::isolate();
    let (_dir, store, id) = seeded(Backend::Keyring);
    let before = read_back(&store);
    let items = keychain::items().unwrap().unwrap();
    keychain::memory::fail_next_set("the collection is locked");
    let err = store
        .write(|tx| tx.set_secret(&id, Secret::new("new")))
        .unwrap_err();
    assert!(matches!(err, Error::Keychain(_)), "{err}");
    assert!(
        err.to_string().contains("\"cred\"") && err.to_string().contains("locked"),
        "{err}"
    );
    assert_eq!(read_back(&store), before);
    assert_eq!(keychain::items().unwrap().unwrap(), items);
}

#[test]
fn items_left_by_a_killed_writer_are_swept_by_the_next_keychain_write() {
    let _kc = keychain::memory::isolate();
    let (_dir, store, id) = seeded(Backend::Keyring);
    for step in ["item-written", "committed"] {
        tx::fault::crash_at(Some(step));
        store
            .write(|tx| tx.set_secret(&id, Secret::new(step)))
            .unwrap_err();
        tx::fault::crash_at(None);
    }
    // Killed twice: one new item never committed, one old item never deleted.
    assert_eq!(keychain::items().unwrap().unwrap().len(), 3);
    store
        .write(|tx| tx.set_secret(&id, Secret::new("last")))
        .unwrap();
    let items = keychain::items().unwrap().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(read_back(&store).1, "last");
}

#[test]
fn a_commit_that_fails_half_way_keeps_the_keychain_items_of_what_it_wrote() {
    let _kc = keychain::memory::isolate();
    let (_dir, store) = store();
    let err = store
        .write(|tx| {
            tx.set_default_backend(Backend::Keyring);
            tx.insert(cred("first", "a.example.com", "u1", &[]), Secret::new("s1"))?;
            tx.insert(
                cred("second", "b.example.com", "u2", &[]),
                Secret::new("s2"),
            )?;
            tx::fault::fail_at(Some("between-registries"));
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    // Whatever was written reads back whole: its item was not deleted with the failed rest.
    let saved: Vec<Saved> = store.all().unwrap().into_values().flatten().collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let secret = store.secret(&saved[0]).unwrap();
    assert_eq!(
        secret.expose(),
        if saved[0].name == "first" { "s1" } else { "s2" }
    );
    // The next write sweeps the item nothing refers to.
    store
        .write(|tx| tx.insert(cred("third", "c.example.com", "u3", &[]), Secret::new("s3")))
        .unwrap();
    assert_eq!(keychain::items().unwrap().unwrap().len(), 2);
}

#[test]
fn a_token_is_never_cached_on_a_record_that_changed_since_the_exchange() {
    let (_dir, store, id) = seeded(Backend::File);
    let before = store
        .registry(&crate::host::normalize("ghcr.io").unwrap())
        .unwrap()
        .remove(0);
    store
        .write(|tx| tx.set_secret(&id, Secret::new("rotated")))
        .unwrap();
    let token = Exchanged {
        token: Secret::new("old-key-token"),
        expires_at: i64::MAX,
    };
    store
        .write(|tx| tx.cache_token(&before, token.clone()))
        .unwrap();
    let now = store
        .registry(&crate::host::normalize("ghcr.io").unwrap())
        .unwrap()
        .remove(0);
    assert_eq!(
        now.exchanged, None,
        "the old key's token is not this record's"
    );
    store
        .write(|tx| tx.cache_token(&now, token.clone()))
        .unwrap();
    let cached = store
        .registry(&crate::host::normalize("ghcr.io").unwrap())
        .unwrap()
        .remove(0);
    assert_eq!(cached.exchanged, Some(token));
}

#[test]
fn a_save_that_would_outgrow_what_readers_read_is_refused_and_changes_nothing() {
    let (_dir, store, _) = seeded(Backend::File);
    let huge = "x".repeat(files::MAX_FILE as usize);
    let err = store
        .write(|tx| tx.insert(cred("huge", "ghcr.io", "u", &["p1"]), Secret::new(huge)))
        .unwrap_err();
    assert!(err.to_string().contains("more than the 64 MiB"), "{err}");
    assert_eq!(read_back(&store), ("u-old".into(), "old".into()));
    // A first save refused so leaves no store.json behind either (no backend recorded).
    let (_fresh_dir, fresh) = self::store();
    let huge = "x".repeat(files::MAX_FILE as usize);
    let err = fresh
        .write(|tx| {
            tx.set_default_backend(Backend::File);
            tx.insert(cred("huge", "ghcr.io", "u", &[]), Secret::new(huge))
        })
        .unwrap_err();
    assert!(err.to_string().contains("would take 65 MiB"), "{err}");
    assert!(!fresh.dir().join(files::META).exists());
}

#[test]
fn a_name_not_found_while_a_file_is_unreadable_names_that_file() {
    let (_dir, store, _) = seeded(Backend::File);
    store
        .write(|tx| tx.insert(cred("quay", "quay.io", "q", &[]), Secret::new("s")))
        .unwrap();
    std::fs::write(store.dir().join("registries/ghcr.io.json"), b"{broken").unwrap();
    let err = store.write(|tx| tx.named("cred").map(|_| ())).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("may be in a store file that cannot be read"),
        "{text}"
    );
    assert!(text.contains("ghcr.io.json"), "{text}");
    // What can be read is still found.
    store.write(|tx| tx.named("quay").map(|_| ())).unwrap();
}
