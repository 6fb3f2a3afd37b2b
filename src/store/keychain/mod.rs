//! The operating system's keychain, where the secrets of keyring-backed credentials live
//! (SPEC §5): the Secret Service on Linux and the BSDs, the login Keychain on macOS, the
//! Credential Manager on Windows. docs/keychain.md says which library each uses and why.
//!
//! # Items
//!
//! One item per secret, under the service name [`SERVICE`] and an `item` string the store
//! chooses (a random hex id, not a credential's name or registry, so an item survives a
//! rename and two credentials never share one). Only the secret is in the keychain, so
//! `list` never touches it and `get` touches it once. Answers are [`Why`]s, one line with the
//! cause and the fix; the store adds which credential it was about.
//!
//! # Never hang, never prompt
//!
//! The helper runs inside `docker pull`, cron jobs and CI, where nobody can answer a dialog.
//! So no platform module ever asks the keychain to unlock (a locked collection is an error
//! that says how to unlock it, not a prompt), and every call runs on its own thread and is
//! abandoned after [`TIMEOUT`]. A keychain that did not answer once will not answer the next
//! call of the same process either, so from then on every call fails at once with the same
//! message: a hung keychain costs one timeout per process, never one per call, while the
//! store's lock is held.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::secret::Secret;

// One module per platform. Unit tests run on `memory`, so there the platform code is compiled
// and linted but unused.
// Unit tests elsewhere have keyring too (a dev-dependency), so they check this adapter's words.
#[cfg(any(target_os = "macos", windows, all(test, unix)))]
#[cfg_attr(test, allow(dead_code))]
mod core;
#[cfg(all(unix, not(target_os = "macos")))]
#[cfg_attr(test, allow(dead_code))]
mod linux;
#[cfg(target_os = "macos")]
#[cfg_attr(test, allow(dead_code))]
mod macos;
#[cfg(test)]
pub mod memory;
#[cfg(not(any(unix, windows)))]
#[cfg_attr(test, allow(dead_code))]
mod unsupported;
#[cfg(windows)]
#[cfg_attr(test, allow(dead_code))]
mod windows;

#[cfg(all(unix, not(target_os = "macos"), not(test)))]
use linux as platform;
#[cfg(all(target_os = "macos", not(test)))]
use macos as platform;
#[cfg(all(not(any(unix, windows)), not(test)))]
use unsupported as platform;
#[cfg(all(windows, not(test)))]
use windows as platform;

/// The service name every item is saved under. Stable: changing it would orphan every
/// saved secret.
pub const SERVICE: &str = "docker-credential-northflank";

/// How long one keychain call may take before we give up on it. A healthy keychain answers
/// in milliseconds; a hung or prompting one never does.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// What a failed call reports: the cause and what to do, one line, never a secret.
pub type Why = String;

/// The way out that most [`Why`]s offer. Spelled out here rather than taken from the store's
/// backend setting, so that this module depends on nothing of its callers (a unit test
/// checks the two agree).
const FILE_BACKEND: &str = "NORTHFLANK_CREDENTIAL_BACKEND=file";

/// The secret saved as `item`, or `None` when there is no such item.
pub fn get(item: &str) -> Result<Option<Secret>, Why> {
    let item = item.to_string();
    call(move |k| k.get(&item))
}

/// Saves `secret` as `item`, replacing what was there. `label` is what keychain UIs show.
pub fn set(item: &str, label: &str, secret: &Secret) -> Result<(), Why> {
    let (item, label, secret) = (item.to_string(), label.to_string(), secret.clone());
    call(move |k| k.set(&item, &label, &secret))
}

/// Deletes `item`; succeeds when there is none.
pub fn delete(item: &str) -> Result<(), Why> {
    let item = item.to_string();
    call(move |k| k.delete(&item))
}

/// Succeeds when a [`set`] would work now: the keychain is reachable and unlocked.
pub fn probe() -> Result<(), Why> {
    call(|k| k.probe())
}

/// Every item saved under [`SERVICE`], or `None` where the keychain cannot say for sure
/// (the platform cannot list, or some items are locked and hidden), so that a caller never
/// mistakes an incomplete list for a complete one.
pub fn items() -> Result<Option<Vec<String>>, Why> {
    call(|k| k.items())
}

/// What a platform module provides. Implementations never prompt and never put secret bytes
/// into a [`Why`]. The functions above document each call.
trait Keychain: Send + Sync {
    fn get(&self, item: &str) -> Result<Option<Secret>, Why>;
    fn set(&self, item: &str, label: &str, secret: &Secret) -> Result<(), Why>;
    fn delete(&self, item: &str) -> Result<(), Why>;
    fn probe(&self) -> Result<(), Why>;
    fn items(&self) -> Result<Option<Vec<String>>, Why>;
}

/// The keychain the next call goes to: the platform's, set up on first use so that
/// file-backed `get`s never pay for it. Unit tests get the calling thread's memory keychain.
fn current() -> Arc<dyn Keychain> {
    #[cfg(test)]
    return memory::current();
    #[cfg(not(test))]
    {
        static PLATFORM: OnceLock<Arc<dyn Keychain>> = OnceLock::new();
        PLATFORM.get_or_init(platform::new).clone()
    }
}

/// Runs one call against [`current`] under the process's [`Guard`].
fn call<T: Send + 'static>(
    op: impl FnOnce(&dyn Keychain) -> Result<T, Why> + Send + 'static,
) -> Result<T, Why> {
    static GUARD: Guard = Guard::new(TIMEOUT);
    let keychain = current();
    GUARD.run(move || op(keychain.as_ref()))
}

/// Bounds calls in time, and remembers the first one that ran out of it.
struct Guard {
    timeout: Duration,
    /// Set by the first call that did not answer in time: every later call fails with it.
    hung: OnceLock<Why>,
}

impl Guard {
    const fn new(timeout: Duration) -> Self {
        Guard {
            timeout,
            hung: OnceLock::new(),
        }
    }

    /// Runs `op` on its own thread and waits at most `timeout` for it. The thread of a call
    /// that timed out is left behind, blocked, and ends with the process.
    fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce() -> Result<T, Why> + Send + 'static,
    ) -> Result<T, Why> {
        if let Some(why) = self.hung.get() {
            return Err(why.clone());
        }
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                let _ = tx.send(op());
            })
            .map_err(|e| format!("cannot start a thread for the keychain call: {e}"))?;
        match rx.recv_timeout(self.timeout) {
            Ok(answer) => answer,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self
                .hung
                .get_or_init(|| {
                    format!(
                        "the keychain did not answer within {} (hung, or waiting for an unlock \
                         prompt); check it is running and unlocked, or set {FILE_BACKEND}",
                        seconds(self.timeout),
                    )
                })
                .clone()),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err("the keychain call failed unexpectedly (its thread panicked)".into())
            }
        }
    }
}

/// `5 s`, or `0.05 s` for the short timeouts of the unit tests.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The keychain of a platform that has none: every call says so.
#[cfg_attr(any(test, unix, windows), allow(dead_code))]
struct Broken(Why);

impl Keychain for Broken {
    fn get(&self, _: &str) -> Result<Option<Secret>, Why> {
        Err(self.why())
    }
    fn set(&self, _: &str, _: &str, _: &Secret) -> Result<(), Why> {
        Err(self.why())
    }
    fn delete(&self, _: &str) -> Result<(), Why> {
        Err(self.why())
    }
    fn probe(&self) -> Result<(), Why> {
        Err(self.why())
    }
    fn items(&self) -> Result<Option<Vec<String>>, Why> {
        Err(self.why())
    }
}

#[cfg_attr(any(test, unix, windows), allow(dead_code))]
impl Broken {
    fn why(&self) -> Why {
        format!("{}; set {FILE_BACKEND}", self.0)
    }
}

/// A secret read back as bytes, which must be the UTF-8 text we saved.
#[cfg_attr(test, allow(dead_code))]
fn utf8(bytes: Vec<u8>) -> Result<Secret, Why> {
    String::from_utf8(bytes)
        .map(Secret::new)
        .map_err(|_| "the keychain item does not hold UTF-8 text; save the credential again".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[test]
    fn round_trip_update_delete() {
        let _kc = memory::isolate();
        let item = crate::credential::new_id();
        let secret = Secret::new("pässwörd ✓ \u{1F511}");
        assert_eq!(get(&item).unwrap(), None);
        set(&item, "one (ghcr.io)", &secret).unwrap();
        assert_eq!(get(&item).unwrap(), Some(secret));
        set(&item, "one (ghcr.io)", &Secret::new("second")).unwrap();
        assert_eq!(get(&item).unwrap().unwrap().expose(), "second");
        assert_eq!(items().unwrap(), Some(vec![item.clone()]));
        delete(&item).unwrap();
        delete(&item).unwrap();
        assert_eq!(get(&item).unwrap(), None);
        assert_eq!(items().unwrap(), Some(vec![]));
    }

    #[test]
    fn injected_failures_hit_one_call() {
        let _kc = memory::isolate();
        let item = crate::credential::new_id();
        set(&item, "two", &Secret::new("hunter2")).unwrap();
        memory::fail_next(&item, "the collection is locked");
        assert_eq!(get(&item).unwrap_err(), "the collection is locked");
        assert_eq!(get(&item).unwrap().unwrap().expose(), "hunter2");

        memory::fail_next_set("disk full");
        let other = crate::credential::new_id();
        assert_eq!(
            set(&other, "three", &Secret::new("x")).unwrap_err(),
            "disk full"
        );
        assert_eq!(get(&other).unwrap(), None, "a failed set saves nothing");

        memory::unavailable(Some("no Secret Service"));
        assert_eq!(probe().unwrap_err(), "no Secret Service");
        assert_eq!(items().unwrap_err(), "no Secret Service");
        memory::unavailable(None);
        probe().unwrap();
    }

    #[test]
    fn threads_without_their_own_keychain_share_one_that_never_lists() {
        // Parallel tests share it, so a list of its items would hold other tests' items.
        let item = crate::credential::new_id();
        set(&item, "shared", &Secret::new("s")).unwrap();
        assert_eq!(get(&item).unwrap().unwrap().expose(), "s");
        assert_eq!(items().unwrap(), None);
        delete(&item).unwrap();
    }

    #[test]
    fn a_call_that_times_out_makes_every_later_call_fail_at_once() {
        let guard = Guard::new(Duration::from_millis(50));
        assert_eq!(guard.run(|| Ok(1)), Ok(1), "a fast call answers");
        let err = guard
            .run(|| {
                std::thread::sleep(Duration::from_secs(3));
                Ok(())
            })
            .unwrap_err();
        assert!(err.contains("did not answer within 0.05 s"), "{err}");
        assert!(err.contains("NORTHFLANK_CREDENTIAL_BACKEND=file"), "{err}");

        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let again = guard.run(move || {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert_eq!(again.unwrap_err(), err, "the same message");
        assert!(
            !ran.load(Ordering::SeqCst),
            "the keychain was not asked again"
        );
    }

    #[test]
    fn the_way_out_names_the_stores_backend_setting() {
        assert_eq!(FILE_BACKEND, format!("{}=file", crate::store::backend::ENV));
    }

    #[test]
    fn the_production_timeout_reads_as_whole_seconds() {
        assert_eq!(seconds(TIMEOUT), "5 s");
    }

    #[test]
    fn a_panicking_call_is_an_error() {
        let guard = Guard::new(TIMEOUT);
        let err = guard
            .run(|| -> Result<(), Why> { panic!("boom") })
            .unwrap_err();
        assert!(err.contains("panicked"), "{err}");
        assert_eq!(guard.run(|| Ok(2)), Ok(2), "a panic is no timeout");
    }
}
