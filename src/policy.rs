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

/// The current project from the raw value of `NORTHFLANK_PROJECT`: `None` when unset, empty,
/// not UTF-8 or malformed — a context that sees no restricted credential.
pub fn project_from_env(raw: Option<&std::ffi::OsStr>) -> Option<String> {
    let s = raw?.to_str()?;
    valid_project_id(s).then(|| s.to_string())
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
pub fn generated_name(prefix: &str, key: &crate::host::Key, taken: &[String]) -> String {
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
        .find(|name| !taken.iter().any(|t| t == name))
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
/// candidates: two unrestricted ones, or two restricted to a common project.
pub fn check_unambiguous<'a>(
    registry: &str,
    items: impl IntoIterator<Item = (&'a str, &'a Restrictions)>,
) -> Result<(), String> {
    let mut unrestricted: Option<&str> = None;
    let mut by_project: std::collections::HashMap<&str, &str> = Default::default();
    for (name, r) in items {
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
        assert_eq!(project_from_env(None), None);
        assert_eq!(project_from_env(Some(OsStr::new(""))), None);
        assert_eq!(project_from_env(Some(OsStr::new("a b"))), None);
        assert_eq!(project_from_env(Some(OsStr::new("p1,p2"))), None);
        assert_eq!(
            project_from_env(Some(OsStr::new("my-Project-9"))),
            Some("my-Project-9".into())
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
            let got = check_unambiguous("ghcr.io", rs.iter().map(|(n, r)| (n.as_str(), r)));
            assert_eq!(got.is_ok(), *ok, "{sets:?}: {got:?}");
        }
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
