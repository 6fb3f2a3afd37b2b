//! One place for file safety: every file this program reads or writes goes through here.
//!
//! - [`read_bounded`]: reads a *regular* file of at most a given size. It checks the type of
//!   what it opened before reading (a FIFO, a device or a directory is an error, never a
//!   hang), opens without blocking, and never reads more than the bound (`/dev/zero` ends
//!   there). [`read_private`] adds the store's rules: no symlink, ours, not open to others.
//! - [`write_atomic`]: a new file with a random name, created exclusively (so a planted
//!   symlink or file is never followed or reused), private (0600) from its first byte,
//!   fsynced, then renamed over the target. Readers see the old file or the new one; a crash
//!   at any moment leaves one of the two. The rename replaces a symlink at the target rather
//!   than writing through it; callers that mean to keep a link (a dotfile) resolve it first.
//! - [`check_private`]: the `ssh`-style rule for the store — a folder or file owned by another
//!   user, or writable by group or others, is refused (and a file readable by them too),
//!   with the command that fixes it. Nothing here ever chmods an existing path.

use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::path::Path;

/// Name prefix of temp files: readers skip them, and writers sweep those of dead writers.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Why a file could not be used. Rendered after the path: "PATH is a FIFO, not a regular file".
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot be read or written ({0})")]
    Io(#[from] io::Error),
    #[error("is {0}, not a regular file")]
    NotAFile(&'static str),
    #[error("is {0}, not a folder")]
    NotAFolder(&'static str),
    #[error("is a symbolic link, which is never followed here")]
    Symlink,
    #[error("is larger than {0}, too large to be what it should be")]
    TooLarge(Size),
    #[error("is owned by another user (uid {owner}; you are uid {me})")]
    ForeignOwner { owner: u32, me: u32 },
    #[error("is {what} by other users (mode {mode:03o})")]
    OpenToOthers { what: &'static str, mode: u32 },
}

impl FileError {
    /// The command that fixes this problem for `path`, when there is one.
    pub fn fix(&self, path: &Path) -> Option<String> {
        let shown = shell_quote(path);
        match self {
            FileError::OpenToOthers { .. } => {
                let mode = if is_dir(path) { "700" } else { "600" };
                Some(format!("chmod {mode} {shown}"))
            }
            FileError::ForeignOwner { me, .. } => {
                Some(format!("chown {me} {shown} (or move it away)"))
            }
            FileError::NotAFile(_)
            | FileError::NotAFolder(_)
            | FileError::Symlink
            | FileError::TooLarge(_) => Some(format!("move {shown} away")),
            FileError::Io(_) => None,
        }
    }

    /// Whether the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FileError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

fn is_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// A byte count as people read it: `64 MiB`, `512 KiB`, `100 bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{} KiB", n >> 10),
            n => write!(f, "{n} bytes"),
        }
    }
}

/// Whether a read may follow a symlink at the path's last component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Files the user points us at (`config.json` in a dotfiles repo, `--keyfile`).
    Yes,
    /// The store's own files.
    No,
}

/// Reads a whole regular file of at most `max` bytes; `Ok(None)` when it does not exist.
pub fn read_bounded(path: &Path, max: u64, follow: Follow) -> Result<Option<Vec<u8>>, FileError> {
    match open_regular(path, follow) {
        Ok((file, meta)) => read_all(file, &meta, max).map(Some),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`read_bounded`] for a file of the store: never through a symlink, and only when it is
/// ours and private ([`check_private`]).
pub fn read_private(path: &Path, max: u64) -> Result<Option<Vec<u8>>, FileError> {
    match open_regular(path, Follow::No) {
        Ok((file, meta)) => {
            check_private(&meta)?;
            read_all(file, &meta, max).map(Some)
        }
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads at most `max` bytes from any reader (stdin, a pipe), refusing more.
pub fn read_limited(mut reader: impl Read, max: u64) -> Result<Vec<u8>, FileError> {
    let mut buf = Vec::new();
    reader.by_ref().take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(FileError::TooLarge(Size(max)));
    }
    Ok(buf)
}

fn read_all(file: File, meta: &Metadata, max: u64) -> Result<Vec<u8>, FileError> {
    if meta.len() > max {
        return Err(FileError::TooLarge(Size(max)));
    }
    // Sized from fstat, so a small file costs one read (plus the one that sees EOF).
    let mut buf = Vec::with_capacity(meta.len() as usize + 1);
    file.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(FileError::TooLarge(Size(max)));
    }
    Ok(buf)
}

/// Opens `path` for reading without blocking (a FIFO would wait for a writer) and returns it
/// only if what was opened is a regular file — checked on the open file, so nothing can be
/// swapped in between the check and the read.
fn open_regular(path: &Path, follow: Follow) -> Result<(File, Metadata), FileError> {
    let file = open_nonblocking(path, follow)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileError::NotAFile(kind_of(&meta)));
    }
    Ok((file, meta))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path, follow: Follow) -> Result<File, FileError> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if follow == Follow::No {
        flags |= OFlags::NOFOLLOW;
    }
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => Ok(File::from(fd)),
        // O_NOFOLLOW on a symlink fails with ELOOP.
        Err(rustix::io::Errno::LOOP) if follow == Follow::No => Err(FileError::Symlink),
        Err(e) => Err(FileError::Io(e.into())),
    }
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path, follow: Follow) -> Result<File, FileError> {
    if follow == Follow::No && fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
        return Err(FileError::Symlink);
    }
    Ok(File::open(path)?)
}

/// What a non-regular file is, for messages: "a FIFO", "a directory", …
pub fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_file() {
        "a file"
    } else {
        "a special file"
    }
}

/// The effective user id of this process (`None` where there are no uids).
pub fn euid() -> Option<u32> {
    #[cfg(unix)]
    return Some(rustix::process::geteuid().as_raw());
    #[cfg(not(unix))]
    None
}

/// The store's privacy rule for one folder or file, `ssh`-style: owned by us, not writable
/// by group or others, and (for files, which hold secrets) not readable by them either.
pub fn check_private(meta: &Metadata) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = euid().expect("BUG: unix has uids");
        if meta.uid() != me {
            return Err(FileError::ForeignOwner {
                owner: meta.uid(),
                me,
            });
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(FileError::OpenToOthers {
                what: "writable",
                mode,
            });
        }
        if !meta.is_dir() && mode & 0o044 != 0 {
            return Err(FileError::OpenToOthers {
                what: "readable",
                mode,
            });
        }
    }
    let _ = meta;
    Ok(())
}

/// Checks `dir` with [`check_private`] if it exists (following a symlink to it: a store
/// folder may be a link, and its target is judged, never changed), or creates it, with any
/// missing parents, as 0700. Returns whether it was created.
pub fn private_dir(dir: &Path) -> Result<bool, FileError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => check_private(&meta).map(|()| false),
        Ok(meta) => Err(FileError::NotAFolder(kind_of(&meta))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_dir_0700(dir)?;
            Ok(true)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(unix)]
fn create_dir_0700(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir_0700(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// How [`write_atomic`] sets the new file's mode and owner.
#[derive(Debug, Clone, Copy, Default)]
pub enum Keep<'a> {
    /// 0600, owned by us: store files, exports, a new config file.
    #[default]
    Private,
    /// The mode and owner of the file being replaced (a user's config file).
    Like(&'a Metadata),
}

/// Replaces (or creates) `path` with `bytes` atomically; see the module docs.
pub fn write_atomic(path: &Path, bytes: &[u8], keep: Keep) -> io::Result<()> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .rand_bytes(TEMP_RANDOM)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Keep::Like(old) = keep {
        keep_mode_and_owner(tmp.as_file(), old)?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn keep_mode_and_owner(f: &File, old: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // Only root can give a file away; for anyone else the owner is already right.
    let _ = std::os::unix::fs::fchown(f, Some(old.uid()), Some(old.gid()));
    f.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_mode_and_owner(_f: &File, _old: &Metadata) -> io::Result<()> {
    Ok(())
}

/// Makes renames in `dir` durable. Best effort: not every platform can open a directory.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The random letters and digits after [`TEMP_PREFIX`] in a temp file's name.
const TEMP_RANDOM: usize = 12;

/// Whether `name` is one of [`write_atomic`]'s temp files (and not, say, a user's
/// `.tmp-notes`, which no sweep may delete).
pub fn is_temp_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .and_then(|n| n.strip_prefix(TEMP_PREFIX))
        .is_some_and(|r| r.len() == TEMP_RANDOM && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Removes the temp files that writers which died mid-write left in `dir`. Call it only
/// while holding the lock every writer of `dir` takes, so no live writer owns one.
pub fn sweep_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if is_temp_name(&entry.file_name()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Opens (creating, 0600) the lock file at `path` without following a symlink, and checks it
/// is a private regular file of ours.
pub fn open_lock_file(path: &Path) -> Result<File, FileError> {
    let file = open_lock_raw(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileError::NotAFile(kind_of(&meta)));
    }
    check_private(&meta)?;
    Ok(file)
}

#[cfg(unix)]
fn open_lock_raw(path: &Path) -> Result<File, FileError> {
    use rustix::fs::{Mode, OFlags};
    let flags =
        OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    match rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok(File::from(fd)),
        Err(rustix::io::Errno::LOOP) => Err(FileError::Symlink),
        Err(e) => Err(FileError::Io(e.into())),
    }
}

#[cfg(not(unix))]
fn open_lock_raw(path: &Path) -> Result<File, FileError> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
        return Err(FileError::Symlink);
    }
    Ok(fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?)
}

/// `path` quoted for a shell command in a message, when it needs quoting.
pub fn shell_quote(path: &Path) -> String {
    let s = path.to_string_lossy();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn reads_regular_files_within_the_bound_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"hello").unwrap();
        assert_eq!(read_bounded(&f, 5, Follow::Yes).unwrap().unwrap(), b"hello");
        assert!(matches!(
            read_bounded(&f, 4, Follow::Yes),
            Err(FileError::TooLarge(Size(4)))
        ));
        assert!(
            read_bounded(&dir.path().join("none"), 5, Follow::Yes)
                .unwrap()
                .is_none()
        );
        let err = read_bounded(dir.path(), 5, Follow::Yes).unwrap_err();
        assert_eq!(err.to_string(), "is a directory, not a regular file");
        let zero = read_bounded(Path::new("/dev/zero"), 5, Follow::Yes).unwrap_err();
        assert_eq!(zero.to_string(), "is a device, not a regular file");
    }

    #[test]
    fn a_fifo_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        fs::set_permissions(&fifo, fs::Permissions::from_mode(0o600)).unwrap();
        let err = read_bounded(&fifo, 100, Follow::Yes).unwrap_err();
        assert_eq!(err.to_string(), "is a FIFO, not a regular file");
        assert!(matches!(
            read_private(&fifo, 100),
            Err(FileError::NotAFile("a FIFO"))
        ));
    }

    #[test]
    fn symlinks_are_followed_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"x").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_bounded(&link, 9, Follow::Yes).unwrap().unwrap(), b"x");
        assert!(matches!(read_private(&link, 9), Err(FileError::Symlink)));
    }

    #[test]
    fn private_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"x").unwrap();
        for (m, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o602, false)] {
            fs::set_permissions(&f, fs::Permissions::from_mode(m)).unwrap();
            assert_eq!(read_private(&f, 9).is_ok(), ok, "{m:o}");
        }
        let err = FileError::OpenToOthers {
            what: "writable",
            mode: 0o777,
        };
        assert_eq!(
            err.fix(dir.path()).unwrap(),
            format!("chmod 700 {}", dir.path().display())
        );
    }

    #[test]
    fn atomic_writes_are_private_and_replace_links_instead_of_following_them() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let path = dir.path().join("file");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_atomic(&path, b"new", Keep::Private).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
        assert!(!fs::symlink_metadata(&path).unwrap().is_symlink());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn atomic_writes_can_keep_the_old_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs::write(&path, b"{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let old = fs::metadata(&path).unwrap();
        write_atomic(&path, b"{ }", Keep::Like(&old)).unwrap();
        assert_eq!(mode(&path), 0o644);
    }

    #[test]
    fn private_dirs_are_created_0700_and_never_chmodded() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("a/b");
        assert!(private_dir(&store).unwrap());
        assert_eq!(mode(&store), 0o700);
        assert!(!private_dir(&store).unwrap());
        fs::set_permissions(&store, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            private_dir(&store),
            Err(FileError::OpenToOthers { .. })
        ));
        assert_eq!(mode(&store), 0o777, "left as it was");
    }

    #[test]
    fn lock_files_are_never_opened_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        let lock = dir.path().join(".lock");
        std::os::unix::fs::symlink(&target, &lock).unwrap();
        assert!(matches!(open_lock_file(&lock), Err(FileError::Symlink)));
        assert!(!target.exists());
        let real = dir.path().join("real.lock");
        open_lock_file(&real).unwrap();
        assert_eq!(mode(&real), 0o600);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(Size(64 << 20).to_string(), "64 MiB");
        assert_eq!(Size(1 << 20).to_string(), "1 MiB");
        assert_eq!(Size(100).to_string(), "100 bytes");
    }
}
