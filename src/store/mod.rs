//! The store: one small JSON file per registry, written atomically under a lock, with secrets
//! inline (file backend) or in the OS keychain (keyring backend). It alone decides where a
//! secret goes and in which order keychain items and records change (SPEC §5); every writer —
//! the protocol, `add`, `import-docker-config`, `sync`, `rm`, `migrate` — goes through one
//! [`Tx`].
//!
//! Layout of the store folder (0700, ours, not writable by others, or it is refused):
//!
//! ```text
//! store.json               {"version":2,"backend":"keyring"}  — format version, chosen backend
//! .lock                    advisory lock held by every writer
//! .exchange-<id>.lock      advisory lock held while a token is exchanged (ECR); the last failure
//! index.json               every credential without its secret, for `list` and `ls`
//! registries/<key>.json    {"version":2,"registry":"ghcr.io","credentials":[…]}  (0600)
//! ```
//!
//! Why one file per registry: `get` is on the path of every pull, and must cost the same with
//! 10,000 saved credentials as with one — it reads exactly one small file and takes no lock.
//! Readers never see a half-written file because writers write a temp file (random name,
//! created exclusively, 0600), `fsync` it and `rename` it over the old one; a protocol write
//! touches one registry file, so it is atomic as a whole, and every credential lives in exactly
//! one file, so a multi-registry write (`sync`, `import`) interrupted at any point leaves each
//! credential as it was or as written. Writers serialise on an exclusive `flock`, which the
//! kernel drops when a writer dies, and sweep the temp files of dead writers.
//!
//! `list` must stay fast with thousands of registries, so writers also keep `index.json`, a
//! secret-free copy of all records. It is derived data, and it records the identity of every
//! registry file it was built from (inode, size, modification and status-change times). A
//! reader uses it only when the folder holds exactly those files, unchanged; anything else — a
//! writer that died between a registry file and the index, a file restored, edited, chmodded
//! or removed by hand — sends it to the files themselves, and the next writer rebuilds it.

pub mod backend;
mod files;
pub mod keychain;
#[cfg(test)]
mod tests;
mod tx;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::credential::{Backend, Credential};
use crate::error::{Error, Result};
use crate::fsutil::{self, FileError};
use crate::host::Key;
use crate::secret::Secret;

pub use files::{FORMAT_VERSION, Meta};
pub use tx::Tx;

/// Overrides the store folder.
pub const DIR_ENV: &str = "NORTHFLANK_CONFIG_DIR";

/// A saved credential as the store keeps it: the [`Credential`] (reachable through `Deref`)
/// and where its secret is, which only the store reads or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Record", into = "Record")]
pub struct Saved {
    cred: Credential,
    backend: Backend,
    /// The secret, for the file backend.
    secret: Option<Secret>,
    /// The keychain item holding the secret, for the keyring backend.
    item: Option<String>,
    /// The short-lived registry token last obtained for the secret (ECR), whatever the
    /// backend: a `get` that finds it fresh reads nothing else. Never in the index.
    exchanged: Option<Exchanged>,
}

/// A record as it is written: the credential's fields and where its secret is, side by side.
/// Spelled out rather than `#[serde(flatten)]`, which buffers every record through serde's
/// generic content and made reading the index of 1,000 credentials (`list`) three times slower.
#[derive(Serialize, Deserialize)]
struct Record {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    id: String,
    name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    provider: crate::provider::Provider,
    registry: String,
    username: String,
    restrictions: crate::policy::Restrictions,
    created: String,
    updated: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<crate::credential::Origin>,
    #[serde(default)]
    backend: Backend,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exchanged: Option<Exchanged>,
}

impl From<Record> for Saved {
    fn from(r: Record) -> Saved {
        let Record {
            id,
            name,
            description,
            provider,
            registry,
            username,
            restrictions,
            created,
            updated,
            origin,
            backend,
            secret,
            item,
            exchanged,
        } = r;
        let cred = Credential {
            id,
            name,
            description,
            provider,
            registry,
            username,
            restrictions,
            created,
            updated,
            origin,
        };
        Saved {
            cred,
            backend,
            secret,
            item,
            exchanged,
        }
    }
}

impl From<Saved> for Record {
    fn from(s: Saved) -> Record {
        let Saved {
            cred,
            backend,
            secret,
            item,
            exchanged,
        } = s;
        let Credential {
            id,
            name,
            description,
            provider,
            registry,
            username,
            restrictions,
            created,
            updated,
            origin,
        } = cred;
        Record {
            id,
            name,
            description,
            provider,
            registry,
            username,
            restrictions,
            created,
            updated,
            origin,
            backend,
            secret,
            item,
            exchanged,
        }
    }
}

/// A registry token obtained for a credential's secret, and until when it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchanged {
    pub token: Secret,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a token could not be obtained; `transient` when trying later may work without a
/// change (then a token that has not quite expired is still served).
#[derive(Debug)]
pub struct FetchError {
    pub error: Error,
    pub transient: bool,
}

/// The last failed exchange, left in the credential's exchange lock file by the caller that made it, for the
/// callers that were waiting on that lock meanwhile (see [`Store::exchanged_token`]). One
/// line of JSON, rewritten only with the lock held, and read only then: the credential's id,
/// the time, whether trying later may work, and the error line, which never holds a secret
/// (see [`crate::ecr::ExchangeError`]). Anything unreadable there is no failure: the reader
/// exchanges for itself.
#[derive(Debug, Serialize, Deserialize)]
struct Failure {
    id: String,
    /// Unix milliseconds, when it was recorded.
    at: u64,
    transient: bool,
    error: String,
}

impl Failure {
    /// Failure lines are a few hundred bytes; more is not one.
    const MAX: u64 = 16 * 1024;

    fn read(mut lock: &fs::File) -> Option<Failure> {
        use std::io::{Seek, SeekFrom};
        lock.seek(SeekFrom::Start(0)).ok()?;
        serde_json::from_slice(&fsutil::read_limited(lock, Self::MAX).ok()?).ok()
    }

    /// Best effort: unrecorded, a failure only makes the waiters try for themselves.
    fn record(mut lock: &fs::File, saved: &Saved, e: &FetchError) {
        use std::io::{Seek, SeekFrom, Write};
        let failure = Failure {
            id: saved.id.clone(),
            at: unix_millis(),
            transient: e.transient,
            error: e.error.to_string(),
        };
        let Ok(mut line) = serde_json::to_vec(&failure) else {
            return;
        };
        line.push(b'\n');
        let _ = lock
            .set_len(0)
            .and_then(|()| lock.seek(SeekFrom::Start(0)))
            .and_then(|_| lock.write_all(&line));
    }
}

/// The wall clock in Unix milliseconds: failures are recorded and compared across processes.
fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A cached token is used until this many seconds before it expires (SPEC §10: 15 minutes),
/// so a pull that starts with it does not run past its end.
pub const TOKEN_MARGIN: i64 = 15 * 60;

impl std::ops::Deref for Saved {
    type Target = Credential;
    fn deref(&self) -> &Credential {
        &self.cred
    }
}

impl Saved {
    /// Where this credential's secret is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn credential(&self) -> &Credential {
        &self.cred
    }

    /// The same record without anything secret, for the index.
    fn summary(&self) -> Saved {
        Saved {
            secret: None,
            exchanged: None,
            ..self.clone()
        }
    }

    /// The cached registry token, if it has more than [`TOKEN_MARGIN`] left at `now`.
    fn fresh_token(&self, now: i64) -> Option<&Secret> {
        self.exchanged
            .as_ref()
            .filter(|t| t.expires_at - TOKEN_MARGIN > now)
            .map(|t| &t.token)
    }

    /// Brings a record read from an older format up to this one: version 1 named no keychain
    /// item (it was the credential's id), and records saved before ids existed had none.
    fn upgrade(&mut self, registry: &str) {
        if self.cred.id.is_empty() {
            // Stable across reads, so `ls --json` shows the same id until the record is rewritten.
            use sha2::{Digest, Sha256};
            let seed = format!("{registry}\n{}\n{}", self.cred.name, self.cred.created);
            let digest = Sha256::digest(seed.as_bytes());
            self.cred.id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        }
        if self.backend == Backend::Keyring && self.item.is_none() {
            self.item = Some(self.cred.id.clone());
        }
    }
}

/// Where notices for the person at the terminal go (stderr; captured in tests).
pub type Notify = Arc<dyn Fn(&str) + Send + Sync>;

/// Saved credentials grouped by registry key.
pub type ByRegistry = BTreeMap<String, Vec<Saved>>;

/// A handle on the store folder. Cheap: nothing is read until asked.
#[derive(Clone)]
pub struct Store {
    dir: PathBuf,
    notify: Notify,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// The store in `dir`, with notices on stderr.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Store {
            dir: dir.into(),
            notify: Arc::new(crate::term::warn),
        }
    }

    /// The same store with notices sent to `notify`.
    pub fn with_notify(mut self, notify: Notify) -> Self {
        self.notify = notify;
        self
    }

    /// The store at `$NORTHFLANK_CONFIG_DIR`, else the platform's data folder.
    pub fn open_default() -> Result<Self> {
        default_dir().map(Store::new)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn notice(&self, msg: &str) {
        (self.notify)(msg);
    }

    /// The credentials saved for one registry. Reads one file, takes no lock.
    pub fn registry(&self, key: &Key) -> Result<Vec<Saved>> {
        if !self.check_readable()? {
            return Ok(Vec::new());
        }
        let path = files::registry_path(&self.dir, key.as_str());
        match files::read_registry(&path)? {
            Some(f) if f.registry == key.as_str() => Ok(f.credentials),
            // A file renamed by hand holds nothing for this key.
            _ => Ok(Vec::new()),
        }
    }

    /// Every saved credential, secrets included, grouped by registry key.
    pub fn all(&self) -> Result<BTreeMap<String, Vec<Saved>>> {
        if !self.check_readable()? {
            return Ok(BTreeMap::new());
        }
        self.read_all()
    }

    fn read_all(&self) -> Result<BTreeMap<String, Vec<Saved>>> {
        let mut all = BTreeMap::new();
        for read in files::read_each(&self.dir, &files::list(&self.dir)?) {
            if let Some(file) = read.file?
                && !file.credentials.is_empty()
            {
                all.insert(file.registry, file.credentials);
            }
        }
        Ok(all)
    }

    /// Every saved credential **without its secret**, grouped by registry key: what `list`
    /// and `ls` need. Reads the index (one file) when it matches the registry files, else
    /// every registry file.
    pub fn summaries(&self) -> Result<BTreeMap<String, Vec<Saved>>> {
        if !self.check_readable()? {
            return Ok(BTreeMap::new());
        }
        if let Some(index) = files::read_index(&self.dir)
            && index.matches(&files::list(&self.dir)?)
        {
            return Ok(index
                .files
                .into_values()
                .filter(|e| !e.credentials.is_empty())
                .map(|e| (e.registry, e.credentials))
                .collect());
        }
        Ok(self
            .read_all()?
            .into_iter()
            .map(|(k, c)| (k, c.iter().map(Saved::summary).collect()))
            .collect())
    }

    /// Like [`Store::summaries`], but a registry file that cannot be read is left out instead
    /// of failing, so one damaged file does not stop saves to other registries (it is reported
    /// whenever it is read for itself). The second part says why each left-out file was.
    pub(crate) fn readable_summaries(&self) -> Result<(ByRegistry, Vec<Error>)> {
        if let Ok(all) = self.summaries() {
            return Ok((all, Vec::new()));
        }
        let mut unreadable = Vec::new();
        let mut all = BTreeMap::new();
        for read in files::read_each(&self.dir, &files::list(&self.dir)?) {
            match read.file {
                Ok(Some(file)) => {
                    let creds = file.credentials.iter().map(Saved::summary).collect();
                    all.insert(file.registry, creds);
                }
                Ok(None) => {}
                Err(e) => unreadable.push(e),
            }
        }
        Ok((all, unreadable))
    }

    /// The credential called `name`, without its secret.
    pub fn find(&self, name: &str) -> Result<Option<Saved>> {
        Ok(self
            .summaries()?
            .into_values()
            .flatten()
            .find(|c| c.name == name))
    }

    /// The store's settings, if anything was ever saved.
    pub fn meta(&self) -> Result<Option<Meta>> {
        if !self.check_readable()? {
            return Ok(None);
        }
        files::read_meta(&self.dir)
    }

    /// The secret of a saved credential, from where its record says it is. Touches the
    /// keychain (once) only for a keyring-backed credential.
    pub fn secret(&self, saved: &Saved) -> Result<Secret> {
        let name = &saved.name;
        match (saved.backend, &saved.item) {
            (Backend::File, _) => {
                // A summary has no secret: read the record again.
                if let Some(secret) = &saved.secret {
                    return Ok(secret.clone());
                }
                self.reread(saved)?
                    .secret
                    .ok_or_else(|| {
                        Error::Store(format!(
                            "credential {name:?} has no secret in the store; save it again with `add` or `docker login`"
                        ))
                    })
            }
            (Backend::Keyring, Some(item)) => match keychain::get(item) {
                Ok(Some(secret)) => Ok(secret),
                // A writer replaced the secret and deleted the old item between our read of
                // the record and of the item: the record names the new one now.
                Ok(None)
                    if self
                        .reread(saved)
                        .is_ok_and(|c| c.item.as_ref() != Some(item)) =>
                {
                    self.secret(&self.reread(saved)?)
                }
                Ok(None) => Err(Error::Keychain(format!(
                    "the keychain has no secret for credential {name:?} (service {}, account {item}): \
                     unlock the keychain if it is locked, otherwise save the credential again",
                    keychain::SERVICE
                ))),
                Err(why) => Err(Error::Keychain(format!(
                    "cannot read the secret of credential {name:?} in the keychain: {why}"
                ))),
            },
            (Backend::Keyring, None) => Err(Error::Store(format!(
                "credential {name:?} names no keychain item; save it again"
            ))),
        }
    }

    /// The record of `saved` as it is on disk now, secret included.
    fn reread(&self, saved: &Saved) -> Result<Saved> {
        let key = crate::host::normalize(&saved.registry).map_err(|e| {
            Error::Store(format!(
                "credential {:?} has an invalid registry ({e})",
                saved.name
            ))
        })?;
        self.registry(&key)?
            .into_iter()
            .find(|c| c.id == saved.id)
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "credential {:?} changed while reading it; try again",
                    saved.name
                ))
            })
    }

    /// A short-lived registry token for `saved` (an ECR credential): the cached one while it
    /// is fresh, else a new one from `fetch` (given the record, its secret and the deadline of
    /// `budget`, counted from here), which is then cached. A transient failure serves a cached
    /// token that has not expired yet; any other failure is the caller's error line.
    ///
    /// Parallel callers with a stale cache queue on one lock, so they make one exchange: the
    /// first exchanges, and the others find its token — or, when it failed, its error, which
    /// it leaves in the lock file (`Failure`): a failure recorded while a caller waited is the
    /// outcome of the exchange it waited for, and asking again at once would only multiply the
    /// requests to an endpoint that is throttling or down. A caller waits no longer than its
    /// own budget, so every `get` answers within it, whoever is slow.
    pub fn exchanged_token(
        &self,
        saved: &Saved,
        now: i64,
        budget: Duration,
        fetch: impl FnOnce(&Saved, Secret, Instant) -> std::result::Result<Exchanged, FetchError>,
    ) -> Result<Secret> {
        if let Some(token) = saved.fresh_token(now) {
            return Ok(token.clone());
        }
        let deadline = Instant::now() + budget;
        let path = self.dir.join(files::exchange_lock(&saved.id));
        let lock = fsutil::open_lock_file(&path).map_err(|e| files::file_error(&path, &e))?;
        let since = unix_millis();
        let waited = match lock_until(&lock, &path, deadline)? {
            Locking::Free => false,
            Locking::Waited => true,
            Locking::TimedOut => {
                // The token of before still works for a while: better than no pull.
                if let Some(old) = self.reread(saved)?.exchanged.filter(|t| t.expires_at > now) {
                    self.notice(
                        "another get is still exchanging a key pair with Amazon ECR; serving the cached token, which is valid a little longer",
                    );
                    return Ok(old.token);
                }
                return Err(Error::Exchange(format!(
                    "another docker-credential-northflank get is still exchanging a key pair with \
                     Amazon ECR (it holds {}), so credential {:?} got no token within {} s: ECR is \
                     slow or unreachable from here, or that process is stopped; check the network \
                     and try again",
                    path.display(),
                    saved.name,
                    budget.as_secs()
                )));
            }
        };
        let current = self.reread(saved)?;
        if let Some(token) = current.fresh_token(now) {
            return Ok(token.clone());
        }
        // Only a failure recorded since this call started waiting is the outcome it waited
        // for (a `get` that found the lock free, or one started after a failure, asks ECR
        // itself). The id is enough: a key pair saved meanwhile was saved after this `get`
        // began, so the answer of before is still a right one for it.
        let recorded = if waited {
            Failure::read(&lock).filter(|f| f.id == current.id && f.at >= since)
        } else {
            None
        };
        let result = match recorded {
            Some(failure) => Err(FetchError {
                error: Error::Exchange(failure.error),
                transient: failure.transient,
            }),
            None => {
                let secret = self.secret(&current)?;
                let result = fetch(&current, secret, deadline);
                if let Err(e) = &result {
                    Failure::record(&lock, &current, e);
                }
                result
            }
        };
        let fetched = match result {
            Ok(fetched) => fetched,
            Err(FetchError { error, transient }) => {
                return match &current.exchanged {
                    Some(old) if transient && old.expires_at > now => {
                        self.notice(&format!(
                            "{error}; serving the cached token, which is valid a little longer"
                        ));
                        Ok(old.token.clone())
                    }
                    _ => Err(error),
                };
            }
        };
        let token = fetched.token.clone();
        // Within what is left of the budget (and a moment more to save what was paid for): a
        // writer stuck on the store's lock must not hold this `get` for the writers' 20 s.
        let by = deadline.max(Instant::now() + Duration::from_secs(1));
        let cached = self.lock(by).and_then(|store_lock| {
            tx::run(self, store_lock, |tx| tx.cache_token(&current, fetched))
        });
        if let Err(e) = cached {
            // The token works all the same; the next `get` exchanges again.
            self.notice(&format!("the registry token could not be cached ({e})"));
        }
        drop(lock);
        Ok(token)
    }

    /// Every registry file with the outcome of reading it (its number of credentials, or why
    /// it is unusable), so `doctor` can name each bad file rather than stop at the first.
    pub fn check_files(&self) -> Result<Vec<(PathBuf, Result<usize>)>> {
        if !self.check_readable()? {
            return Ok(Vec::new());
        }
        Ok(files::read_each(&self.dir, &files::list(&self.dir)?)
            .into_iter()
            .map(|read| {
                (
                    read.path,
                    read.file.map(|f| f.map_or(0, |f| f.credentials.len())),
                )
            })
            .collect())
    }

    /// Every owner or mode problem of the store folder and what is inside it, for `doctor`.
    pub fn privacy_problems(&self) -> Vec<(PathBuf, FileError)> {
        let mut problems = Vec::new();
        let mut check = |path: &Path, meta: io::Result<fs::Metadata>| match meta {
            Ok(meta) if meta.file_type().is_symlink() => {
                problems.push((path.to_path_buf(), FileError::Symlink));
            }
            Ok(meta) => {
                if let Err(e) = fsutil::check_private(&meta) {
                    problems.push((path.to_path_buf(), e));
                }
            }
            Err(_) => {}
        };
        check(&self.dir, fs::metadata(&self.dir));
        for dir in [self.dir.clone(), self.dir.join(files::REGISTRIES)] {
            if let Ok(entries) = fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    check(&path, fs::symlink_metadata(&path));
                }
            }
        }
        problems
    }

    /// Runs `f` with the exclusive write lock held, then commits what it changed; see [`Tx`].
    pub fn write<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let lock = self.lock(Instant::now() + LOCK_WAIT)?;
        tx::run(self, lock, f)
    }

    /// Checks the folders before a read: `Ok(false)` when there is no store yet. A store that
    /// others could write is refused for reads too — its records could have been planted.
    fn check_readable(&self) -> Result<bool> {
        match fs::metadata(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(files::io_error("read", &self.dir, &e)),
            // A folder that is no store (`NORTHFLANK_CONFIG_DIR=/tmp`) is named as such rather
            // than given a chmod to run; looked at only on the way to an error, so a `get`
            // costs no directory listing.
            Ok(meta) => self
                .check_root(&meta)
                .map_err(|e| self.not_a_store().unwrap_or(e))?,
        }
        let regs = self.dir.join(files::REGISTRIES);
        match fs::symlink_metadata(&regs) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(files::io_error("read", &regs, &e)),
            Ok(meta) => check_folder(&regs, &meta).map(|()| true),
        }
    }

    fn check_root(&self, meta: &fs::Metadata) -> Result<()> {
        if !meta.is_dir() {
            return Err(Error::Store(format!(
                "the credential store {} is {}, not a folder: move it away, or set {DIR_ENV} to a folder",
                self.dir.display(),
                fsutil::kind_of(meta)
            )));
        }
        check_folder(&self.dir, meta)
    }

    /// Creates the folders (0700) of a new store, refuses a folder that is no store, and takes
    /// the writers' lock, released on drop — and by the kernel if the process dies.
    fn lock(&self, deadline: Instant) -> Result<fs::File> {
        match fs::metadata(&self.dir) {
            Ok(meta) => {
                if let Some(e) = self.not_a_store() {
                    return Err(e);
                }
                self.check_root(&meta)?;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                fsutil::private_dir(&self.dir).map_err(|e| {
                    Error::Store(format!(
                        "cannot create the credential store {}: {e}",
                        self.dir.display()
                    ))
                })?;
            }
            Err(e) => return Err(files::io_error("read", &self.dir, &e)),
        }
        let regs = self.dir.join(files::REGISTRIES);
        match fs::symlink_metadata(&regs) {
            Ok(meta) => check_folder(&regs, &meta)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fsutil::private_dir(&regs).map_err(|e| folder_error(&regs, &e))?;
            }
            Err(e) => return Err(files::io_error("read", &regs, &e)),
        }
        let path = self.dir.join(files::LOCK);
        let file = fsutil::open_lock_file(&path).map_err(|e| match e {
            FileError::Io(io) => files::io_error("open", &path, &io),
            other => files::file_error(&path, &other),
        })?;
        wait_for_lock(&file, &path, deadline)?;
        fsutil::sweep_temp_files(&self.dir);
        fsutil::sweep_temp_files(&regs);
        Ok(file)
    }

    /// Why the store folder is not a store, if it is not: it holds anything but the store's own
    /// files (its temp files are recognised by their exact shape, so a user's `.tmp-notes` is
    /// not mistaken for one). Such a folder is never written into, chmodded or swept (a typo
    /// such as `NORTHFLANK_CONFIG_DIR=/tmp` must not turn it into one).
    pub fn not_a_store(&self) -> Option<Error> {
        let ours = [files::META, files::INDEX, files::LOCK, files::REGISTRIES];
        let name = fs::read_dir(&self.dir)
            .ok()?
            .flatten()
            .map(|e| e.file_name())
            .find(|n| {
                !ours.iter().any(|o| n.as_os_str() == *o)
                    && !fsutil::is_temp_name(n)
                    && !n.to_str().is_some_and(files::is_exchange_lock)
            })?;
        Some(Error::Store(format!(
            "{} is not a credential store (it holds {name:?}, which is not the store's): set {DIR_ENV} \
             to a new or empty folder; nothing was written",
            self.dir.display(),
        )))
    }
}

/// The privacy rule for a folder of the store (never through a symlink below the top).
fn check_folder(path: &Path, meta: &fs::Metadata) -> Result<()> {
    if meta.file_type().is_symlink() {
        return Err(folder_error(path, &FileError::Symlink));
    }
    if !meta.is_dir() {
        return Err(folder_error(
            path,
            &FileError::NotAFolder(fsutil::kind_of(meta)),
        ));
    }
    fsutil::check_private(meta).map_err(|e| folder_error(path, &e))
}

fn folder_error(path: &Path, e: &FileError) -> Error {
    let fix = e.fix(path).map_or_else(String::new, |f| format!(": {f}"));
    Error::Store(format!(
        "the credential store folder {} {e}, so it is not private{fix} (or set {DIR_ENV} to a private folder)",
        path.display()
    ))
}

/// How long a writer waits for another one before giving up with a clear message, so a
/// stopped process (Ctrl-Z, a debugger) cannot hang `docker login` without a word.
const LOCK_WAIT: Duration = Duration::from_secs(20);

fn wait_for_lock(file: &fs::File, path: &Path, deadline: Instant) -> Result<()> {
    match lock_until(file, path, deadline)? {
        Locking::Free | Locking::Waited => Ok(()),
        Locking::TimedOut => Err(Error::Store(format!(
            "the credential store is locked by another docker-credential-northflank for over {} s ({}): \
             check for a stopped or hung process (e.g. `fuser {}`) and try again",
            LOCK_WAIT.as_secs(),
            path.display(),
            path.display()
        ))),
    }
}

/// How taking a lock went.
enum Locking {
    /// It was free.
    Free,
    /// Another process held it for a while.
    Waited,
    /// Another process still holds it at the deadline.
    TimedOut,
}

/// Takes the exclusive lock on `file`, polling (with pauses that grow to 50 ms) until
/// `deadline`.
fn lock_until(file: &fs::File, path: &Path, deadline: Instant) -> Result<Locking> {
    let mut pause = Duration::from_millis(1);
    let mut waited = false;
    loop {
        match file.try_lock() {
            Ok(()) if waited => return Ok(Locking::Waited),
            Ok(()) => return Ok(Locking::Free),
            Err(fs::TryLockError::WouldBlock) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Locking::TimedOut);
                }
                waited = true;
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(fs::TryLockError::Error(e)) => return Err(files::io_error("lock", path, &e)),
        }
    }
}

/// `$NORTHFLANK_CONFIG_DIR`, else `$XDG_DATA_HOME/docker-credential-northflank`, else the
/// platform's data folder — always absolute, so every working directory sees one store and
/// what is written into a kubelet config names the same folder from anywhere.
fn default_dir() -> Result<PathBuf> {
    const APP: &str = "docker-credential-northflank";
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env(DIR_ENV) {
        // A relative folder would be a different store in every working directory docker
        // happens to run the helper from.
        if !dir.is_absolute() {
            return Err(Error::BadInput(format!(
                "{DIR_ENV}={} is a relative path: give an absolute folder",
                dir.display()
            )));
        }
        return Ok(dir);
    }
    if let Some(xdg) = env("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join(APP));
    }
    let base = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("HOME").map(|h| h.join(".local/share"))
    };
    base.filter(|b| b.is_absolute())
        .map(|b| b.join(APP))
        .ok_or_else(|| {
            Error::Store(format!(
                "cannot find a home folder for the credential store: set {DIR_ENV} or HOME"
            ))
        })
}
