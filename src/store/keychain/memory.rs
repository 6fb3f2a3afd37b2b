//! The unit tests' keychain: items in memory, and failures to inject at a chosen call.
//! Declared `#[cfg(test)]`, so no build can end up with a keychain that forgets.
//!
//! Tests run in parallel threads of one process. By default they share one keychain, which
//! is fine for items (ids are random) but would let one test's list or injected failure hit
//! another's calls; so the shared keychain never lists ([`super::items`] answers `None`, and
//! no sweep can delete another test's item), and a test that lists, or fails "the next set"
//! whatever its item, first takes a keychain of its own with [`isolate`]. Calls follow the
//! thread that makes them: [`super::call`] picks the keychain on the caller's thread before
//! handing the call to its worker thread.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::{Keychain, Why};
use crate::secret::Secret;

/// Items and what to fail.
#[derive(Default)]
struct Memory {
    /// item → (label, secret)
    items: Mutex<BTreeMap<String, (String, Secret)>>,
    failures: Mutex<Vec<Failure>>,
    /// Every call fails with this while set: a keychain that is locked or gone.
    unavailable: Mutex<Option<Why>>,
    /// Whether [`Keychain::items`] may answer: only for a keychain of one test.
    listable: bool,
}

enum Failure {
    /// The next get, set or delete of this item.
    Item(String, Why),
    /// The next set, whatever its item (the store picks new items' ids at random).
    AnySet(Why),
}

thread_local! {
    static OWN: RefCell<Option<Arc<Memory>>> = const { RefCell::new(None) };
}

/// The keychain of the calling thread: its own after [`isolate`], else the shared one.
pub(super) fn current() -> Arc<dyn Keychain> {
    own().unwrap_or_else(shared)
}

/// The keychain of threads without their own: it never lists.
fn shared() -> Arc<Memory> {
    static SHARED: OnceLock<Arc<Memory>> = OnceLock::new();
    SHARED.get_or_init(Arc::default).clone()
}

fn own() -> Option<Arc<Memory>> {
    OWN.with(|own| own.borrow().clone())
}

fn own_or_bug(what: &str) -> Arc<Memory> {
    own().unwrap_or_else(|| panic!("BUG: {what} needs memory::isolate() first"))
}

/// Gives the calling thread an empty keychain of its own, which lists its items, until the
/// returned guard is dropped.
#[must_use = "the thread's own keychain lasts as long as the guard"]
pub fn isolate() -> Isolated {
    let memory = Arc::new(Memory {
        listable: true,
        ..Memory::default()
    });
    OWN.with(|own| *own.borrow_mut() = Some(memory));
    Isolated(())
}

/// While it lives, the thread that called [`isolate`] has a keychain of its own.
pub struct Isolated(());

impl Drop for Isolated {
    fn drop(&mut self) {
        OWN.with(|own| *own.borrow_mut() = None);
    }
}

/// Makes the next get, set or delete of `item` fail with `why`.
pub fn fail_next(item: &str, why: &str) {
    let memory = own().unwrap_or_else(shared);
    push(&memory, Failure::Item(item.to_string(), why.to_string()));
}

/// Makes the next set of any item fail with `why` (needs [`isolate`]).
pub fn fail_next_set(why: &str) {
    push(
        &own_or_bug("fail_next_set"),
        Failure::AnySet(why.to_string()),
    );
}

/// Makes every call fail with `why` until called with `None` (needs [`isolate`]).
pub fn unavailable(why: Option<&str>) {
    *lock(&own_or_bug("unavailable").unavailable) = why.map(str::to_string);
}

/// The label the item was saved with, if it exists.
pub fn label(item: &str) -> Option<String> {
    let memory = own().unwrap_or_else(shared);
    lock(&memory.items)
        .get(item)
        .map(|(label, _)| label.clone())
}

fn push(memory: &Memory, failure: Failure) {
    lock(&memory.failures).push(failure);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Memory {
    /// The error this call must return, if any: the keychain is unavailable, or a failure
    /// was injected for it (which is used up).
    fn failure(&self, item: Option<&str>, is_set: bool) -> Result<(), Why> {
        if let Some(why) = lock(&self.unavailable).clone() {
            return Err(why);
        }
        let Some(item) = item else { return Ok(()) };
        let mut failures = lock(&self.failures);
        let hit = failures.iter().position(|f| match f {
            Failure::Item(i, _) => i == item,
            Failure::AnySet(_) => is_set,
        });
        match hit.map(|i| failures.remove(i)) {
            Some(Failure::Item(_, why) | Failure::AnySet(why)) => Err(why),
            None => Ok(()),
        }
    }
}

impl Keychain for Memory {
    fn get(&self, item: &str) -> Result<Option<Secret>, Why> {
        self.failure(Some(item), false)?;
        Ok(lock(&self.items).get(item).map(|(_, s)| s.clone()))
    }

    fn set(&self, item: &str, label: &str, secret: &Secret) -> Result<(), Why> {
        self.failure(Some(item), true)?;
        lock(&self.items).insert(item.to_string(), (label.to_string(), secret.clone()));
        Ok(())
    }

    fn delete(&self, item: &str) -> Result<(), Why> {
        self.failure(Some(item), false)?;
        lock(&self.items).remove(item);
        Ok(())
    }

    fn probe(&self) -> Result<(), Why> {
        self.failure(None, false)
    }

    fn items(&self) -> Result<Option<Vec<String>>, Why> {
        self.failure(None, false)?;
        Ok(self
            .listable
            .then(|| lock(&self.items).keys().cloned().collect()))
    }
}
