//! The embedded store: one small JSON file per registry, written atomically under a lock.
//!
//! Layout of the store directory (mode 0700):
//!
//! ```text
//! store.json               {"version":1,"backend":"keyring"}  — format version, chosen backend
//! .lock                    advisory lock held by every writer
//! index.json               every credential without its secret, for `list` and `ls`
//! registries/<key>.json    {"version":1,"registry":"ghcr.io","credentials":[…]}  (mode 0600)
//! ```
//!
//! Why one file per registry: `get` is on the path of every pull, and must cost the same with
//! 10,000 saved credentials as with one — it reads exactly one small file and takes no lock.
//! Readers never see a half-written file because writers write a temp file, `fsync` it and
//! `rename` it over the old one; every protocol write touches one registry file, so it is
//! atomic as a whole. Writers serialise on an exclusive `flock`, which the kernel drops when
//! a writer dies, so a `SIGKILL` never leaves a stale lock, and temp files of dead writers are
//! swept by the next one.
//!
//! `list` must stay fast with thousands of registries, so writers also keep `index.json`, a
//! secret-free copy of all metadata. It is derived data, and it records the identity of every
//! registry file it was built from (inode, size, modification time). A reader uses it only when
//! the folder holds exactly those files, unchanged; anything else — a writer that died between
//! a registry file and the index, a file restored or removed by hand — sends it to the files
//! themselves, and the next writer rebuilds the index.

pub mod backend;
pub mod keychain;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::credential::{Backend, Credential};
use crate::error::{Error, Result};
use crate::host::Key;

/// The on-disk format version. A later release that changes the format bumps it and migrates;
/// this release refuses files from a newer one rather than misread them.
pub const FORMAT_VERSION: u32 = 1;

/// Overrides the store directory.
pub const DIR_ENV: &str = "NORTHFLANK_CONFIG_DIR";

const REGISTRIES: &str = "registries";
const INDEX: &str = "index.json";
const TMP_PREFIX: &str = ".tmp-";
/// Larger registry files are refused as corrupt rather than read into memory.
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// The store's own settings file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub version: u32,
    /// Where new secrets go, chosen by the first save (see [`crate::store::backend`]); `None`
    /// until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RegistryFile {
    version: u32,
    registry: String,
    credentials: Vec<Credential>,
}

/// A handle on the store directory. Cheap: nothing is read until asked.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Store { dir: dir.into() }
    }

    /// The store at `$NORTHFLANK_CONFIG_DIR`, else the platform's data directory.
    pub fn open_default() -> Result<Self> {
        default_dir().map(Store::new)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn registry_path(&self, key: &str) -> PathBuf {
        self.dir.join(REGISTRIES).join(file_name(key))
    }

    /// The credentials saved for one registry. Reads one file, takes no lock.
    pub fn registry(&self, key: &Key) -> Result<Vec<Credential>> {
        read_key(&self.registry_path(key.as_str()), key.as_str())
    }

    /// Every saved credential, grouped by registry key.
    pub fn all(&self) -> Result<BTreeMap<String, Vec<Credential>>> {
        let mut all = BTreeMap::new();
        for name in self.files()?.keys() {
            if let Some(file) = read_registry(&self.dir.join(REGISTRIES).join(name))?
                && !file.credentials.is_empty()
            {
                all.insert(file.registry, file.credentials);
            }
        }
        Ok(all)
    }

    /// Every registry file with the outcome of reading it (its number of credentials, or why
    /// it is unusable), so `doctor` can name each bad file rather than stop at the first.
    pub fn check_files(&self) -> Result<Vec<(PathBuf, Result<usize>)>> {
        Ok(self
            .files()?
            .into_keys()
            .map(|name| {
                let path = self.dir.join(REGISTRIES).join(name);
                let read = read_registry(&path).map(|f| f.map_or(0, |f| f.credentials.len()));
                (path, read)
            })
            .collect())
    }

    /// Every saved credential **without its secret**, grouped by registry key: what `list`
    /// and `ls` need. Reads the index (one file) when it matches the registry files, else every
    /// registry file.
    pub fn summaries(&self) -> Result<BTreeMap<String, Vec<Credential>>> {
        if let Some(index) = read_index(&self.dir)
            && index.matches(&self.files()?)
        {
            return Ok(index.summaries());
        }
        Ok(self
            .all()?
            .into_iter()
            .map(|(k, c)| (k, without_secrets(c)))
            .collect())
    }

    /// The registry files now in the folder, with their stamps.
    fn files(&self) -> Result<BTreeMap<String, Stamp>> {
        let dir = self.dir.join(REGISTRIES);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(io_error("read", &dir, &e)),
        };
        let mut files = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("read", &dir, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            match entry.metadata() {
                Ok(meta) => {
                    files.insert(name, Stamp::of(&meta));
                }
                // Removed by a writer since the folder was read: it is simply not there.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("read", &entry.path(), &e)),
            }
        }
        Ok(files)
    }

    /// The store's settings, if anything was ever saved.
    pub fn meta(&self) -> Result<Option<Meta>> {
        let path = self.dir.join("store.json");
        let Some(bytes) = read_limited(&path)? else {
            return Ok(None);
        };
        let meta: Meta = serde_json::from_slice(&bytes).map_err(|e| corrupt(&path, &e))?;
        check_version(&path, meta.version)?;
        Ok(Some(meta))
    }

    /// Runs `f` with the exclusive write lock held, then commits every registry it changed.
    pub fn write<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        // The first write records the format version for later releases; the backend is
        // recorded by the first save (`crate::store::backend::for_new_secrets`).
        let meta = match self.meta()? {
            Some(_) => None,
            None => Some(Meta {
                version: FORMAT_VERSION,
                backend: None,
            }),
        };
        let mut tx = Tx {
            store: self,
            loaded: BTreeMap::new(),
            meta,
        };
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Creates the directories (0700) and takes the writers' lock, released on drop — and by
    /// the kernel if the process dies.
    fn lock(&self) -> Result<File> {
        let regs = self.dir.join(REGISTRIES);
        create_private_dir(&self.dir)?;
        create_private_dir(&regs)?;
        let path = self.dir.join(".lock");
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error("open", &path, &e))?;
        wait_for_lock(&file, &path)?;
        sweep_temp_files(&self.dir);
        sweep_temp_files(&regs);
        Ok(file)
    }
}

/// A write transaction: registry files loaded on demand, changed in memory, committed at the end.
pub struct Tx<'a> {
    store: &'a Store,
    /// Per registry key: the credentials as read, and as changed.
    loaded: BTreeMap<String, (Vec<Credential>, Vec<Credential>)>,
    meta: Option<Meta>,
}

impl Tx<'_> {
    /// The credentials of one registry, for changing. Changes are saved when the transaction ends.
    pub fn registry(&mut self, key: &str) -> Result<&mut Vec<Credential>> {
        if !self.loaded.contains_key(key) {
            let creds = read_key(&self.store.registry_path(key), key)?;
            self.loaded.insert(key.to_string(), (creds.clone(), creds));
        }
        Ok(&mut self.loaded.get_mut(key).expect("BUG: just inserted").1)
    }

    /// Every saved credential as committed, without secrets: for name lookups across
    /// registries. Change credentials through [`Tx::registry`], never through these copies.
    /// A registry file that cannot be read is left out, so one damaged file does not stop
    /// saves to other registries (it is reported when it is read for itself).
    pub fn all(&self) -> Result<Vec<Credential>> {
        if let Ok(summaries) = self.store.summaries() {
            return Ok(summaries.into_values().flatten().collect());
        }
        let dir = self.store.dir.join(REGISTRIES);
        let mut all = Vec::new();
        for name in self.store.files()?.keys() {
            if let Ok(Some(file)) = read_registry(&dir.join(name)) {
                all.extend(without_secrets(file.credentials));
            }
        }
        Ok(all)
    }

    /// The ids of every saved credential, or an error if any registry file cannot be read
    /// (so a caller never mistakes a damaged file's credentials for absent ones).
    pub fn ids(&self) -> Result<std::collections::HashSet<String>> {
        let mut ids: std::collections::HashSet<String> = self
            .store
            .summaries()?
            .into_values()
            .flatten()
            .map(|c| c.id)
            .collect();
        ids.extend(
            self.loaded
                .values()
                .flat_map(|(_, now)| now.iter().map(|c| c.id.clone())),
        );
        Ok(ids)
    }

    /// Records the store's settings (written on commit).
    pub fn set_meta(&mut self, meta: Meta) {
        self.meta = Some(meta);
    }

    fn commit(self) -> Result<()> {
        let root = &self.store.dir;
        if let Some(meta) = &self.meta {
            let bytes = serde_json::to_vec_pretty(meta).expect("BUG: meta serialises");
            write_atomic(&root.join("store.json"), &bytes)?;
        }
        let changed: BTreeMap<String, Vec<Credential>> = self
            .loaded
            .into_iter()
            .filter_map(|(key, (read, now))| (read != now).then_some((key, now)))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        // The index is checked before any registry file changes: afterwards the changed files
        // no longer match it, by design.
        let before = self.store.files()?;
        let old = read_index(root).filter(|index| index.matches(&before));
        for (key, creds) in &changed {
            write_registry(&self.store.registry_path(key), key, creds)?;
        }
        sync_dir(&root.join(REGISTRIES));
        self.store.write_index(old, &changed);
        Ok(())
    }
}

impl Store {
    /// Brings the index up to date after `changed` registries were written: patched when the
    /// old one was current, else rebuilt from the files. Best effort — the registry files are
    /// already saved, and a missing or outdated index only sends readers to the files — so
    /// failures here never fail the write; a damaged registry file removes the index, so
    /// readers report that file instead of silently leaving it out.
    fn write_index(&self, old: Option<Index>, changed: &BTreeMap<String, Vec<Credential>>) {
        let path = self.dir.join(INDEX);
        let Ok(files) = self.files() else {
            let _ = fs::remove_file(&path);
            return;
        };
        let index = match old {
            Some(mut index) => {
                for (key, creds) in changed {
                    let name = file_name(key);
                    match files.get(&name) {
                        Some(stamp) if !creds.is_empty() => {
                            let entry = Indexed {
                                stamp: *stamp,
                                registry: key.clone(),
                                credentials: without_secrets(creds.clone()),
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
            None => self.build_index(&files),
        };
        match index {
            Some(index) if index.matches(&files) => {
                let bytes = serde_json::to_vec(&index).expect("BUG: index serialises");
                let _ = write_atomic(&path, &bytes);
            }
            _ => {
                let _ = fs::remove_file(&path);
            }
        }
    }

    /// An index of every registry file, or `None` if one cannot be read.
    fn build_index(&self, files: &BTreeMap<String, Stamp>) -> Option<Index> {
        let mut index = Index {
            version: FORMAT_VERSION,
            files: BTreeMap::new(),
        };
        for (name, stamp) in files {
            let file = read_registry(&self.dir.join(REGISTRIES).join(name)).ok()??;
            let entry = Indexed {
                stamp: *stamp,
                registry: file.registry,
                credentials: without_secrets(file.credentials),
            };
            index.files.insert(name.clone(), entry);
        }
        Some(index)
    }
}

/// Replaces (or, for no credentials, removes) one registry file atomically.
fn write_registry(path: &Path, key: &str, creds: &[Credential]) -> Result<()> {
    if creds.is_empty() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", path, &e)),
            _ => Ok(()),
        };
    }
    let file = RegistryFile {
        version: FORMAT_VERSION,
        registry: key.to_string(),
        credentials: creds.to_vec(),
    };
    let mut bytes = serde_json::to_vec_pretty(&file).expect("BUG: credentials serialise");
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Every registry's credentials without their secrets, in one file, so that `list` and `ls`
/// read one file instead of one per registry. Derived data: the registry files are the truth,
/// and each entry carries the stamp of the file it was read from.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    version: u32,
    /// Registry file name → what it held.
    files: BTreeMap<String, Indexed>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Indexed {
    stamp: Stamp,
    registry: String,
    credentials: Vec<Credential>,
}

impl Index {
    /// Whether the index describes exactly `files`, unchanged.
    fn matches(&self, files: &BTreeMap<String, Stamp>) -> bool {
        self.files.len() == files.len()
            && self
                .files
                .iter()
                .zip(files)
                .all(|((n1, e), (n2, s))| n1 == n2 && e.stamp == *s)
    }

    fn summaries(self) -> BTreeMap<String, Vec<Credential>> {
        self.files
            .into_values()
            .filter(|e| !e.credentials.is_empty())
            .map(|e| (e.registry, e.credentials))
            .collect()
    }
}

/// What identifies one version of a file: a rename (our writes) gives a new inode, an edit in
/// place a new size or modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    inode: u64,
    size: u64,
    mtime_ns: u128,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Stamp {
            inode,
            size: meta.len(),
            mtime_ns,
        }
    }
}

fn without_secrets(mut creds: Vec<Credential>) -> Vec<Credential> {
    for c in &mut creds {
        c.secret = None;
    }
    creds
}

/// The index, if it is present, current and readable; `None` sends readers to the files.
fn read_index(root: &Path) -> Option<Index> {
    let bytes = read_limited(&root.join(INDEX)).ok()??;
    let index: Index = serde_json::from_slice(&bytes).ok()?;
    (index.version == FORMAT_VERSION).then_some(index)
}

/// The file name for a registry key: safe on every platform, readable, one per key. Keys
/// whose name would pass file-system limits (255 bytes) keep a readable prefix and a hash.
fn file_name(key: &str) -> String {
    const MAX: usize = 200;
    let mut name = String::with_capacity(key.len() + 5);
    for b in key.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_') {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02x}"));
        }
    }
    if name.len() > MAX {
        name.truncate(MAX - 17);
        name.push_str(&format!("~{:016x}", fnv1a(key.as_bytes())));
    }
    name.push_str(".json");
    name
}

/// FNV-1a, 64 bits: a hash that never changes between releases (file names depend on it).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn read_limited(path: &Path) -> Result<Option<Vec<u8>>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, &e)),
    };
    // Sized from fstat, so a small file costs one read (plus the one that sees EOF).
    let size = file.metadata().map_or(0, |m| m.len()).min(MAX_FILE);
    let mut bytes = Vec::with_capacity(size as usize + 1);
    Read::by_ref(&mut file)
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("read", path, &e))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(Error::Store(format!(
            "store file {} is larger than 64 MiB and cannot be a credential file; move it away",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

/// The credentials of `key` in `path`. A file that names another registry (a hashed name's
/// collision, or a file renamed by hand) holds nothing for `key`.
fn read_key(path: &Path, key: &str) -> Result<Vec<Credential>> {
    Ok(read_registry(path)?
        .filter(|f| f.registry == key)
        .map_or_else(Vec::new, |f| f.credentials))
}

fn read_registry(path: &Path) -> Result<Option<RegistryFile>> {
    let Some(bytes) = read_limited(path)? else {
        return Ok(None);
    };
    let file: RegistryFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(path, &e))?;
    check_version(path, file.version)?;
    Ok(Some(file))
}

fn check_version(path: &Path, version: u32) -> Result<()> {
    if version == 0 || version > FORMAT_VERSION {
        return Err(Error::Store(format!(
            "store file {} has format version {version}, this docker-credential-northflank reads version {FORMAT_VERSION}: \
             upgrade docker-credential-northflank",
            path.display()
        )));
    }
    Ok(())
}

fn corrupt(path: &Path, e: &serde_json::Error) -> Error {
    // serde_json's message names a position, never the content, so no secret can leak here.
    Error::Store(format!(
        "store file {} is corrupt ({e}); restore it from a backup or remove it and save the credential again",
        path.display()
    ))
}

fn io_error(what: &str, path: &Path, e: &io::Error) -> Error {
    Error::Store(format!(
        "cannot {what} {}: {e}; check the directory's owner and permissions, or set {DIR_ENV} to a writable folder",
        path.display()
    ))
}

#[cfg(unix)]
fn private_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = OpenOptions::new();
    o.mode(0o600);
    o
}

#[cfg(not(unix))]
fn private_options() -> OpenOptions {
    OpenOptions::new()
}

/// Creates `dir` with mode 0700, or tightens an existing one that others can read.
fn create_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => {
                if m.permissions().mode() & 0o077 != 0 {
                    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                        .map_err(|e| io_error("secure", dir, &e))?;
                }
                Ok(())
            }
            _ => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io_error("create", dir, &e)),
        }
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))
}

/// How long a writer waits for another one before giving up with a clear message, so a
/// stopped process (Ctrl-Z, a debugger) cannot hang `docker login` without a word.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

fn wait_for_lock(file: &File, path: &Path) -> Result<()> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Store(format!(
                    "the credential store is locked by another docker-credential-northflank for over {} s ({}): \
                     check for a stopped or hung process (e.g. `fuser {}`) and try again",
                    LOCK_WAIT.as_secs(),
                    path.display(),
                    path.display()
                )));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", path, &e)),
        }
    }
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a mix,
/// and a crash at any moment leaves one of the two on disk.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("BUG: store paths have a parent");
    let tmp = dir.join(format!("{TMP_PREFIX}{}", std::process::id()));
    let mut file = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| io_error("write", &tmp, &e))?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("write", path, &e));
    }
    Ok(())
}

/// Makes renames in `dir` durable. Best effort: not every platform can open a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes temp files left by writers that died mid-write. Only called under the lock, so
/// no live writer owns one.
fn sweep_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `$NORTHFLANK_CONFIG_DIR`, else `$XDG_DATA_HOME/docker-credential-northflank`, else the
/// platform's data directory.
fn default_dir() -> Result<PathBuf> {
    const APP: &str = "docker-credential-northflank";
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env(DIR_ENV) {
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
    base.map(|b| b.join(APP)).ok_or_else(|| {
        Error::Store(format!(
            "cannot find a home directory for the credential store: set {DIR_ENV} or HOME"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name("ghcr.io"), "ghcr.io.json");
        assert_eq!(file_name("localhost:5000"), "localhost%3a5000.json");
        assert_eq!(file_name("[::1]:5000"), "%5b%3a%3a1%5d%3a5000.json");
        assert_eq!(
            file_name("https://index.docker.io/v1/"),
            "https%3a%2f%2findex.docker.io%2fv1%2f.json"
        );
        assert_ne!(file_name("a:1"), file_name("a%3a1"));
        let long = format!("{}.example.com:5000", "a".repeat(240));
        let name = file_name(&long);
        assert!(name.len() <= 205 && name.ends_with(".json"), "{name}");
        assert_ne!(
            name,
            file_name(&format!("{}.example.com:5001", "a".repeat(240)))
        );
    }
}
