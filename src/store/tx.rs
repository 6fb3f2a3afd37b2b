//! Write transactions: the one place that decides where a secret goes and in which order
//! keychain items and records change.
//!
//! A [`Tx`] runs under the store's exclusive lock. Changes are made in memory, through methods
//! that keep the store's invariants (valid names, unique across the store; no two credentials a
//! project could be served for one registry; a canonical registry key per record), and are
//! committed at the end. The crash ordering (SPEC §5), for a keyring-backed secret:
//!
//! 1. a **new** keychain item is written (never the old one in place), during the transaction;
//! 2. the records are committed (each registry file atomically), then the index;
//! 3. still under the lock, keychain items that no record refers to are swept — left by a
//!    writer killed between 1 and 2, or between 2 and 4;
//! 4. after the lock is released, the items of replaced or removed records are deleted.
//!
//! Killed at any moment, every record still finds its secret: before 2 the old records name
//! the old items, after it the new records name the new items. A failed transaction deletes
//! the items it created and commits nothing. The store's backend choice (first save) is made
//! and recorded inside the same transaction: one lock and one read of `store.json` per save.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;

use super::files::{self, Meta};
use super::{Saved, Store, backend, keychain};
use crate::credential::{Backend, Credential, new_id};
use crate::error::{Error, Result};
use crate::host::{self, Key};
use crate::policy;
use crate::secret::Secret;

/// Changes to the store, committed together when the closure given to [`Store::write`]
/// returns `Ok`.
pub struct Tx<'a> {
    store: &'a Store,
    meta: Meta,
    /// Whether `store.json` must be written: it did not exist yet, or the backend choice changed.
    meta_dirty: bool,
    /// Per registry key: the credentials as read, and as changed.
    loaded: BTreeMap<String, (Vec<Saved>, Vec<Saved>)>,
    /// Where every credential is, by name and by id: read once from the committed records
    /// when first needed, then kept up to date by every change.
    directory: Option<Directory>,
    /// Keychain items this transaction wrote; deleted again if it does not commit.
    created: Vec<String>,
    /// Keychain items of records this transaction replaced or removed, with the credential's
    /// name for messages; deleted after the commit.
    discard: Vec<(String, String)>,
    /// Set once the first registry file of the commit is written: from then on the items this
    /// transaction created may be named by saved records, and only the sweep may delete them.
    writing: bool,
    /// Whether the ambiguity of each registry is checked once at commit, for a writer (`sync`)
    /// whose steps pass through states that are ambiguous on the way (two credentials trading
    /// their projects).
    check_at_commit: bool,
}

pub(super) fn run<T>(store: &Store, lock: File, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
    let existing = files::read_meta(&store.dir)?;
    let mut meta = existing.clone().unwrap_or_default();
    meta.version = files::FORMAT_VERSION;
    meta.id.get_or_insert_with(new_id);
    let mut tx = Tx {
        store,
        meta_dirty: existing.as_ref() != Some(&meta),
        meta,
        loaded: BTreeMap::new(),
        directory: None,
        created: Vec::new(),
        discard: Vec::new(),
        writing: false,
        check_at_commit: false,
    };
    let out = match f(&mut tx).and_then(|out| tx.commit().map(|()| out)) {
        Ok(out) => out,
        Err(e) => {
            if !fault::crashed() && !tx.writing {
                tx.abandon();
            }
            return Err(e);
        }
    };
    drop(lock);
    tx.discard_replaced();
    Ok(out)
}

/// Reading.
impl Tx<'_> {
    /// The credentials of one registry, as changed so far in this transaction.
    pub fn registry(&mut self, key: &Key) -> Result<&[Saved]> {
        Ok(&self.load(key.as_str())?[..])
    }

    /// Every credential (secrets left out), as changed so far in this transaction.
    pub fn all(&mut self) -> Result<Vec<Saved>> {
        let mut all = self.store.summaries()?;
        for (key, (_, now)) in &self.loaded {
            all.insert(key.clone(), now.iter().map(Saved::summary).collect());
        }
        Ok(all.into_values().flatten().collect())
    }

    /// The credential called `name`, as changed so far.
    pub fn find(&mut self, name: &str) -> Result<Option<Saved>> {
        let Some(key) = self.directory()?.by_name.get(name).cloned() else {
            return Ok(None);
        };
        Ok(self
            .load(&key)?
            .iter()
            .find(|c| c.name == name)
            .map(Saved::summary))
    }

    /// The credential called `name`, or an error that says how to see the saved names — or,
    /// when a registry file could not be read, that it may be in there.
    pub fn named(&mut self, name: &str) -> Result<Saved> {
        if let Some(found) = self.find(name)? {
            return Ok(found);
        }
        match self.directory()?.unreadable.first() {
            Some(why) => Err(Error::Store(format!(
                "no readable credential is named {name:?}, and it may be in a store file that cannot be read: {why}"
            ))),
            None => Err(Error::BadInput(format!(
                "no credential named {name:?}: see `docker-credential-northflank ls`"
            ))),
        }
    }

    /// Whether a credential is called `name`, as changed so far.
    pub fn name_taken(&mut self, name: &str) -> Result<bool> {
        Ok(self.directory()?.by_name.contains_key(name))
    }

    /// The secret of a credential, wherever it is.
    pub fn secret(&mut self, id: &str) -> Result<Secret> {
        let (key, i) = self.locate(id)?;
        let saved = self.load(&key)?[i].clone();
        self.store.secret(&saved)
    }
}

/// Changing.
impl Tx<'_> {
    /// Saves a new credential with `secret`, on the backend chosen for new secrets. Refuses a
    /// name that is taken or invalid, and a credential that would make the choice of one
    /// registry's credential ambiguous for some project.
    pub fn insert(&mut self, mut cred: Credential, secret: Secret) -> Result<()> {
        policy::check_name(&cred.name).map_err(Error::BadInput)?;
        let key = canonical(&cred.registry)?;
        cred.registry = key.as_str().to_string();
        if cred.id.is_empty() {
            cred.id = new_id();
        }
        if self.name_taken(&cred.name)? {
            return Err(taken(&cred.name));
        }
        let mut saved = Saved {
            cred,
            backend: Backend::File,
            secret: None,
            item: None,
            exchanged: None,
        };
        if !self.check_at_commit {
            check_unambiguous(&key, self.load(key.as_str())?, Some(&saved))?;
        }
        let backend = self.backend_for_new()?;
        self.place(&mut saved, backend, secret)?;
        self.directory()?.add(&saved, key.as_str());
        self.load(key.as_str())?.push(saved);
        Ok(())
    }

    /// Changes a credential's metadata. The id and where the secret is stay as they are;
    /// a changed name or registry is checked like a new one.
    pub fn update(&mut self, id: &str, change: impl FnOnce(&mut Credential)) -> Result<()> {
        let (key, i) = self.locate(id)?;
        let mut saved = self.load(&key)?[i].clone();
        let old_name = saved.name.clone();
        let old_login = (saved.username.clone(), saved.registry.clone());
        change(&mut saved.cred);
        // A token obtained for another user or registry is not this credential's.
        if (saved.username.clone(), saved.registry.clone()) != old_login {
            saved.exchanged = None;
        }
        saved.cred.id = id.to_string();
        policy::check_name(&saved.name).map_err(Error::BadInput)?;
        if saved.name != old_name && self.name_taken(&saved.name)? {
            return Err(taken(&saved.name));
        }
        let new_key = canonical(&saved.registry)?;
        saved.cred.registry = new_key.as_str().to_string();
        if new_key.as_str() == key {
            let creds = self.load(&key)?;
            let others: Vec<Saved> = creds
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| c.clone())
                .collect();
            if !self.check_at_commit {
                check_unambiguous(&new_key, &others, Some(&saved))?;
            }
        } else if !self.check_at_commit {
            check_unambiguous(&new_key, self.load(new_key.as_str())?, Some(&saved))?;
        }
        let directory = self.directory()?;
        directory.by_name.remove(&old_name);
        directory.add(&saved, new_key.as_str());
        if new_key.as_str() == key {
            self.load(&key)?[i] = saved;
        } else {
            self.load(&key)?.remove(i);
            self.load(new_key.as_str())?.push(saved);
        }
        Ok(())
    }

    /// Replaces a credential's secret, on the backend it already uses (only [`Tx::move_secret`]
    /// moves secrets). A keychain secret goes to a new item; the old one is deleted after the
    /// commit, so a crash never leaves a record whose secret is gone.
    pub fn set_secret(&mut self, id: &str, secret: Secret) -> Result<()> {
        let (key, i) = self.locate(id)?;
        let mut saved = self.load(&key)?[i].clone();
        let old_item = saved.item.take();
        saved.exchanged = None;
        let backend = saved.backend;
        self.place(&mut saved, backend, secret)?;
        if let Some(item) = old_item {
            self.discard.push((item, saved.name.clone()));
        }
        self.load(&key)?[i] = saved;
        Ok(())
    }

    /// Removes a credential. A keychain secret is deleted after the commit; the removal is
    /// refused while the keychain cannot delete it (removing a credential must not leave its
    /// secret behind).
    pub fn remove(&mut self, id: &str) -> Result<Credential> {
        let (key, i) = self.locate(id)?;
        let saved = self.load(&key)?[i].clone();
        if let Some(item) = &saved.item {
            keychain::probe().map_err(|why| {
                Error::Keychain(format!(
                    "cannot delete the secret of credential {:?} in the keychain: {why}",
                    saved.name
                ))
            })?;
            self.discard.push((item.clone(), saved.name.clone()));
        }
        self.load(&key)?.remove(i);
        let directory = self.directory()?;
        directory.by_name.remove(&saved.name);
        directory.by_id.remove(&saved.id);
        Ok(saved.cred)
    }

    /// Moves a credential's secret to `to`: copied there first, the record switched at commit,
    /// the old copy deleted after. `Ok(false)` when it is already there.
    pub fn move_secret(&mut self, id: &str, to: Backend) -> Result<bool> {
        let (key, i) = self.locate(id)?;
        let mut saved = self.load(&key)?[i].clone();
        if saved.backend == to {
            return Ok(false);
        }
        let secret = self.store.secret(&saved)?;
        let old_item = saved.item.take();
        self.place(&mut saved, to, secret)?;
        if let Some(item) = old_item {
            self.discard.push((item, saved.name.clone()));
        }
        self.load(&key)?[i] = saved;
        Ok(true)
    }

    /// Caches a registry token obtained for a credential's secret (see
    /// [`Store::exchanged_token`]).
    /// Nothing is cached when the record changed since `exchanged_for` was read (a new key
    /// pair saved meanwhile): the token belongs to the old one.
    pub fn cache_token(&mut self, exchanged_for: &Saved, token: super::Exchanged) -> Result<()> {
        let (key, i) = self.locate(&exchanged_for.id)?;
        let current = &mut self.load(&key)?[i];
        let same = Saved {
            exchanged: None,
            ..current.clone()
        } == Saved {
            exchanged: None,
            ..exchanged_for.clone()
        };
        if same {
            current.exchanged = Some(token);
        }
        Ok(())
    }

    /// Replaces the user name and secret of a credential with what a login (`docker login`,
    /// an imported `config.json`) gives: a ready registry secret. A key pair that was exchanged
    /// for tokens (ECR) is replaced by it and served as it is from now on; a synced credential
    /// changed here is fetched again by the next `sync`, which puts Northflank's back.
    pub fn replace_login(&mut self, id: &str, username: &str, secret: Secret) -> Result<()> {
        self.update(id, |c| {
            c.username = username.to_string();
            c.updated = crate::credential::now_rfc3339();
            if c.provider.exchanges_secret()
                && let Ok(key) = host::normalize(&c.registry)
            {
                c.provider = crate::provider::Provider::guess(&key);
            }
            c.changed_locally();
        })?;
        self.set_secret(id, secret)
    }

    /// Checks that no project is served two credentials of one registry once, at commit, for
    /// each registry changed — instead of after every step (see `check_at_commit`).
    pub fn check_ambiguity_at_commit(&mut self) {
        self.check_at_commit = true;
    }

    /// Makes `backend` the store's choice for new secrets (`migrate`).
    pub fn set_default_backend(&mut self, backend: Backend) {
        if self.meta.backend != Some(backend) {
            self.meta.backend = Some(backend);
            self.meta_dirty = true;
        }
    }
}

/// Inside.
impl Tx<'_> {
    fn load(&mut self, key: &str) -> Result<&mut Vec<Saved>> {
        if !self.loaded.contains_key(key) {
            let path = files::registry_path(&self.store.dir, key);
            let creds = match files::read_registry(&path)? {
                None => Vec::new(),
                Some(f) if f.registry == key => f.credentials,
                // Only a file renamed by hand can name another registry (long keys are hashed
                // with SHA-256): it is never overwritten.
                Some(f) => {
                    return Err(Error::Store(format!(
                        "store file {} holds the credentials of {}, not of {key}: move it away",
                        path.display(),
                        f.registry
                    )));
                }
            };
            self.loaded.insert(key.to_string(), (creds.clone(), creds));
        }
        Ok(&mut self.loaded.get_mut(key).expect("BUG: just inserted").1)
    }

    fn directory(&mut self) -> Result<&mut Directory> {
        if self.directory.is_none() {
            let mut directory = Directory::default();
            let (all, unreadable) = self.store.readable_summaries()?;
            directory.unreadable = unreadable;
            for (key, creds) in all {
                // Loaded registries are current; the rest is as committed.
                if !self.loaded.contains_key(&key) {
                    creds.iter().for_each(|c| directory.add(c, &key));
                }
            }
            for (key, (_, now)) in &self.loaded {
                now.iter().for_each(|c| directory.add(c, key));
            }
            self.directory = Some(directory);
        }
        Ok(self.directory.as_mut().expect("BUG: just set"))
    }

    /// The registry key and position of the credential with `id`.
    fn locate(&mut self, id: &str) -> Result<(String, usize)> {
        let key = self
            .directory()?
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| {
                Error::Conflict(
                    "the credential changed while this command ran (another process removed it); try again"
                        .into(),
                )
            })?;
        let i = self
            .load(&key)?
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| {
                Error::Conflict("the credential changed while this command ran; try again".into())
            })?;
        Ok((key, i))
    }

    /// Puts `secret` on `backend` for `saved` and updates the record to match: inline for the
    /// file backend, a new keychain item for the keyring.
    fn place(&mut self, saved: &mut Saved, backend: Backend, secret: Secret) -> Result<()> {
        saved.backend = backend;
        match backend {
            Backend::File => {
                saved.secret = Some(secret);
                saved.item = None;
            }
            Backend::Keyring => {
                let item = format!("{}.{}", self.item_prefix(), new_id());
                let label = format!("{}: {} ({})", keychain::SERVICE, saved.name, saved.registry);
                keychain::set(&item, &label, &secret).map_err(|why| {
                    Error::Keychain(format!(
                        "cannot save the secret of credential {:?} in the keychain: {why}",
                        saved.name
                    ))
                })?;
                self.created.push(item.clone());
                fault::point("item-written")?;
                saved.secret = None;
                saved.item = Some(item);
            }
        }
        Ok(())
    }

    fn item_prefix(&self) -> &str {
        self.meta
            .id
            .as_deref()
            .expect("BUG: every transaction has a store id")
    }

    /// The backend a new credential's secret goes to, recorded by the first save.
    fn backend_for_new(&mut self) -> Result<Backend> {
        let (chosen, record) = backend::choose(self.meta.backend, self.store)?;
        if record && self.meta.backend.is_none() {
            self.meta.backend = Some(chosen);
            self.meta_dirty = true;
        }
        Ok(chosen)
    }

    fn commit(&mut self) -> Result<()> {
        fault::point("before-commit")?;
        let root = self.store.dir.clone();
        let changed: BTreeMap<String, Vec<Saved>> = self
            .loaded
            .iter()
            .filter(|(_, (read, now))| read != now)
            .map(|(key, (_, now))| (key.clone(), now.clone()))
            .collect();
        // Every registry file's bytes before anything is written: one that is refused (too
        // large) refuses the whole commit, `store.json` included.
        let mut bytes: BTreeMap<&String, Option<Vec<u8>>> = BTreeMap::new();
        for (key, creds) in &changed {
            bytes.insert(key, files::registry_bytes(key, creds)?);
        }
        if self.meta_dirty {
            let meta = serde_json::to_vec_pretty(&self.meta).expect("BUG: meta serialises");
            files::write(&root.join(files::META), &meta)?;
        }
        if changed.is_empty() {
            return Ok(());
        }
        // The index is checked before any registry file changes: afterwards the changed files
        // no longer match it, by design.
        let before = files::list(&root)?;
        let old = files::read_index(&root).filter(|index| index.matches(&before));
        // Files that gain credentials first: a credential moved to another registry is, if the
        // writer dies half-way, in both files for a moment rather than in neither.
        if self.check_at_commit {
            for (key, creds) in &changed {
                check_unambiguous(&canonical(key)?, creds, None)?;
            }
        }
        let mut order: Vec<(&String, &Vec<Saved>)> = changed.iter().collect();
        order.sort_by_key(|(key, now)| now.len() < self.loaded[*key].0.len());
        let order: Vec<(&String, Option<Vec<u8>>)> = order
            .into_iter()
            .map(|(key, _)| (key, bytes.remove(key).flatten()))
            .collect();
        self.writing = true;
        for (i, (key, bytes)) in order.into_iter().enumerate() {
            if i > 0 {
                fault::point("between-registries")?;
            }
            files::write_registry(&files::registry_path(&root, key), bytes.as_deref())?;
        }
        crate::fsutil::sync_dir(&root.join(files::REGISTRIES));
        fault::point("committed")?;
        self.write_index(old, &changed);
        fault::point("indexed")?;
        if !self.created.is_empty() || !self.discard.is_empty() {
            self.sweep_orphans();
        }
        self.created.clear();
        Ok(())
    }

    /// Brings the index up to date after `changed` registries were written: patched when the
    /// old one was current, else rebuilt from the files. Best effort — the registry files are
    /// already saved, and a missing or outdated index only sends readers to the files.
    fn write_index(&self, old: Option<files::Index>, changed: &BTreeMap<String, Vec<Saved>>) {
        let root = &self.store.dir;
        let path = root.join(files::INDEX);
        let remove = || {
            let _ = std::fs::remove_file(&path);
        };
        let Ok(now) = files::list(root) else {
            return remove();
        };
        let index = match old {
            Some(mut index) => {
                for (key, creds) in changed {
                    let name = files::file_name(key);
                    match now.get(&name) {
                        Some(stamp) if !creds.is_empty() => {
                            let entry = files::Indexed {
                                stamp: *stamp,
                                registry: key.clone(),
                                credentials: creds.iter().map(Saved::summary).collect(),
                            };
                            index.files.insert(name, entry);
                        }
                        _ => {
                            index.files.remove(&name);
                        }
                    }
                }
                Some(index)
            }
            None => build_index(root, &now),
        };
        match index {
            Some(index) if index.matches(&now) => {
                if files::write(&path, &files::frame_index(&index)).is_err() {
                    remove();
                }
            }
            // A registry file that cannot be read: no index, so readers report that file
            // instead of silently leaving it out.
            _ => remove(),
        }
    }

    /// Deletes keychain items that no record refers to. Run under the lock, after the commit,
    /// when every record is on disk and no other writer has an item in flight. Best effort,
    /// and only when every record could be read (else an unreadable record's item would look
    /// unused).
    fn sweep_orphans(&mut self) {
        let Ok(all) = self.store.summaries() else {
            return;
        };
        let referenced: BTreeSet<String> = all
            .values()
            .flatten()
            .filter_map(|c| c.item.clone())
            .collect();
        let Ok(Some(mut items)) = keychain::items() else {
            return;
        };
        let ours = format!("{}.", self.item_prefix());
        items.retain(|i| i.starts_with(&ours));
        for item in items.iter().filter(|i| !referenced.contains(*i)) {
            let _ = keychain::delete(item);
        }
        // What the sweep saw, it removed: those need no discard.
        self.discard.retain(|(item, _)| !items.contains(item));
    }

    /// After a failed transaction: the items it wrote are referenced by nothing.
    fn abandon(&mut self) {
        for item in self.created.drain(..) {
            let _ = keychain::delete(&item);
        }
    }

    /// After the commit and outside the lock: deletes the items of replaced or removed records.
    /// An item left behind is unused (and swept by a later write), so a failure is a notice.
    fn discard_replaced(&mut self) {
        for (item, name) in self.discard.drain(..) {
            if let Err(why) = keychain::delete(&item) {
                self.store.notice(&format!(
                    "the old keychain item of {name:?} could not be deleted ({why}); it is unused and \
                     will be removed by a later save"
                ));
            }
        }
    }
}

/// Where each credential of the store is: its registry key by name and by id.
#[derive(Default)]
struct Directory {
    by_name: std::collections::HashMap<String, String>,
    by_id: std::collections::HashMap<String, String>,
    /// Why registry files left out of the maps could not be read.
    unreadable: Vec<Error>,
}

impl Directory {
    fn add(&mut self, saved: &Saved, key: &str) {
        self.by_name.insert(saved.name.clone(), key.to_string());
        self.by_id.insert(saved.id.clone(), key.to_string());
    }
}

/// An index of every registry file, or `None` if one cannot be read.
fn build_index(
    root: &std::path::Path,
    files_now: &BTreeMap<String, files::Stamp>,
) -> Option<files::Index> {
    let mut index = files::Index {
        version: files::FORMAT_VERSION,
        files: BTreeMap::new(),
    };
    for read in files::read_each(root, files_now) {
        let file = read.file.ok()??;
        let entry = files::Indexed {
            stamp: read.stamp,
            registry: file.registry,
            credentials: file.credentials.iter().map(Saved::summary).collect(),
        };
        index.files.insert(read.name, entry);
    }
    Some(index)
}

fn canonical(registry: &str) -> Result<Key> {
    host::normalize(registry).map_err(|e| {
        Error::BadInput(format!(
            "invalid registry {:?}: {e}",
            host::redacted(registry)
        ))
    })
}

fn taken(name: &str) -> Error {
    Error::Conflict(format!(
        "a credential named {name:?} already exists: choose another name, or remove it with `rm` first"
    ))
}

fn check_unambiguous(key: &Key, others: &[Saved], new: Option<&Saved>) -> Result<()> {
    let items = others
        .iter()
        .chain(new)
        .map(|c| (c.name.as_str(), &c.restrictions));
    policy::check_unambiguous(key.as_str(), items, new.map(|c| c.name.as_str()))
        .map_err(Error::Conflict)
}

/// Crash injection for the tests that show every step of a save leaves the old or the new
/// credential whole. Compiled into debug builds only: `NORTHFLANK_FAULT=STEP` aborts the
/// process at that step (as a `SIGKILL` would stop it); unit tests stop the transaction there
/// without any clean-up.
pub(crate) mod fault {
    #[cfg(test)]
    use crate::error::Error;
    use crate::error::Result;

    #[cfg(test)]
    thread_local! {
        static AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
        static HIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        static FAIL: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
    }

    /// Unit tests: the next transaction of this thread fails at `step` as an I/O error would
    /// (a full disk), with its normal clean-up.
    #[cfg(test)]
    pub fn fail_at(step: Option<&'static str>) {
        FAIL.with(|f| f.set(step));
    }

    /// Unit tests: the next transaction of this thread stops dead at `step`.
    #[cfg(test)]
    pub fn crash_at(step: Option<&'static str>) {
        AT.with(|a| a.set(step));
        HIT.with(|h| h.set(false));
    }

    pub fn point(step: &'static str) -> Result<()> {
        #[cfg(test)]
        if FAIL.with(|f| f.get()) == Some(step) {
            FAIL.with(|f| f.set(None));
            return Err(Error::Store(format!("injected failure at {step}")));
        }
        #[cfg(test)]
        if AT.with(|a| a.get()) == Some(step) {
            HIT.with(|h| h.set(true));
            AT.with(|a| a.set(None));
            return Err(Error::Store(format!("injected crash at {step}")));
        }
        #[cfg(debug_assertions)]
        if std::env::var_os("NORTHFLANK_FAULT").is_some_and(|v| v == step) {
            std::process::abort();
        }
        let _ = step;
        Ok(())
    }

    /// Whether the transaction stopped at an injected crash (then nothing is cleaned up).
    pub fn crashed() -> bool {
        #[cfg(test)]
        return HIT.with(|h| h.replace(false));
        #[cfg(not(test))]
        false
    }
}
