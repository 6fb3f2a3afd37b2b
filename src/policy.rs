//! Project restrictions: which saved credential, if any, a project may use. Pure functions.
//!
//! The rules (SPEC §4): an unrestricted credential is visible everywhere; a restricted one only
//! when `NORTHFLANK_PROJECT` names one of its projects; an unset, empty or malformed project
//! sees no restricted credential (fail closed). Of the visible credentials for one registry,
//! the one restricted to the current project wins over the unrestricted one. Saves that would
//! make that choice ambiguous are refused, so the choice is always unique.

use serde::{Deserialize, Serialize};

/// The environment variable naming the current project.
pub const PROJECT_ENV: &str = "NORTHFLANK_PROJECT";

/// Northflank's restriction setting for one credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restrictions {
    pub restricted: bool,
    #[serde(default)]
    pub projects: Vec<String>,
}

impl Restrictions {
    pub fn unrestricted() -> Self {
        Self::default()
    }

    /// Restricted to `projects`; unrestricted when the list is empty (as `add` without
    /// `--project` means).
    pub fn to_projects(projects: Vec<String>) -> Self {
        Restrictions {
            restricted: !projects.is_empty(),
            projects,
        }
    }

    pub fn visible_to(&self, project: Option<&str>) -> bool {
        !self.restricted || project.is_some_and(|p| self.projects.iter().any(|q| q == p))
    }

    /// For messages: `all projects`, or `projects a,b`.
    pub fn scope(&self) -> String {
        if self.restricted {
            format!("projects {}", self.projects.join(","))
        } else {
            "all projects".to_string()
        }
    }

    /// For tables: `-` when unrestricted, else the project list.
    pub fn describe(&self) -> String {
        if self.restricted {
            self.projects.join(",")
        } else {
            "-".to_string()
        }
    }
}

/// Whether `id` is a Northflank project id: `^[A-Za-z0-9-]+$`.
pub fn valid_project_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The current project, as `NORTHFLANK_PROJECT` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Project {
    /// Unset: only unrestricted credentials are visible, and protocol writes act on the
    /// unrestricted one.
    Unset,
    /// A well-formed project id.
    Id(String),
    /// Set to something that is no project id (empty, not UTF-8, `p1,p2`, `a b`): it sees what
    /// [`Project::Unset`] sees (fail closed), and protocol writes refuse, so a typo — or
    /// `NORTHFLANK_PROJECT=$UNSET_VARIABLE` in a CI file — can never overwrite or log out the
    /// credential every project shares. Only a variable that is really unset writes there.
    Invalid(String),
}

impl Project {
    /// From the raw value of `NORTHFLANK_PROJECT`.
    pub fn from_env(raw: Option<&std::ffi::OsStr>) -> Project {
        match raw {
            None => Project::Unset,
            Some(v) => match v.to_str() {
                Some(s) if valid_project_id(s) => Project::Id(s.to_string()),
                _ => Project::Invalid(v.to_string_lossy().into_owned()),
            },
        }
    }

    /// The project of this process's environment.
    pub fn current() -> Project {
        Project::from_env(std::env::var_os(PROJECT_ENV).as_deref())
    }

    /// The project id, when there is a valid one: what visibility is decided by.
    pub fn id(&self) -> Option<&str> {
        match self {
            Project::Id(p) => Some(p),
            _ => None,
        }
    }
}

/// What a protocol `store` (`docker login`) in a project may change (SPEC §4: the protocol's
/// writes stay inside the current project).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// Update the credential at this index: the one `get` serves here, restricted to this
    /// project alone (or, with no project, the unrestricted one).
    Update(usize),
    /// Save a new credential with these restrictions (this project alone, or unrestricted).
    Create(Restrictions),
    /// Neither is possible without changing what another project gets; the text says why
    /// and what to do instead.
    Refuse(String),
}

/// Where `store` in `project` writes, among the credentials saved for one registry.
pub fn store_target<T>(
    items: &[T],
    restrictions: impl Fn(&T) -> &Restrictions,
    name: impl Fn(&T) -> &str,
    project: &Project,
) -> StoreTarget {
    match project {
        Project::Invalid(raw) => StoreTarget::Refuse(invalid_project(raw)),
        Project::Unset => match items.iter().position(|c| !restrictions(c).restricted) {
            Some(i) => StoreTarget::Update(i),
            None => StoreTarget::Create(Restrictions::unrestricted()),
        },
        Project::Id(p) => match position(items, &restrictions, Some(p)) {
            Some(i) if only_for(restrictions(&items[i]), p) => StoreTarget::Update(i),
            Some(i) if restrictions(&items[i]).restricted => {
                let (name, r) = (name(&items[i]), restrictions(&items[i]));
                StoreTarget::Refuse(format!(
                    "the credential {name:?} that project {p} uses here is shared with {}, so a login in {p} would change it for them too: take {p} off it (restrict {name:?} --project {}) and log in again, or replace it for all of them with `rm` and `add`",
                    r.scope(),
                    others(r, p),
                ))
            }
            // Served the unrestricted one (or nothing): the project gets one of its own.
            _ => StoreTarget::Create(Restrictions::to_projects(vec![p.clone()])),
        },
    }
}

/// What a protocol `erase` (`docker logout`) in `project` removes, among the credentials
/// saved for one registry: the one `get` serves here if it belongs to this project alone (or,
/// with no project, the unrestricted one). `Err` says why the served one is left alone.
pub fn erase_target<T>(
    items: &[T],
    restrictions: impl Fn(&T) -> &Restrictions,
    name: impl Fn(&T) -> &str,
    project: &Project,
) -> Result<Option<usize>, String> {
    let unrestricted = items.iter().position(|c| !restrictions(c).restricted);
    match project {
        // Said only when there is something it leaves alone: docker logs out with up to four
        // spellings of a registry, and most hold nothing.
        Project::Invalid(raw) => match unrestricted {
            Some(_) => Err(invalid_project(raw)),
            None => Ok(None),
        },
        Project::Unset => Ok(unrestricted),
        Project::Id(p) => match position(items, &restrictions, Some(p)) {
            None => Ok(None),
            Some(i) if only_for(restrictions(&items[i]), p) => Ok(Some(i)),
            Some(i) => {
                let (name, r) = (name(&items[i]), restrictions(&items[i]));
                Err(if r.restricted {
                    format!(
                        "left {name:?} alone: it serves {} too, so a logout in project {p} must not remove it (take {p} off it with `restrict {name:?} --project {}`, or remove it with `rm`)",
                        r.scope(),
                        others(r, p),
                    )
                } else {
                    format!(
                        "left {name:?} alone: it serves all projects, so a logout in project {p} must not remove it (remove it with `rm`, or log out with {PROJECT_ENV} unset)"
                    )
                })
            }
        },
    }
}

/// The projects of `r` other than `project`, for a `restrict` line that takes it off.
fn others(r: &Restrictions, project: &str) -> String {
    let rest: Vec<&str> = r
        .projects
        .iter()
        .map(String::as_str)
        .filter(|q| *q != project)
        .collect();
    rest.join(" --project ")
}

fn only_for(r: &Restrictions, project: &str) -> bool {
    r.restricted && !r.projects.is_empty() && r.projects.iter().all(|q| q == project)
}

fn invalid_project(raw: &str) -> String {
    if raw.is_empty() {
        return format!(
            "{PROJECT_ENV} is set but empty, so this could change the credential every project shares: set it to a project id, or unset it (env -u {PROJECT_ENV}) to change the unrestricted credential"
        );
    }
    format!(
        "{PROJECT_ENV}={raw:?} is not a project id (letters, digits and hyphens): fix it, or unset it to use the unrestricted credentials"
    )
}

/// Checks a credential name against Northflank's rule: 3–39 characters, letters, digits and
/// single hyphens or spaces, starting with a letter (and, sensibly, not ending in a separator).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_len = (3..=39).contains(&name.chars().count());
    let starts = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ');
    let seps = !name.contains("--")
        && !name.contains("  ")
        && !name.contains("- ")
        && !name.contains(" -");
    let ends = !name.ends_with(['-', ' ']);
    if ok_len && starts && chars && seps && ends {
        Ok(())
    } else {
        Err(format!(
            "invalid credential name {name:?}: use 3-39 letters, digits, single hyphens or spaces, starting with a letter"
        ))
    }
}

/// A unique, valid credential name for a registry, for credentials that nobody named
/// (`docker login`, `import-docker-config`): `<prefix>-ghcr-io`, `<prefix>-docker-hub`,
/// `<prefix>-127-0-0-1-5000-2`, … `prefix` must start with a letter and be short, so the
/// result passes [`check_name`] whatever the host looks like (IP addresses start with digits).
pub fn generated_name(
    prefix: &str,
    key: &crate::host::Key,
    mut taken: impl FnMut(&str) -> bool,
) -> String {
    use crate::host::DOCKER_HUB;
    let base = if key.as_str() == DOCKER_HUB {
        "docker-hub".to_string()
    } else if let Some(rest) = key.as_str().strip_prefix(DOCKER_HUB) {
        format!("docker-hub-{rest}")
    } else {
        key.as_str().to_string()
    };
    let mut slug = prefix.to_string();
    for part in base
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        slug.push('-');
        slug.push_str(part);
    }
    // Room for a "-NN" suffix within the 39-character limit.
    if slug.len() > 34 {
        // Cut at a separator, so the name never ends in half a word.
        let cut = slug[..=34].rfind('-').unwrap_or(34);
        slug.truncate(cut);
    }
    (1..)
        .map(|n| {
            if n == 1 {
                slug.clone()
            } else {
                format!("{slug}-{n}")
            }
        })
        .find(|name| !taken(name))
        .expect("BUG: some suffix is free")
}

/// The credential `get` serves to `project` among those saved for one registry: the one
/// restricted to the project if any, else the unrestricted one.
pub fn select<'a, T>(
    items: &'a [T],
    restrictions: impl Fn(&T) -> &Restrictions,
    project: Option<&str>,
) -> Option<&'a T> {
    position(items, restrictions, project).map(|i| &items[i])
}

/// Like [`select`], but the index, for callers that go on to change or take the credential.
pub fn position<T>(
    items: &[T],
    restrictions: impl Fn(&T) -> &Restrictions,
    project: Option<&str>,
) -> Option<usize> {
    let specific = project.and_then(|p| {
        items.iter().position(|c| {
            let r = restrictions(c);
            r.restricted && r.projects.iter().any(|q| q == p)
        })
    });
    specific.or_else(|| items.iter().position(|c| !restrictions(c).restricted))
}

/// Refuses a set of credentials for one registry in which some context would have two
/// candidates: two unrestricted ones, or two restricted to a common project. `changed` names
/// the credential being saved or changed, so the message blames it and not the one that was
/// there first (for a set loaded as it is, the later one of a pair is blamed).
pub fn check_unambiguous<'a>(
    registry: &str,
    items: impl IntoIterator<Item = (&'a str, &'a Restrictions)>,
    changed: Option<&str>,
) -> Result<(), String> {
    let items: Vec<(&str, &Restrictions)> = items.into_iter().collect();
    // Ordered so the changed credential comes last: it is the one that "would be" ambiguous.
    let (mut order, last): (Vec<_>, Vec<_>) =
        items.into_iter().partition(|(n, _)| Some(*n) != changed);
    order.extend(last);
    let mut unrestricted: Option<&str> = None;
    let mut by_project: std::collections::HashMap<&str, &str> = Default::default();
    for (name, r) in order {
        if !r.restricted {
            if let Some(other) = unrestricted {
                return Err(format!(
                    "{registry} already has the unrestricted credential {other:?}, so {name:?} would be ambiguous: \
                     restrict one of them to projects (restrict NAME --project ID) or remove one"
                ));
            }
            unrestricted = Some(name);
        }
        for p in r.projects.iter().filter(|_| r.restricted) {
            if let Some(other) = by_project.insert(p, name).filter(|o| *o != name) {
                return Err(format!(
                    "{registry} already has credential {other:?} restricted to project {p}, so {name:?} would be \
                     ambiguous there: give each project at most one credential per registry"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(projects: &[&str]) -> Restrictions {
        Restrictions::to_projects(projects.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn visibility_table() {
        let cases: &[(&[&str], Option<&str>, bool)] = &[
            (&[], None, true),
            (&[], Some("p1"), true),
            (&["p1"], Some("p1"), true),
            (&["p1", "p2"], Some("p2"), true),
            (&["p1"], Some("p2"), false),
            (&["p1"], None, false),
            (&["p1"], Some("P1"), false),
            (&["p1"], Some("p"), false),
        ];
        for (projects, project, want) in cases {
            assert_eq!(
                r(projects).visible_to(*project),
                *want,
                "{projects:?} {project:?}"
            );
        }
        let empty = Restrictions {
            restricted: true,
            projects: vec![],
        };
        assert!(!empty.visible_to(Some("p1")) && !empty.visible_to(None));
    }

    #[test]
    fn project_env_fails_closed() {
        use std::ffi::OsStr;
        let p = |v: Option<&str>| Project::from_env(v.map(OsStr::new));
        assert_eq!(p(None), Project::Unset);
        assert_eq!(p(Some("")), Project::Invalid(String::new()));
        assert_eq!(p(Some("")).id(), None);
        assert_eq!(p(Some("a b")), Project::Invalid("a b".into()));
        assert_eq!(p(Some("p1,p2")).id(), None);
        assert_eq!(p(Some("my-Project-9")), Project::Id("my-Project-9".into()));
    }

    #[test]
    fn protocol_writes_stay_inside_the_project() {
        // Saved for one registry: (name, projects).
        let saved = [
            ("shared", r(&[])),
            ("p1-cred", r(&["p1"])),
            ("p2-p3", r(&["p2", "p3"])),
        ];
        let id = |s: &str| Project::Id(s.to_string());
        let store = |project: &Project| store_target(&saved, |c| &c.1, |c| c.0, project);
        let erase = |project: &Project| erase_target(&saved, |c| &c.1, |c| c.0, project);
        assert_eq!(store(&Project::Unset), StoreTarget::Update(0));
        assert_eq!(store(&id("p1")), StoreTarget::Update(1));
        assert_eq!(store(&id("p9")), StoreTarget::Create(r(&["p9"])));
        assert!(matches!(store(&id("p2")), StoreTarget::Refuse(why) if why.contains("\"p2-p3\"")));
        assert!(matches!(
            store(&Project::Invalid("p 1".into())),
            StoreTarget::Refuse(_)
        ));
        assert_eq!(erase(&Project::Unset), Ok(Some(0)));
        assert_eq!(erase(&id("p1")), Ok(Some(1)));
        assert!(erase(&id("p9")).unwrap_err().contains("\"shared\""));
        assert!(erase(&id("p3")).unwrap_err().contains("\"p2-p3\""));
        assert!(erase(&Project::Invalid("x y".into())).is_err());
        let restricted_only = [("p1-cred", r(&["p1"]))];
        assert_eq!(
            erase_target(
                &restricted_only,
                |c| &c.1,
                |c| c.0,
                &Project::Invalid(String::new())
            ),
            Ok(None),
            "nothing it could have removed: nothing to say"
        );
        let only_restricted = [("p1-cred", r(&["p1"]))];
        let none = |project: &Project| erase_target(&only_restricted, |c| &c.1, |c| c.0, project);
        assert_eq!(none(&Project::Unset), Ok(None));
        assert_eq!(none(&id("p2")), Ok(None));
        assert_eq!(
            store_target(&only_restricted, |c| &c.1, |c| c.0, &Project::Unset),
            StoreTarget::Create(Restrictions::unrestricted())
        );
    }

    #[test]
    fn selection_table() {
        // (name, projects) per saved credential; expected pick per context.
        let saved = [
            ("everyone", r(&[])),
            ("p1-only", r(&["p1"])),
            ("p2-p3", r(&["p2", "p3"])),
        ];
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (None, Some("everyone")),
            (Some("p1"), Some("p1-only")),
            (Some("p3"), Some("p2-p3")),
            (Some("p9"), Some("everyone")),
        ];
        for (project, want) in cases {
            let got = select(&saved, |c| &c.1, *project).map(|c| c.0);
            assert_eq!(got, *want, "{project:?}");
        }
        let restricted_only = [("p1-only", r(&["p1"]))];
        assert_eq!(select(&restricted_only, |c| &c.1, None).map(|c| c.0), None);
        assert_eq!(
            select(&restricted_only, |c| &c.1, Some("p2")).map(|c| c.0),
            None
        );
        assert_eq!(
            select::<(&str, Restrictions)>(&[], |c| &c.1, Some("p1")),
            None
        );
    }

    #[test]
    fn ambiguity_table() {
        let cases: &[(&[&[&str]], bool)] = &[
            (&[&[]], true),
            (&[&[], &["p1"]], true),
            (&[&["p1"], &["p2"]], true),
            (&[&[], &[]], false),
            (&[&["p1"], &["p2", "p1"]], false),
            (&[&["p1", "p2"], &["p3"], &[]], true),
        ];
        for (sets, ok) in cases {
            let rs: Vec<(String, Restrictions)> = sets
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("c{i}"), r(p)))
                .collect();
            let got = check_unambiguous("ghcr.io", rs.iter().map(|(n, r)| (n.as_str(), r)), None);
            assert_eq!(got.is_ok(), *ok, "{sets:?}: {got:?}");
        }
        // The changed credential is the one blamed, wherever it sits in the list.
        let (a, b) = (r(&["p1"]), r(&["p2", "p1"]));
        let pair = [("first", &a), ("second", &b)];
        let err = check_unambiguous("ghcr.io", pair, Some("first")).unwrap_err();
        assert!(
            err.contains("credential \"second\" restricted to project p1, so \"first\""),
            "{err}"
        );
    }

    #[test]
    fn names() {
        for ok in [
            "abc",
            "My registry",
            "a-b-c",
            "GHCR token 2",
            "a23456789012345678901234567890123456789",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "1abc",
            "-abc",
            "a--b",
            "a  b",
            "abc-",
            "abc ",
            "a_bc",
            "é-abc",
            "a- b",
            "a234567890123456789012345678901234567890",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
