//! What a sync changes in the store, decided without touching it (SPEC §9, "mirror
//! semantics"). Pure: the fetched credentials and a metadata view of the local ones in, a list
//! of steps out — printed by `--dry-run`, serialised by `--json`, applied by the store.
//!
//! The rules:
//! - A synced credential is Northflank's: its name, provider, registry, username, secret,
//!   restrictions, description and times are what Northflank says, and its [`Origin`] says
//!   where it came from. A re-sync updates what changed, renames what was renamed (same id),
//!   and removes what is gone upstream — only credentials synced from the same origin (the
//!   account, or that team). Local credentials, and those synced from elsewhere, are never
//!   touched.
//! - A synced credential is either exactly Northflank's current one or gone: when Northflank's
//!   new version cannot be saved (it lost its restrictions or its static secret, or its new
//!   name is taken here), the old copy is removed with the reason rather than kept stale —
//!   stale restrictions could grant a project what Northflank no longer does. (An answer that
//!   is not the API's never gets here: it stops the fetch, and the copy is kept.)
//! - A credential fetched again whose content is the copy's (one without `updatedAt` is
//!   fetched every time) is unchanged: nothing is written, so its times and a cached
//!   exchanged token stay. Comparing the secret is the caller's: the plan never sees secrets.
//! - A name already used here, or a credential that would make the choice for some project
//!   ambiguous (SPEC §4, [`policy::check_unambiguous`]), skips the later one with a message
//!   naming both. "Later" means: credentials already synced keep their place, and new ones
//!   come after them in Northflank's list order, so a re-sync never flips which one wins.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::{Entry, Fetched, Origin, Scope, Upstream};
use crate::policy::{self, Restrictions};
use crate::provider::Provider;
use crate::secret::Secret;

/// The metadata of a saved credential that planning needs (never its secret).
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// The store's id for it (not Northflank's): what the caller's secret check looks up.
    pub id: &'a str,
    pub name: &'a str,
    /// The canonical registry key.
    pub registry: &'a str,
    pub provider: Provider,
    pub username: &'a str,
    pub description: &'a str,
    pub restrictions: &'a Restrictions,
    pub created: &'a str,
    pub updated: &'a str,
    pub origin: Option<&'a Origin>,
    /// Synced from another Northflank API than this sync's: never this sync's to change.
    pub other_api: bool,
}

impl<'a> Local<'a> {
    /// What a sync saves for `u` with `origin`, as the planner sees it: for benchmarks and
    /// tests that plan a re-sync against a first sync's outcome.
    pub fn synced(u: &'a Upstream, origin: &'a Origin) -> Local<'a> {
        Local {
            id: &u.id,
            name: &u.name,
            registry: &u.registry,
            provider: u.provider,
            username: &u.username,
            description: &u.description,
            restrictions: &u.restrictions,
            created: u.created_at.as_deref().unwrap_or_default(),
            updated: u.updated_at.as_deref().unwrap_or_default(),
            origin: Some(origin),
            other_api: false,
        }
    }

    /// Its origin, when it was synced from `scope` through this sync's API.
    fn synced_from(&self, scope: &Scope) -> Option<&'a Origin> {
        self.origin.filter(|o| !self.other_api && scope.owns(o))
    }

    /// Who holds its name and registry slot, for a sync of `scope`.
    fn holder(&self, scope: &Scope) -> Holder {
        match (self.origin, self.synced_from(scope)) {
            (_, Some(o)) => Holder::Synced(o.credential_id.clone()),
            (None, None) => Holder::Local,
            (Some(o), None) => Holder::Elsewhere {
                id: o.credential_id.clone(),
                from: match (&o.team, o.api.as_deref()) {
                    (_, Some(api)) if self.other_api => format!("the API {api}"),
                    (Some(team), _) => format!("team {team}"),
                    (None, _) => "the account".to_string(),
                },
            },
        }
    }
}

/// The `known` map for [`super::api::fetch`]: Northflank id → saved `updatedAt`, for the
/// credentials synced from `scope`.
pub fn known(local: &[Local], scope: &Scope) -> HashMap<String, String> {
    local
        .iter()
        .filter_map(|l| l.synced_from(scope))
        .filter_map(|o| Some((o.credential_id.clone(), o.updated_at.clone()?)))
        .collect()
}

/// One change. Apply them in the order of [`Plan::steps`]: removals first (they free names
/// and registries), then renames and updates, then creations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// Save a new credential with `upstream.origin(scope)`.
    Create(&'a Upstream),
    /// Replace the synced credential now called `name` by `upstream` (its name included);
    /// `changes` lists what differs: `name`, metadata fields, `secret`, or only `times` (never
    /// empty). One whose name changed is reported and counted as a rename ([`Step::action`]).
    Update {
        name: String,
        upstream: &'a Upstream,
        changes: Vec<&'static str>,
    },
    /// Renamed in Northflank and not fetched (its `updatedAt` is the saved one): only the name
    /// changes.
    Rename {
        id: String,
        from: String,
        to: String,
    },
    /// Remove the synced credential `name`.
    Remove {
        id: String,
        name: String,
        reason: String,
    },
    /// Northflank's credential `name` is not saved here.
    Skip {
        id: String,
        name: String,
        reason: String,
    },
    /// The saved copy stays as it is.
    Keep {
        id: String,
        name: String,
        reason: &'static str,
    },
}

impl Step<'_> {
    /// The action's stable name, as `--json` prints it. Northflank keeps the id when a
    /// credential is renamed, so a fetched one with a new name is a rename (SPEC §9), whatever
    /// else changed with it.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Create(_) => "create",
            Step::Update { .. } if self.renames() => "rename",
            Step::Update { .. } => "update",
            Step::Rename { .. } => "rename",
            Step::Remove { .. } => "remove",
            Step::Skip { .. } => "skip",
            Step::Keep { .. } => "keep",
        }
    }

    /// Whether it gives a credential a new name.
    pub fn renames(&self) -> bool {
        match self {
            Step::Update { name, upstream, .. } => *name != upstream.name,
            Step::Rename { .. } => true,
            _ => false,
        }
    }

    /// The changes a line or `--json` lists: for a rename, those besides the name.
    fn listed_changes(&self) -> Vec<&'static str> {
        match self {
            Step::Update { changes, .. } => changes
                .iter()
                .copied()
                .filter(|c| !(self.renames() && *c == "name"))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether applying it changes the store.
    pub fn changes_store(&self) -> bool {
        !matches!(self, Step::Skip { .. } | Step::Keep { .. })
    }

    fn order(&self) -> u8 {
        match self {
            Step::Remove { .. } => 0,
            Step::Rename { .. } | Step::Update { .. } => 1,
            Step::Create(_) => 2,
            Step::Skip { .. } => 3,
            Step::Keep { .. } => 4,
        }
    }
}

/// The `--json` form of a step: stable field names, never a secret.
#[derive(Serialize)]
struct StepJson<'s> {
    action: &'static str,
    credential_id: &'s str,
    name: &'s str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restrictions: Option<&'s Restrictions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'s str>,
}

impl<'s> StepJson<'s> {
    fn upstream(&mut self, u: &'s Upstream) {
        (self.credential_id, self.name) = (&u.id, &u.name);
        self.registry = Some(&u.registry);
        self.provider = Some(u.provider.as_str());
        self.restrictions = Some(&u.restrictions);
    }
}

impl Serialize for Step<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut j = StepJson {
            action: self.action(),
            credential_id: "",
            name: "",
            from: None,
            registry: None,
            provider: None,
            restrictions: None,
            changes: None,
            reason: None,
        };
        match self {
            Step::Create(u) => j.upstream(u),
            Step::Update { name, upstream, .. } => {
                j.upstream(upstream);
                j.from = self.renames().then_some(name.as_str());
                // A rename lists what else changed, and only when something did.
                let listed = self.listed_changes();
                j.changes = (!self.renames() || !listed.is_empty()).then_some(listed);
            }
            Step::Rename { id, from, to } => {
                (j.credential_id, j.name, j.from) = (id, to, Some(from.as_str()));
            }
            Step::Remove { id, name, reason } | Step::Skip { id, name, reason } => {
                (j.credential_id, j.name, j.reason) = (id, name, Some(reason.as_str()));
            }
            Step::Keep { id, name, reason } => {
                (j.credential_id, j.name, j.reason) = (id, name, Some(*reason));
            }
        }
        j.serialize(s)
    }
}

/// One line for people: `create  ghcr token  (ghcr.io, projects p1)`.
impl fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<7} ", self.action())?;
        match self {
            Step::Create(u) => write!(
                f,
                "{:?} ({}, {})",
                u.name,
                u.registry,
                u.restrictions.scope()
            ),
            Step::Update {
                name, upstream: u, ..
            } => {
                let listed = self.listed_changes();
                if self.renames() {
                    write!(f, "{name:?} -> {:?}", u.name)?;
                    if listed.is_empty() {
                        return Ok(());
                    }
                } else {
                    write!(f, "{name:?}")?;
                }
                let also = if self.renames() { "also " } else { "" };
                write!(
                    f,
                    " ({}, {}; {also}changed: {})",
                    u.registry,
                    u.restrictions.scope(),
                    listed.join(", ")
                )
            }
            Step::Rename { from, to, .. } => write!(f, "{from:?} -> {to:?}"),
            Step::Remove { name, reason, .. } | Step::Skip { name, reason, .. } => {
                write!(f, "{name:?}: {reason}")
            }
            Step::Keep { name, reason, .. } => write!(f, "{name:?} ({reason})"),
        }
    }
}

/// How many steps of each kind, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub rename: usize,
    pub remove: usize,
    pub skip: usize,
    pub keep: usize,
}

/// `2 created, 1 updated, 0 renamed, 1 removed, 1 skipped, 10 unchanged`.
impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} renamed, {} removed, {} skipped, {} unchanged",
            self.create, self.update, self.rename, self.remove, self.skip, self.keep
        )
    }
}

/// What a sync of one scope does.
#[derive(Debug, Serialize)]
pub struct Plan<'a> {
    /// The team synced, `null` for the token's own account.
    pub team: Option<&'a str>,
    pub steps: Vec<Step<'a>>,
}

impl Plan<'_> {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.steps {
            *match s {
                Step::Create(_) => &mut c.create,
                Step::Update { .. } if s.renames() => &mut c.rename,
                Step::Update { .. } => &mut c.update,
                Step::Rename { .. } => &mut c.rename,
                Step::Remove { .. } => &mut c.remove,
                Step::Skip { .. } => &mut c.skip,
                Step::Keep { .. } => &mut c.keep,
            } += 1;
        }
        c
    }
}

/// Who holds a name or a registry slot in the store as it will be after the plan.
#[derive(Clone)]
enum Holder {
    /// A credential saved on this machine: no sync manages it.
    Local,
    /// Northflank's credential `id`, synced from another origin (`from`: `team t1`, `the
    /// account`, `the API …`): that origin's sync manages it, not this one.
    Elsewhere { id: String, from: String },
    /// A credential of this sync, by Northflank id.
    Synced(String),
}

/// The store after the plan, as far as names and the project choice go.
#[derive(Default)]
struct After<'a> {
    names: HashMap<String, (Holder, &'a str)>,
    registries: HashMap<&'a str, Vec<(String, &'a Restrictions)>>,
}

impl<'a> After<'a> {
    fn add(
        &mut self,
        name: &str,
        registry: &'a str,
        restrictions: &'a Restrictions,
        holder: Holder,
    ) {
        self.names.insert(name.to_string(), (holder, registry));
        self.registries
            .entry(registry)
            .or_default()
            .push((name.to_string(), restrictions));
    }

    /// Why `name` cannot be taken by the credential `id`, if it cannot.
    fn name_taken(&self, name: &str, id: &str) -> Option<String> {
        let (holder, registry) = self.names.get(name)?;
        Some(match holder {
            Holder::Local => format!(
                "the name {name:?} is already used here by a credential for {registry} that sync does not manage; rename one of them"
            ),
            Holder::Elsewhere { id: other, from } => format!(
                "the name {name:?} is already used by Northflank's credential {other} synced from {from} (for {registry}); rename one of them in Northflank"
            ),
            Holder::Synced(other) if other == id => return None,
            Holder::Synced(other) => format!(
                "the name {name:?} is already used by Northflank's credential {other} (for {registry}); rename one of them in Northflank"
            ),
        })
    }

    /// Admits `u` if its name is free and it keeps every project's choice unique.
    fn admit(&mut self, u: &'a Upstream) -> Result<(), String> {
        if let Some(why) = self.name_taken(&u.name, &u.id) {
            return Err(why);
        }
        let others = self
            .registries
            .get(u.registry.as_str())
            .into_iter()
            .flatten();
        let candidates = others
            .map(|(n, r)| (n.as_str(), *r))
            .chain([(u.name.as_str(), &u.restrictions)]);
        policy::check_unambiguous(&u.registry, candidates, Some(&u.name))?;
        self.add(
            &u.name,
            &u.registry,
            &u.restrictions,
            Holder::Synced(u.id.clone()),
        );
        Ok(())
    }
}

/// Plans the sync of `fetched` into a store holding `local`. `same_secret` says whether a
/// saved credential's secret is the given one; it is asked only about credentials fetched
/// again, to tell an unchanged one from an update.
pub fn plan<'a>(
    fetched: &'a Fetched,
    local: &[Local<'a>],
    same_secret: &mut dyn FnMut(&Local, &Secret) -> bool,
) -> Plan<'a> {
    let scope = &fetched.scope;
    let owned = |l: &&Local| l.synced_from(scope).is_some();
    let mut mine: HashMap<&str, &Local> = HashMap::new();
    let mut after = After::default();
    for l in local {
        match l.synced_from(scope) {
            Some(o) => {
                mine.entry(o.credential_id.as_str()).or_insert(l);
            }
            None => after.add(l.name, l.registry, l.restrictions, l.holder(scope)),
        }
    }

    // Credentials already here keep their place: those that stay as they are first, then
    // those updated, then new ones, each group in list order.
    let tier = |e: &Entry| match (e, mine.contains_key(e.id())) {
        (Entry::Unchanged { .. } | Entry::NotFetched { .. }, true) => 0,
        (_, true) => 1,
        (_, false) => 2,
    };
    let mut order: Vec<&Entry> = fetched.entries.iter().collect();
    order.sort_by_key(|e| tier(e));

    let mut steps = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut kept: HashSet<&str> = HashSet::new();
    for entry in order {
        let id = entry.id();
        if !id.is_empty() && !seen.insert(id) {
            steps.push(Step::Skip {
                id: id.to_string(),
                name: entry.name().to_string(),
                reason: format!("Northflank listed the id {id} twice; only the first is used"),
            });
            continue;
        }
        let here = mine.get(id).copied();
        if let Some(l) = here {
            kept.insert(l.name);
        }
        let step = match (entry, here) {
            (Entry::Unchanged { name, .. }, Some(l)) if name != l.name => {
                let renamed = policy::check_name(name)
                    .err()
                    .or_else(|| after.name_taken(name, id));
                let target = if renamed.is_none() {
                    name.as_str()
                } else {
                    l.name
                };
                after.add(
                    target,
                    l.registry,
                    l.restrictions,
                    Holder::Synced(id.to_string()),
                );
                match renamed {
                    None => Step::Rename {
                        id: id.to_string(),
                        from: l.name.to_string(),
                        to: name.clone(),
                    },
                    Some(why) => Step::Skip {
                        id: id.to_string(),
                        name: name.clone(),
                        reason: format!(
                            "renamed in Northflank from {:?}, but {why}; the copy here keeps its old name",
                            l.name
                        ),
                    },
                }
            }
            (Entry::Unchanged { .. } | Entry::NotFetched { .. }, Some(l)) => {
                after.add(
                    l.name,
                    l.registry,
                    l.restrictions,
                    Holder::Synced(id.to_string()),
                );
                Step::Keep {
                    id: id.to_string(),
                    name: l.name.to_string(),
                    reason: match entry {
                        Entry::Unchanged { .. } => "unchanged in Northflank",
                        Entry::NotFetched {
                            unreadable: true, ..
                        } => {
                            "its get answer could not be read (see the error); the copy here stays as it was"
                        }
                        _ => "not fetched: the sync stopped first; the copy here stays as it was",
                    },
                }
            }
            (Entry::Unchanged { name, .. }, None) => Step::Skip {
                id: id.to_string(),
                name: name.clone(),
                reason: "listed as unchanged, but no copy is saved here; run sync again".into(),
            },
            (
                Entry::NotFetched {
                    name, unreadable, ..
                },
                None,
            ) => Step::Skip {
                id: id.to_string(),
                name: name.clone(),
                reason: if *unreadable {
                    "its get answer could not be read (see the error); run sync again".into()
                } else {
                    "not fetched: the sync stopped first; run sync again".into()
                },
            },
            (Entry::Skipped { name, reason, .. }, here) => gone_or_skipped(id, name, reason, here),
            // Deleted since the list: as if the list had not had it.
            (Entry::Gone { reason, .. }, Some(l)) => Step::Remove {
                id: id.to_string(),
                name: l.name.to_string(),
                reason: reason.clone(),
            },
            (Entry::Gone { name, reason, .. }, None) => Step::Skip {
                id: id.to_string(),
                name: name.clone(),
                reason: reason.clone(),
            },
            (Entry::Fetched(u), here) => match (after.admit(u), here) {
                (Ok(()), None) => Step::Create(u),
                (Ok(()), Some(l)) => {
                    let changes = changes(l, u, same_secret);
                    if changes.is_empty() {
                        Step::Keep {
                            id: id.to_string(),
                            name: l.name.to_string(),
                            reason: "unchanged in Northflank",
                        }
                    } else {
                        Step::Update {
                            name: l.name.to_string(),
                            upstream: u,
                            changes,
                        }
                    }
                }
                (Err(why), here) => gone_or_skipped(id, &u.name, &why, here),
            },
        };
        steps.push(step);
    }
    for l in local.iter().filter(owned) {
        let o = l.origin.expect("BUG: owned credentials have an origin");
        if !kept.contains(l.name) {
            let reason = if seen.contains(o.credential_id.as_str()) {
                "a second copy of one Northflank credential".to_string()
            } else {
                format!("gone from {} in Northflank", scope.describe())
            };
            steps.push(Step::Remove {
                id: o.credential_id.clone(),
                name: l.name.to_string(),
                reason,
            });
        }
    }
    steps.sort_by_key(Step::order);
    Plan {
        team: scope.team(),
        steps,
    }
}

/// A credential that cannot be saved: skipped, and its old copy (if any) removed.
fn gone_or_skipped<'a>(id: &str, name: &str, reason: &str, here: Option<&Local>) -> Step<'a> {
    match here {
        Some(l) => Step::Remove {
            id: id.to_string(),
            name: l.name.to_string(),
            reason: format!(
                "Northflank's current version cannot be saved here ({reason}), so the old copy goes"
            ),
        },
        None => Step::Skip {
            id: id.to_string(),
            name: name.to_string(),
            reason: reason.to_string(),
        },
    }
}

/// What differs between the saved copy and `u`: the fields and the secret, else `times`
/// alone when only Northflank's times moved (saved with the copy, they must be written; they
/// go with nearly every change, so they are not listed beside others). Empty: nothing.
fn changes(
    l: &Local,
    u: &Upstream,
    same_secret: &mut dyn FnMut(&Local, &Secret) -> bool,
) -> Vec<&'static str> {
    let changed: Vec<&'static str> = [
        ("name", l.name != u.name),
        ("provider", l.provider != u.provider),
        ("registry", l.registry != u.registry),
        ("username", l.username != u.username),
        ("description", l.description != u.description),
        ("restrictions", *l.restrictions != u.restrictions),
        ("secret", !same_secret(l, &u.secret)),
    ]
    .into_iter()
    .filter_map(|(field, differs)| differs.then_some(field))
    .collect();
    // A time Northflank does not give is left as saved (see `synced` in the sync command).
    let times = u.created_at.as_deref().is_some_and(|t| t != l.created)
        || u.updated_at.as_deref().is_some_and(|t| t != l.updated)
        || l.origin.and_then(|o| o.updated_at.as_deref()) != u.updated_at.as_deref();
    if changed.is_empty() && times {
        vec!["times"]
    } else {
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::northflank::{Requests, SyncError};
    use crate::secret::Secret;

    fn projects(p: &[&str]) -> Restrictions {
        Restrictions::to_projects(p.iter().map(|s| s.to_string()).collect())
    }

    fn up(id: &str, name: &str, registry: &str, p: &[&str]) -> Upstream {
        Upstream {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            provider: Provider::Custom,
            registry: registry.into(),
            username: "u".into(),
            secret: Secret::new("s3cret-value"),
            restrictions: projects(p),
            created_at: None,
            updated_at: Some("t2".into()),
        }
    }

    /// A saved credential: name, registry, projects, origin (id, team).
    struct Saved {
        name: &'static str,
        registry: &'static str,
        restrictions: Restrictions,
        origin: Option<Origin>,
    }

    fn saved(
        name: &'static str,
        registry: &'static str,
        p: &[&str],
        origin: Option<(&str, Option<&str>)>,
    ) -> Saved {
        Saved {
            name,
            registry,
            restrictions: projects(p),
            origin: origin.map(|(id, team)| Origin {
                credential_id: id.into(),
                team: team.map(str::to_string),
                api: None,
                updated_at: Some("t1".into()),
            }),
        }
    }

    fn view(s: &[Saved]) -> Vec<Local<'_>> {
        s.iter()
            .map(|s| Local {
                id: s.name,
                name: s.name,
                registry: s.registry,
                provider: Provider::Custom,
                username: "u",
                description: "",
                restrictions: &s.restrictions,
                created: "t0",
                updated: "t1",
                origin: s.origin.as_ref(),
                other_api: false,
            })
            .collect()
    }

    /// The plan when every saved secret is the one fetched.
    fn plan_same<'a>(f: &'a Fetched, local: &[Local<'a>]) -> Plan<'a> {
        plan(f, local, &mut |_, _| true)
    }

    fn fetched(scope: Scope, entries: Vec<Entry>) -> Fetched {
        Fetched {
            scope,
            entries,
            requests: Requests::default(),
            stopped: None,
        }
    }

    /// Each step as `action name` (plus the reason's key words checked separately).
    fn lines(p: &Plan) -> Vec<String> {
        p.steps
            .iter()
            .map(|s| match s {
                Step::Rename { from, to, .. } => format!("rename {from} -> {to}"),
                Step::Update { name, upstream, .. } if *name != upstream.name => {
                    format!("rename {name} -> {}", upstream.name)
                }
                Step::Create(u) | Step::Update { upstream: u, .. } => {
                    format!("{} {}", s.action(), u.name)
                }
                Step::Remove { name, .. } | Step::Skip { name, .. } | Step::Keep { name, .. } => {
                    format!("{} {name}", s.action())
                }
            })
            .collect()
    }

    fn reason<'p>(p: &'p Plan, action: &str, name: &str) -> &'p str {
        p.steps
            .iter()
            .find_map(|s| match s {
                Step::Remove {
                    name: n, reason, ..
                }
                | Step::Skip {
                    name: n, reason, ..
                } if s.action() == action && n == name => Some(reason.as_str()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no {action} {name} in {:?}", lines(p)))
    }

    #[test]
    fn first_sync_creates_and_leaves_local_ones_alone() {
        let local = [saved("mine", "quay.io", &[], None)];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c1", "ghcr one", "ghcr.io", &["p1"])),
                Entry::Fetched(up("c2", "hub", "https://index.docker.io/v1/", &[])),
            ],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(lines(&p), ["create ghcr one", "create hub"]);
        assert_eq!(p.counts().create, 2);
    }

    #[test]
    fn resync_updates_renames_removes_and_keeps() {
        let local = [
            saved("same", "a.io", &["p1"], Some(("c1", None))),
            saved("old name", "b.io", &["p1"], Some(("c2", None))),
            saved("restricted", "c.io", &["p1"], Some(("c3", None))),
            saved("gone", "d.io", &[], Some(("c4", None))),
            saved("hand made", "d.io", &["p9"], None),
            saved("from team", "e.io", &[], Some(("c5", Some("t1")))),
            saved("renamed quietly", "f.io", &[], Some(("c6", None))),
        ];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Unchanged {
                    id: "c1".into(),
                    name: "same".into(),
                },
                Entry::Fetched(up("c2", "new name", "b.io", &["p1"])),
                Entry::Fetched(up("c3", "restricted", "c.io", &["p1", "p2"])),
                Entry::Unchanged {
                    id: "c6".into(),
                    name: "quiet new name".into(),
                },
            ],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(
            lines(&p),
            [
                "remove gone",
                "rename renamed quietly -> quiet new name",
                "rename old name -> new name",
                "update restricted",
                "keep same",
            ]
        );
        assert!(reason(&p, "remove", "gone").contains("gone from the token's account"));
        let changes: Vec<_> = p
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Update { changes, .. } => Some(changes.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(changes, [vec!["name"], vec!["restrictions"]]);
        // The team's credential and the hand-made one are never mentioned.
        assert!(
            !lines(&p)
                .iter()
                .any(|l| l.contains("team") || l.contains("hand"))
        );
    }

    #[test]
    fn a_team_sync_removes_only_its_own() {
        let local = [
            saved("acct", "a.io", &[], Some(("c1", None))),
            saved("team one", "b.io", &[], Some(("c2", Some("t1")))),
            saved("team two", "c.io", &[], Some(("c3", Some("t2")))),
        ];
        let f = fetched(Scope::Team("t1".into()), vec![]);
        let p = plan_same(&f, &view(&local));
        assert_eq!(lines(&p), ["remove team one"]);
        assert!(reason(&p, "remove", "team one").contains("gone from team t1"));
        assert_eq!(p.team, Some("t1"));
        let known = known(&view(&local), &Scope::Team("t1".into()));
        assert_eq!(known, HashMap::from([("c2".to_string(), "t1".to_string())]));
    }

    #[test]
    fn name_conflicts_skip_the_later_one_naming_both() {
        let local = [saved("taken", "quay.io", &[], None)];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c1", "taken", "ghcr.io", &[])),
                Entry::Fetched(up("c2", "twice", "a.io", &[])),
                Entry::Fetched(up("c3", "twice", "b.io", &[])),
            ],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(lines(&p), ["create twice", "skip taken", "skip twice"]);
        let r = reason(&p, "skip", "taken");
        assert!(
            r.contains(r#"name "taken" is already used here"#) && r.contains("quay.io"),
            "{r}"
        );
        let r = reason(&p, "skip", "twice");
        assert!(
            r.contains("Northflank's credential c2") && r.contains("a.io"),
            "{r}"
        );
    }

    #[test]
    fn ambiguity_skips_the_later_one_and_synced_ones_keep_their_place() {
        let local = [
            saved("hand ghcr", "ghcr.io", &["p1"], None),
            saved("synced hub", "hub.io", &[], Some(("c9", None))),
        ];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c1", "ghcr p1", "ghcr.io", &["p1", "p2"])),
                Entry::Fetched(up("c2", "ghcr all", "ghcr.io", &[])),
                Entry::Fetched(up("c3", "ghcr all too", "ghcr.io", &[])),
                // New and first in the list, but the one already synced wins.
                Entry::Fetched(up("c8", "new hub", "hub.io", &[])),
                Entry::Unchanged {
                    id: "c9".into(),
                    name: "synced hub".into(),
                },
            ],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(
            lines(&p),
            [
                "create ghcr all",
                "skip ghcr p1",
                "skip ghcr all too",
                "skip new hub",
                "keep synced hub"
            ]
        );
        let r = reason(&p, "skip", "ghcr p1");
        assert!(
            r.contains(r#""hand ghcr" restricted to project p1"#) && r.contains(r#""ghcr p1""#),
            "{r}"
        );
        let r = reason(&p, "skip", "ghcr all too");
        assert!(
            r.contains(r#""ghcr all""#) && r.contains(r#""ghcr all too""#),
            "{r}"
        );
        let r = reason(&p, "skip", "new hub");
        assert!(r.contains(r#""synced hub""#), "{r}");
    }

    #[test]
    fn what_cannot_be_saved_any_more_is_removed_not_kept_stale() {
        let local = [
            saved("lost restrictions", "a.io", &["p1"], Some(("c1", None))),
            saved("clash", "b.io", &[], Some(("c2", None))),
            saved("hand", "c.io", &[], None),
        ];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Skipped {
                    id: "c1".into(),
                    name: "lost restrictions".into(),
                    reason: "no restrictions".into(),
                },
                // Renamed upstream to a name a local credential has.
                Entry::Fetched(up("c2", "hand", "b.io", &[])),
            ],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(lines(&p), ["remove lost restrictions", "remove clash"]);
        assert!(reason(&p, "remove", "lost restrictions").contains("(no restrictions)"));
        assert!(reason(&p, "remove", "clash").contains(r#"name "hand" is already used"#));
    }

    #[test]
    fn a_stopped_sync_keeps_what_it_did_not_fetch() {
        let local = [saved("old", "a.io", &["p1"], Some(("c1", None)))];
        let mut f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c0", "fresh", "z.io", &[])),
                Entry::NotFetched {
                    id: "c1".into(),
                    name: "old".into(),
                    unreadable: false,
                },
                Entry::NotFetched {
                    id: "c2".into(),
                    name: "brand new".into(),
                    unreadable: false,
                },
            ],
        );
        f.stopped = Some(SyncError::RateLimited {
            retry_after: Some(60),
            detail: String::new(),
        });
        let p = plan_same(&f, &view(&local));
        assert_eq!(lines(&p), ["create fresh", "skip brand new", "keep old"]);
    }

    #[test]
    fn an_unchanged_rename_to_a_taken_name_keeps_the_old_name() {
        let local = [
            saved("old", "a.io", &[], Some(("c1", None))),
            saved("busy", "b.io", &[], None),
        ];
        let f = fetched(
            Scope::Account,
            vec![Entry::Unchanged {
                id: "c1".into(),
                name: "busy".into(),
            }],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(lines(&p), ["skip busy"]);
        assert!(reason(&p, "skip", "busy").contains("keeps its old name"));
        assert_eq!(
            p.counts(),
            Counts {
                skip: 1,
                ..Counts::default()
            }
        );
    }

    #[test]
    fn swapped_names_are_planned_and_a_listed_twice_id_is_skipped() {
        let local = [
            saved("alpha", "a.io", &[], Some(("c1", None))),
            saved("beta", "b.io", &[], Some(("c2", None))),
        ];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c1", "beta", "a.io", &[])),
                Entry::Fetched(up("c2", "alpha", "b.io", &[])),
                Entry::Fetched(up("c2", "alpha", "b.io", &[])),
            ],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(
            lines(&p),
            ["rename alpha -> beta", "rename beta -> alpha", "skip alpha"]
        );
        assert!(reason(&p, "skip", "alpha").contains("twice"));
    }

    #[test]
    fn a_credential_fetched_again_is_written_only_when_something_differs() {
        // One without updatedAt is fetched at every sync; its copy was saved without one.
        let mut local = [saved("plain", "a.io", &[], Some(("c1", None)))];
        local[0].origin.as_mut().unwrap().updated_at = None;
        let fresh = |updated: Option<&str>, created: Option<&str>| {
            let mut u = up("c1", "plain", "a.io", &[]);
            u.updated_at = updated.map(str::to_string);
            u.created_at = created.map(str::to_string);
            u
        };
        let cases: [(Upstream, bool, &str, Option<&[&str]>); 6] = [
            // Nothing differs: kept, nothing written (times and a cached token stay).
            (fresh(None, None), true, "keep plain", None),
            (fresh(None, Some("t0")), true, "keep plain", None),
            (fresh(None, None), false, "update plain", Some(&["secret"])),
            // Northflank's times are saved with the copy: they alone are an update.
            (
                fresh(None, Some("t9")),
                true,
                "update plain",
                Some(&["times"]),
            ),
            (
                fresh(Some("t1"), None),
                true,
                "update plain",
                Some(&["times"]),
            ),
            (
                {
                    let mut u = fresh(None, None);
                    u.description = "new".into();
                    u
                },
                false,
                "update plain",
                Some(&["description", "secret"]),
            ),
        ];
        for (u, same, want, want_changes) in cases {
            let f = fetched(Scope::Account, vec![Entry::Fetched(u)]);
            let mut asked = Vec::new();
            let p = plan(&f, &view(&local), &mut |l, secret| {
                asked.push((l.id.to_string(), secret.expose().to_string()));
                same
            });
            assert_eq!(lines(&p), [want], "{:?}", f.entries);
            assert_eq!(asked, [("plain".to_string(), "s3cret-value".to_string())]);
            let changes = p.steps.iter().find_map(|s| match s {
                Step::Update { changes, .. } => Some(changes.as_slice()),
                _ => None,
            });
            assert_eq!(changes, want_changes);
            if want.starts_with("keep") {
                assert!(!p.steps[0].changes_store());
                assert_eq!(p.counts().keep, 1);
            }
        }
    }

    #[test]
    fn a_fetched_rename_is_a_rename_listing_what_else_changed() {
        let local = [
            saved("quay uno", "quay.io", &[], Some(("c1", None))),
            saved("hub one", "hub.io", &[], Some(("c2", None))),
        ];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c1", "quay eins", "quay.io", &[])),
                Entry::Fetched(up("c2", "hub two", "hub.io", &["p1"])),
            ],
        );
        let p = plan_same(&f, &view(&local));
        let text: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            text,
            [
                r#"rename  "quay uno" -> "quay eins""#,
                r#"rename  "hub one" -> "hub two" (hub.io, projects p1; also changed: restrictions)"#,
            ]
        );
        assert_eq!(
            p.counts(),
            Counts {
                rename: 2,
                ..Counts::default()
            }
        );
        let json = serde_json::to_value(&p.steps).unwrap();
        assert_eq!(json[0]["action"], "rename");
        assert_eq!(
            (&json[0]["from"], &json[0]["name"]),
            (&"quay uno".into(), &"quay eins".into())
        );
        assert!(json[0].get("changes").is_none(), "{json}");
        assert_eq!(json[1]["changes"], serde_json::json!(["restrictions"]));
    }

    #[test]
    fn a_name_taken_by_another_origin_names_that_origin() {
        let mut local = [
            saved("shared", "a.io", &[], Some(("c9", Some("t1")))),
            saved("other api", "b.io", &[], Some(("c8", None))),
            saved("hand made", "c.io", &[], None),
        ];
        local[1].origin.as_mut().unwrap().api = Some("https://staging.example".into());
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c1", "shared", "d.io", &[])),
                Entry::Fetched(up("c2", "other api", "e.io", &[])),
                Entry::Fetched(up("c3", "hand made", "f.io", &[])),
            ],
        );
        let mut view = view(&local);
        view[1].other_api = true;
        let p = plan_same(&f, &view);
        assert_eq!(
            lines(&p),
            ["skip shared", "skip other api", "skip hand made"]
        );
        assert_eq!(
            reason(&p, "skip", "shared"),
            r#"the name "shared" is already used by Northflank's credential c9 synced from team t1 (for a.io); rename one of them in Northflank"#
        );
        assert_eq!(
            reason(&p, "skip", "other api"),
            r#"the name "other api" is already used by Northflank's credential c8 synced from the API https://staging.example (for b.io); rename one of them in Northflank"#
        );
        assert!(reason(&p, "skip", "hand made").contains("that sync does not manage"));
        // Neither is this sync's: nothing is removed, and neither is taken as known.
        assert!(known(&view, &Scope::Account).is_empty());
    }

    #[test]
    fn a_credential_deleted_since_the_list_goes_as_if_unlisted() {
        let local = [saved("was here", "a.io", &[], Some(("c1", None)))];
        let gone = |id: &str, name: &str| Entry::Gone {
            id: id.into(),
            name: name.into(),
            reason: "Northflank no longer has it, since it was listed (HTTP 404)".into(),
        };
        let f = fetched(
            Scope::Account,
            vec![gone("c1", "was here"), gone("c2", "brand new")],
        );
        let p = plan_same(&f, &view(&local));
        assert_eq!(lines(&p), ["remove was here", "skip brand new"]);
        assert!(reason(&p, "remove", "was here").starts_with("Northflank no longer has it"));
    }

    #[test]
    fn json_and_text_never_show_the_secret() {
        let local = [
            saved("old", "a.io", &[], Some(("c1", None))),
            saved("gone", "b.io", &[], Some(("c3", None))),
        ];
        let f = fetched(
            Scope::Account,
            vec![
                Entry::Fetched(up("c1", "new", "a.io", &["p1"])),
                Entry::Fetched(up("c2", "fresh", "ghcr.io", &[])),
            ],
        );
        let p = plan_same(&f, &view(&local));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"team": null, "steps": [
                {"action": "remove", "credential_id": "c3", "name": "gone",
                 "reason": "gone from the token's account in Northflank"},
                {"action": "rename", "credential_id": "c1", "name": "new", "from": "old",
                 "registry": "a.io", "provider": "custom",
                 "restrictions": {"restricted": true, "projects": ["p1"]},
                 "changes": ["restrictions"]},
                {"action": "create", "credential_id": "c2", "name": "fresh", "registry": "ghcr.io",
                 "provider": "custom", "restrictions": {"restricted": false, "projects": []}},
            ]})
        );
        let text: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            text,
            [
                r#"remove  "gone": gone from the token's account in Northflank"#,
                r#"rename  "old" -> "new" (a.io, projects p1; also changed: restrictions)"#,
                r#"create  "fresh" (ghcr.io, all projects)"#,
            ]
        );
        assert!(!json.to_string().contains("s3cret") && !text.concat().contains("s3cret"));
        assert_eq!(
            p.counts().to_string(),
            "1 created, 0 updated, 1 renamed, 1 removed, 0 skipped, 0 unchanged"
        );
    }
}
