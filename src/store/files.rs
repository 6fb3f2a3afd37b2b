//! The store's files on disk: names, formats, the secret-free index. No policy here — which
//! record changes, and where secrets go, is [`super::tx`]'s business.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Saved;
use crate::credential::Backend;
use crate::error::{Error, Result};
use crate::fsutil::{self, FileError};

/// The on-disk format version. A later release that changes the format bumps it and migrates;
/// this release refuses files from a newer one rather than misread them. Version 2 names the
/// keychain item of a record (`item`); version 1 records used the credential's id for it.
pub const FORMAT_VERSION: u32 = 2;

pub(super) const REGISTRIES: &str = "registries";
pub(super) const INDEX: &str = "index.json";
pub(super) const META: &str = "store.json";
pub(super) const LOCK: &str = ".lock";
/// Held while a registry token is exchanged, so parallel `get`s make one exchange; writers
/// do not wait for it. It holds the last failed exchange for the `get`s that waited on it
/// (see [`super::Store::exchanged_token`]). One per credential (`.exchange-<id>.lock`), so a
/// slow exchange for one registry never holds up another's; `.exchange.lock`, the one file of
/// earlier releases, still counts as the store's.
pub(super) const EXCHANGE_LOCK: &str = ".exchange.lock";

/// The exchange lock of the credential `id`. Ids are hex; one edited by hand into anything
/// else (a `/`, say) shares the store-wide lock rather than name a path.
pub(super) fn exchange_lock(id: &str) -> String {
    let name = format!(".exchange-{id}.lock");
    if is_exchange_lock(&name) {
        name
    } else {
        EXCHANGE_LOCK.to_string()
    }
}

/// Whether `name` is an exchange lock of the store's.
pub(super) fn is_exchange_lock(name: &str) -> bool {
    name == EXCHANGE_LOCK
        || name
            .strip_prefix(".exchange-")
            .and_then(|r| r.strip_suffix(".lock"))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Larger store files are refused as corrupt rather than read into memory.
pub(super) const MAX_FILE: u64 = 64 * 1024 * 1024;

/// The store's own settings file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub version: u32,
    /// A random id of this store, the prefix of its keychain items: several stores of one
    /// user share a keychain, and each sweeps only its own orphans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where new secrets go, chosen by the first save; `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            version: FORMAT_VERSION,
            id: None,
            backend: None,
        }
    }
}

/// One registry file: every credential saved for one registry key.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RegistryFile {
    pub version: u32,
    pub registry: String,
    pub credentials: Vec<Saved>,
}

/// Every registry's credentials without their secrets, in one file, so that `list` and `ls`
/// read one file instead of one per registry. Derived data: the registry files are the truth,
/// and each entry carries the stamp of the file it was read from.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Index {
    pub version: u32,
    /// Registry file name → what it held.
    pub files: BTreeMap<String, Indexed>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Indexed {
    pub stamp: Stamp,
    pub registry: String,
    pub credentials: Vec<Saved>,
}

impl Index {
    /// Whether the index describes exactly `files`, unchanged.
    pub fn matches(&self, files: &BTreeMap<String, Stamp>) -> bool {
        self.files.len() == files.len()
            && self
                .files
                .iter()
                .zip(files)
                .all(|((n1, e), (n2, s))| n1 == n2 && e.stamp == *s)
    }
}

/// What identifies one version of a file: a rename (our writes) gives a new inode, an edit in
/// place a new size or modification time, and anything else — an edit that restores the
/// mtime, a chmod, a chown — a new status-change time, which no user can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Stamp {
    inode: u64,
    size: u64,
    mtime_ns: i128,
    #[serde(default)]
    ctime_ns: i128,
}

impl Stamp {
    pub fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Stamp {
                inode: meta.ino(),
                size: meta.size(),
                mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            Stamp {
                inode: 0,
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
            }
        }
    }
}

/// The file name for a registry key: safe on every platform, readable, one per key. Keys
/// whose name would pass file-system limits (255 bytes) keep a readable prefix and a SHA-256
/// of the whole key, so two keys never share a file (a record names its registry too, and a
/// file that names another one is never overwritten).
pub(super) fn file_name(key: &str) -> String {
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
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        name.truncate(MAX - hex.len() - 1);
        name.push('~');
        name.push_str(&hex);
    }
    name.push_str(".json");
    name
}

/// Reads one store file (never through a symlink, only when private), `None` if absent.
pub(super) fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    fsutil::read_private(path, MAX_FILE).map_err(|e| file_error(path, &e))
}

/// A registry file, checked; `None` if absent.
pub(super) fn read_registry(path: &Path) -> Result<Option<RegistryFile>> {
    let Some(bytes) = read(path)? else {
        return Ok(None);
    };
    let mut file: RegistryFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(path, &e))?;
    check_version(path, file.version)?;
    for saved in &mut file.credentials {
        saved.upgrade(&file.registry);
    }
    Ok(Some(file))
}

/// The store's settings, `None` before the first write.
pub(super) fn read_meta(root: &Path) -> Result<Option<Meta>> {
    let path = root.join(META);
    let Some(bytes) = read(&path)? else {
        return Ok(None);
    };
    let meta: Meta = serde_json::from_slice(&bytes).map_err(|e| corrupt(&path, &e))?;
    check_version(&path, meta.version)?;
    Ok(Some(meta))
}

/// The index, if it is present, readable, of this format and as its writer left it; `None`
/// sends readers to the registry files. Derived data, so any problem with it (a FIFO,
/// garbage, a hand edit) only means "not there": the next writer builds it again.
pub(super) fn read_index(root: &Path) -> Option<Index> {
    let bytes = read(&root.join(INDEX)).ok()??;
    let index: Index = serde_json::from_slice(unframe_index(&bytes)?).ok()?;
    (index.version == FORMAT_VERSION).then_some(index)
}

/// The index's file: `{"sum":"<16 hex digits>","index":<the index>}`. The stamps in the index
/// tell whether the registry files changed since it was written; the sum tells whether the
/// index itself did — an edit by hand would otherwise make `list` disagree with `get`. It is
/// a checksum (FNV-1a), not a seal: the store's owner can always change their own files.
pub(super) fn frame_index(index: &Index) -> Vec<u8> {
    let inner = serde_json::to_vec(index).expect("BUG: index serialises");
    let mut bytes = format!("{INDEX_HEAD}{:016x}{INDEX_MID}", fnv1a(&inner)).into_bytes();
    bytes.extend_from_slice(&inner);
    bytes.push(b'}');
    bytes
}

const INDEX_HEAD: &str = "{\"sum\":\"";
const INDEX_MID: &str = "\",\"index\":";

/// The index's own JSON inside [`frame_index`]'s frame, if the sum matches it.
fn unframe_index(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(INDEX_HEAD.as_bytes())?;
    let (hex, rest) = rest.split_at_checked(16)?;
    let inner = rest
        .strip_prefix(INDEX_MID.as_bytes())?
        .strip_suffix(b"}")?;
    let sum = u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
    (fnv1a(inner) == sum).then_some(inner)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The registry files now in the folder, with their stamps.
pub(super) fn list(root: &Path) -> Result<BTreeMap<String, Stamp>> {
    let dir = root.join(REGISTRIES);
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

/// One registry file of the store and what reading it gave.
pub(super) struct Read {
    pub name: String,
    pub path: PathBuf,
    pub stamp: Stamp,
    pub file: Result<Option<RegistryFile>>,
}

/// Every registry file `stamps` names (see [`list`]), read.
pub(super) fn read_each(root: &Path, stamps: &BTreeMap<String, Stamp>) -> Vec<Read> {
    stamps
        .iter()
        .map(|(name, stamp)| {
            let path = root.join(REGISTRIES).join(name);
            // A file restored or copied under another registry's name: `get` never reads it
            // for the registry it names, so neither may `list` (two files would claim one
            // registry). Reported like any file that cannot be used.
            let file = read_registry(&path).and_then(|f| match f {
                Some(f) if file_name(&f.registry) != *name => Err(Error::Store(format!(
                    "store file {} holds the credentials of {}, whose file is {}: move it away \
                     (or back to that name)",
                    path.display(),
                    f.registry,
                    file_name(&f.registry)
                ))),
                f => Ok(f),
            });
            Read {
                name: name.clone(),
                path,
                stamp: *stamp,
                file,
            }
        })
        .collect()
}

/// Writes `bytes` as the store file `path` (private, atomic).
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fsutil::write_atomic(path, bytes, fsutil::Keep::Private)
        .map_err(|e| io_error("write", path, &e))
}

/// A registry file's bytes (`None`: no credentials, so no file). Refuses what readers would
/// refuse as too large, so a save can never lock its registry out.
pub(super) fn registry_bytes(key: &str, creds: &[Saved]) -> Result<Option<Vec<u8>>> {
    if creds.is_empty() {
        return Ok(None);
    }
    let file = RegistryFile {
        version: FORMAT_VERSION,
        registry: key.to_string(),
        credentials: creds.to_vec(),
    };
    let mut bytes = serde_json::to_vec_pretty(&file).expect("BUG: credentials serialise");
    bytes.push(b'\n');
    if bytes.len() as u64 > MAX_FILE {
        return Err(Error::BadInput(format!(
            "the credentials saved for {key} would take {} MiB, more than the {} MiB a store file may \
             hold: remove some of them (rm), or save smaller secrets; nothing was saved",
            (bytes.len() as u64).div_ceil(1 << 20),
            MAX_FILE >> 20
        )));
    }
    Ok(Some(bytes))
}

/// Replaces (or, for `None`, removes) one registry file with [`registry_bytes`]' bytes.
pub(super) fn write_registry(path: &Path, bytes: Option<&[u8]>) -> Result<()> {
    match bytes {
        Some(bytes) => write(path, bytes),
        None => match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", path, &e)),
            _ => Ok(()),
        },
    }
}

fn check_version(path: &Path, version: u32) -> Result<()> {
    if version == 0 || version > FORMAT_VERSION {
        return Err(Error::Store(format!(
            "store file {} has format version {version}, this docker-credential-northflank reads up to \
             version {FORMAT_VERSION}: upgrade docker-credential-northflank",
            path.display()
        )));
    }
    Ok(())
}

fn corrupt(path: &Path, e: &serde_json::Error) -> Error {
    // Only the kind and the position: serde_json's own messages quote values ("invalid type:
    // string \"…\""), and these files hold secrets.
    let what = match e.classify() {
        serde_json::error::Category::Eof => "cut short",
        _ => "not the store's JSON",
    };
    Error::Store(format!(
        "store file {} is corrupt ({what} at line {} column {}); restore it from a backup or remove \
         it and save the credential again",
        path.display(),
        e.line(),
        e.column()
    ))
}

/// A file of the store that cannot be used, with the fix.
pub(super) fn file_error(path: &Path, e: &FileError) -> Error {
    match e {
        FileError::Io(io) => io_error("read", path, io),
        other => Error::Store(format!(
            "store file {} {other}: {}",
            path.display(),
            other
                .fix(path)
                .unwrap_or_else(|| "fix it or move it away".into())
        )),
    }
}

pub(super) fn io_error(what: &str, path: &Path, e: &io::Error) -> Error {
    let dir = super::DIR_ENV;
    let fix = match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "free some space on that disk and try again".to_string()
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            format!(
                "the file system is read-only: remount it read-write, or set {dir} to a writable folder"
            )
        }
        io::ErrorKind::IsADirectory => format!("it is a folder: move {} away", path.display()),
        // ENXIO: a socket or a device without a driver where a file belongs.
        _ if cfg!(unix) && e.raw_os_error() == Some(6) => {
            format!("it is not a regular file: move {} away", path.display())
        }
        _ => format!(
            "check the folder's owner and permissions, or set {dir} to a folder of your own"
        ),
    };
    Error::Store(format!("cannot {what} {}: {e}; {fix}", path.display()))
}

/// Where registry files live under `root`.
pub(super) fn registry_path(root: &Path, key: &str) -> PathBuf {
    root.join(REGISTRIES).join(file_name(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_locks_are_names_in_the_store_folder() {
        assert_eq!(
            exchange_lock("0a1b2c3d4e5f6a7b"),
            ".exchange-0a1b2c3d4e5f6a7b.lock"
        );
        for odd in ["", "../x", "a/b", "a.b"] {
            assert_eq!(exchange_lock(odd), EXCHANGE_LOCK, "{odd:?}");
        }
        assert!(is_exchange_lock(EXCHANGE_LOCK) && !is_exchange_lock(".exchange-.lock"));
    }

    #[test]
    fn io_errors_name_the_fix_that_fits() {
        let path = Path::new("/s/registries/ghcr.io.json");
        let said = |e: io::Error| io_error("write", path, &e).to_string();
        assert!(said(io::ErrorKind::StorageFull.into()).contains("free some space"));
        assert!(said(io::ErrorKind::ReadOnlyFilesystem.into()).contains("remount it read-write"));
        assert!(said(io::ErrorKind::IsADirectory.into()).contains("it is a folder: move"));
        assert!(said(io::Error::from_raw_os_error(6)).contains("not a regular file"));
        assert!(said(io::ErrorKind::PermissionDenied.into()).contains("owner and permissions"));
    }

    #[test]
    fn a_corrupt_file_is_reported_without_its_content() {
        let e = serde_json::from_str::<RegistryFile>(
            r#"{"version":2,"registry":"x","credentials":[{"name":"hunter2-secret","provider":7}]}"#,
        )
        .unwrap_err();
        let msg = corrupt(Path::new("/s/r.json"), &e).to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("not the store's JSON at line 1"), "{msg}");
    }

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
