//! The documented answers of Northflank's registry-credential endpoints, and the pure
//! conversion of one credential into an [`Upstream`] — or the reason it cannot be mirrored.
//!
//! Northflank's docs changed shape over the years (`../shared/reference/northflank-api.md`
//! §1): the current get answer has `credentials.{username,password}` and `restrictions`; the
//! older one `auths {url: {auth: base64(user:password)}}`, and the older list items carried
//! `description` and `restrictions` too. Both are accepted. Every field but `id` and `name`
//! may be missing, and each list item is parsed on its own, so one odd credential is skipped
//! with its reason instead of failing the whole sync.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::Upstream;
use super::error::one_line;
use crate::host::{self, Key};
use crate::policy::{self, Restrictions};
use crate::provider::{Hosts, Provider};
use crate::secret::Secret;

/// One credential as the list or the get answer describes it. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remote {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub registry_url: Option<String>,
    #[serde(default)]
    pub integration_id: Option<String>,
    #[serde(default)]
    pub credentials: Option<Credentials>,
    #[serde(default)]
    pub auths: Option<BTreeMap<String, Auth>>,
    #[serde(default)]
    pub restrictions: Option<RemoteRestrictions>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `credentials` of the current answers (the list has only `scope`).
#[derive(Debug, Default, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
}

/// One entry of the older `auths` answer: a Docker config's `auth` (base64 `user:password`),
/// or its `username`/`password` spelled out.
#[derive(Debug, Default, Deserialize)]
pub struct Auth {
    #[serde(default)]
    pub auth: Option<Secret>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
}

/// `restrictions` as sent; `restricted` is required by the schema, so its absence is not
/// read as "unrestricted".
#[derive(Debug, Default, Deserialize)]
pub struct RemoteRestrictions {
    #[serde(default)]
    pub restricted: Option<bool>,
    #[serde(default)]
    pub projects: Option<Vec<String>>,
}

/// One page of the list.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Listed>,
    /// The cursor of the next page, when `hasNextPage`.
    pub next: Option<String>,
}

/// One list item: parsed, or the reason it could not be.
#[derive(Debug)]
pub enum Listed {
    Ok(Box<Remote>),
    Bad {
        id: String,
        name: String,
        reason: String,
    },
}

#[derive(Deserialize)]
struct PageJson {
    data: PageData,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct PageData {
    #[serde(default)]
    credentials: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pagination {
    #[serde(default)]
    has_next_page: bool,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct GetJson {
    data: serde_json::Value,
}

/// Parses one list page: `{"data":{"credentials":[…]},"pagination":{"hasNextPage","cursor","count"}}`.
pub fn parse_page(body: &[u8]) -> Result<Page, String> {
    let page: PageJson = serde_json::from_slice(body).map_err(|e| shape_error("list", &e))?;
    let next = match page.pagination {
        Some(Pagination {
            has_next_page: true,
            cursor,
        }) => match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(c),
            None => return Err("the list answer says hasNextPage but gives no cursor".into()),
        },
        _ => None,
    };
    let items = page.data.credentials.into_iter().map(listed).collect();
    Ok(Page { items, next })
}

fn listed(value: serde_json::Value) -> Listed {
    let text = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .map(|s| one_line(s, 80))
            .unwrap_or_default()
    };
    let (id, name) = (text("id"), text("name"));
    match serde_json::from_value::<Remote>(value) {
        Ok(r) if r.id.is_empty() => Listed::Bad {
            id,
            name,
            reason: "the list item has an empty id".into(),
        },
        Ok(r) => Listed::Ok(Box::new(r)),
        Err(e) => Listed::Bad {
            id,
            name,
            reason: format!(
                "the list item is not the documented shape ({})",
                value_error(&e)
            ),
        },
    }
}

/// Parses a get answer: `{"data":{…}}`.
pub fn parse_get(body: &[u8]) -> Result<Remote, String> {
    let got: GetJson = serde_json::from_slice(body).map_err(|e| shape_error("get", &e))?;
    serde_json::from_value(got.data).map_err(|e| {
        format!(
            "the get answer is not the documented shape ({})",
            value_error(&e)
        )
    })
}

/// serde's message without the value it quotes ("invalid type: string \"…\", expected a
/// boolean" quotes what was sent, and the answer may hold secrets).
fn value_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.split_once(", expected ") {
        Some((_, expected)) => format!(
            "a field has the wrong type: expected {}",
            one_line(expected, 80)
        ),
        None => one_line(&text, 120),
    }
}

/// A body that is not JSON of the expected outline. Only the position is shown: the body may
/// hold secrets.
fn shape_error(what: &str, e: &serde_json::Error) -> String {
    format!(
        "the {what} answer is not Northflank's documented JSON (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// The provider as SPEC §1 names it: a known id as is, `legacy` and unknown ones `custom`.
pub fn provider(raw: Option<&str>) -> Provider {
    let raw = raw.unwrap_or_default().trim().to_ascii_lowercase();
    raw.parse().unwrap_or(Provider::Custom)
}

/// Converts what the list (`listed`) and the get (`got`) said about one credential into an
/// [`Upstream`], or says why it cannot be mirrored. The get wins where both have a field,
/// except `updatedAt`: the list's is what the next sync compares with.
pub fn convert(listed: &Remote, got: &Remote) -> Result<Upstream, String> {
    let pick = |a: &Option<String>, b: &Option<String>| {
        a.as_deref()
            .or(b.as_deref())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name = if got.name.is_empty() {
        &listed.name
    } else {
        &got.name
    };
    policy::check_name(name).map_err(|e| format!("Northflank's name is not valid here: {e}"))?;
    let raw_provider = pick(&got.provider, &listed.provider);
    let provider = provider(raw_provider.as_deref());
    let auths = got.auths.as_ref().filter(|a| !a.is_empty());
    let registry = registry(
        provider,
        raw_provider.as_deref(),
        pick(&got.registry_url, &listed.registry_url).as_deref(),
        auths,
    )?;
    let integration = pick(&got.integration_id, &listed.integration_id);
    let (username, secret) = secret(got, provider, &registry, auths, integration.as_deref())?;
    let restrictions = restrictions(got.restrictions.as_ref().or(listed.restrictions.as_ref()))?;
    Ok(Upstream {
        id: listed.id.clone(),
        name: name.clone(),
        description: pick(&got.description, &listed.description).unwrap_or_default(),
        provider,
        registry: registry.as_str().to_string(),
        username,
        secret,
        restrictions,
        created_at: pick(&got.created_at, &listed.created_at),
        updated_at: pick(&listed.updated_at, &got.updated_at),
    })
}

/// The registry key: from `registryUrl`, else the one registry of an `auths` answer (older
/// self-hosted GitLab and custom credentials name it only there), else the provider's own. A
/// named registry must be one the provider can have, as for `add --registry`.
fn registry(
    provider: Provider,
    raw_provider: Option<&str>,
    url: Option<&str>,
    auths: Option<&BTreeMap<String, Auth>>,
) -> Result<Key, String> {
    let named = match (url, auths.filter(|a| a.len() == 1)) {
        (Some(url), _) => Some((url, "registryUrl")),
        (None, Some(a)) => a.keys().next().map(|k| (k.as_str(), "auths registry")),
        (None, None) => None,
    };
    let fixed = |h: &str| host::normalize(h).expect("BUG: provider hosts are valid");
    let Some((text, what)) = named else {
        return match provider.hosts() {
            Hosts::Fixed(h) | Hosts::Any(Some(h)) => Ok(fixed(h)),
            Hosts::Pattern(_) | Hosts::Any(None) => Err(format!(
                "the answer has no registryUrl, and provider {:?} has no fixed registry",
                one_line(raw_provider.unwrap_or("(none)"), 40)
            )),
        };
    };
    let key = host::normalize(text).map_err(|e| {
        format!(
            "its {what} {:?} is not a registry address ({e})",
            host::redacted(&one_line(text, 100))
        )
    })?;
    match provider.hosts() {
        Hosts::Fixed(h) if fixed(h) != key => Err(format!(
            "its {what} {key} is not provider {provider}'s registry {}",
            fixed(h)
        )),
        Hosts::Pattern(p) if !p.matches(&key) => Err(format!(
            "its {what} {key} is not a {provider} registry ({})",
            p.form()
        )),
        _ => Ok(key),
    }
}

/// The username and the static secret, from `credentials` or the older `auths`.
fn secret(
    got: &Remote,
    provider: Provider,
    registry: &Key,
    auths: Option<&BTreeMap<String, Auth>>,
    integration: Option<&str>,
) -> Result<(String, Secret), String> {
    let username = |user: Option<&str>| match user.filter(|u| !u.is_empty()) {
        Some(u) => Ok(u.to_string()),
        // A keyfile is always sent as `_json_key` (SPEC §1).
        None if provider.takes_keyfile() => Ok("_json_key".to_string()),
        None => Err("Northflank's answer has a password but no username".to_string()),
    };
    if let Some(c) = &got.credentials
        && let Some(password) = c.password.as_ref().filter(|p| !p.is_empty())
    {
        return Ok((username(c.username.as_deref())?, password.clone()));
    }
    if let Some(auths) = auths {
        let entry = if auths.len() == 1 {
            auths.values().next()
        } else {
            auths
                .iter()
                .find(|(url, _)| host::normalize(url).is_ok_and(|k| k == *registry))
                .map(|(_, a)| a)
        };
        let Some(entry) = entry else {
            return Err(format!(
                "its auths name several registries and none is {registry}"
            ));
        };
        return from_auth(entry);
    }
    Err(match integration {
        Some(id) => format!(
            "it is backed by the integration {:?} and has no static secret (Northflank exchanges it for \
             short-lived tokens itself); save a credential with a username and password or token to use it here",
            one_line(id, 60)
        ),
        None => "Northflank's answer carries no secret (credentials.password or auths): check that the token \
                 has the permission \"Account > Credentials > General > Read Encrypted\""
            .to_string(),
    })
}

/// A Docker-config `auths` entry's user and secret.
fn from_auth(entry: &Auth) -> Result<(String, Secret), String> {
    if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
        let bad = || "its auths entry is not base64 of user:password".to_string();
        let text = auth.expose().trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(bytes).map_err(|_| bad())?;
        let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
        if user.is_empty() || pass.is_empty() {
            return Err(bad());
        }
        return Ok((user.to_string(), Secret::new(pass)));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() && !p.is_empty() => Ok((u.clone(), p.clone())),
        _ => Err("its auths entry has neither auth nor username and password".into()),
    }
}

/// Restrictions as Northflank states them, or why they cannot be trusted. Missing means
/// unknown, and unknown is never taken as "unrestricted" (fail closed).
fn restrictions(r: Option<&RemoteRestrictions>) -> Result<Restrictions, String> {
    let Some(restricted) = r.and_then(|r| r.restricted) else {
        return Err(
            "Northflank's answer does not say which projects may use it (no restrictions); \
             it is never taken as unrestricted"
                .into(),
        );
    };
    if !restricted {
        return Ok(Restrictions::unrestricted());
    }
    let mut projects: Vec<String> = Vec::new();
    for p in r.and_then(|r| r.projects.as_ref()).into_iter().flatten() {
        if !policy::valid_project_id(p) {
            return Err(format!(
                "it is restricted to {:?}, which is not a Northflank project id",
                one_line(p, 60)
            ));
        }
        if !projects.contains(p) {
            projects.push(p.clone());
        }
    }
    if projects.is_empty() {
        return Err("it is restricted to no project, so nothing here could use it".into());
    }
    Ok(Restrictions::to_projects(projects))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(json: serde_json::Value) -> Remote {
        serde_json::from_value(json).expect("test JSON is a Remote")
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// Converts a get answer's `data` (with a minimal list item of the same id).
    fn conv(get: serde_json::Value) -> Result<Upstream, String> {
        let listed = remote(serde_json::json!({"id": "cred-1", "name": "listed-name"}));
        convert(&listed, &remote(get))
    }

    #[test]
    fn current_answer() {
        let u = conv(serde_json::json!({
            "id": "cred-1", "name": "GHCR token", "description": "CI pulls",
            "provider": "github", "credentials": {"username": "bot", "password": "ghp_x",
            "scope": {"pull": true, "push": false}},
            "restrictions": {"restricted": true, "projects": ["p1", "p2", "p1"]},
            "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-02-01T00:00:00.000Z"
        }))
        .unwrap();
        assert_eq!(
            (
                u.id.as_str(),
                u.name.as_str(),
                u.description.as_str(),
                u.provider
            ),
            ("cred-1", "GHCR token", "CI pulls", Provider::Github)
        );
        assert_eq!(
            (u.registry.as_str(), u.username.as_str()),
            ("ghcr.io", "bot")
        );
        assert_eq!(u.secret.expose(), "ghp_x");
        assert_eq!(
            u.restrictions,
            Restrictions::to_projects(vec!["p1".into(), "p2".into()])
        );
        assert_eq!(u.created_at.as_deref(), Some("2026-01-01T00:00:00.000Z"));
        assert_eq!(u.updated_at.as_deref(), Some("2026-02-01T00:00:00.000Z"));
    }

    #[test]
    fn older_auths_answer() {
        let u = conv(serde_json::json!({
            "id": "cred-1", "name": "hub", "provider": "dockerhub",
            "auths": {"https://index.docker.io/v1/": {"auth": b64("alice:pa:ss")}},
            "restrictions": {"restricted": false}
        }))
        .unwrap();
        assert_eq!(
            (u.registry.as_str(), u.username.as_str(), u.secret.expose()),
            (host::DOCKER_HUB, "alice", "pa:ss")
        );
        assert_eq!(u.restrictions, Restrictions::unrestricted());
        // The registry of a self-hosted GitLab is named only in auths.
        let u = conv(serde_json::json!({
            "id": "cred-1", "name": "gitlab-own", "provider": "gitlab",
            "auths": {"gitlab.example.com:5050": {"username": "u", "password": "p"}},
            "restrictions": {"restricted": false}
        }))
        .unwrap();
        assert_eq!(u.registry, "gitlab.example.com:5050");
        // Several entries: the one for the registry.
        let u = conv(serde_json::json!({
            "id": "cred-1", "name": "github-two", "provider": "github",
            "auths": {"docker.io": {"auth": b64("a:1")}, "https://ghcr.io": {"auth": b64("b:2")}},
            "restrictions": {"restricted": false}
        }))
        .unwrap();
        assert_eq!((u.username.as_str(), u.secret.expose()), ("b", "2"));
    }

    #[test]
    fn providers() {
        let cases = [
            (Some("dockerhub"), "dockerhub"),
            (Some("GCR-EU"), "gcr-eu"),
            (Some("gcr-us"), "gcr-us"),
            (Some("gcr"), "gcr"),
            (Some("dhi"), "dhi"),
            (Some("legacy"), "custom"),
            (Some("quay"), "custom"),
            (None, "custom"),
        ];
        for (raw, want) in cases {
            assert_eq!(provider(raw).as_str(), want, "{raw:?}");
        }
        let registry = |provider: &str, url: Option<&str>| {
            let mut j = serde_json::json!({"id": "c", "name": "name", "credentials":
                {"username": "u", "password": "p"}, "restrictions": {"restricted": false}});
            j["provider"] = provider.into();
            if let Some(url) = url {
                j["registryUrl"] = url.into();
            }
            conv(j).map(|u| (u.provider.as_str(), u.registry))
        };
        let ok = [
            ("dockerhub", None, "dockerhub", host::DOCKER_HUB),
            ("github", None, "github", "ghcr.io"),
            ("gitlab", None, "gitlab", "registry.gitlab.com"),
            (
                "gitlab",
                Some("https://Registry.Example.com/"),
                "gitlab",
                "registry.example.com",
            ),
            ("gcr-eu", None, "gcr-eu", "eu.gcr.io"),
            ("dhi", None, "dhi", "dhi.io"),
            ("northflank", None, "northflank", "registry.northflank.com"),
            (
                "dockerhub",
                Some("docker.io"),
                "dockerhub",
                host::DOCKER_HUB,
            ),
            (
                "ecr",
                Some("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
                "ecr",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            ),
            (
                "legacy",
                Some("registry.example.com:5000"),
                "custom",
                "registry.example.com:5000",
            ),
            ("quay", Some("quay.io"), "custom", "quay.io"),
            ("acr", Some("myreg.azurecr.io"), "acr", "myreg.azurecr.io"),
        ];
        for (provider, url, want_provider, want_registry) in ok {
            assert_eq!(
                registry(provider, url),
                Ok((want_provider, want_registry.to_string())),
                "{provider} {url:?}"
            );
        }
        for (provider, url, want) in [
            ("quay", None, r#"provider "quay" has no fixed registry"#),
            ("acr", None, r#"provider "acr" has no fixed registry"#),
            (
                "github",
                Some("quay.io"),
                "is not provider github's registry ghcr.io",
            ),
            (
                "acr",
                Some("quay.io"),
                "is not a acr registry (NAME.azurecr.io",
            ),
            (
                "custom",
                Some("https://u:p@evil.example"),
                "not a registry address",
            ),
        ] {
            let err = registry(provider, url).unwrap_err();
            assert!(err.contains(want), "{provider}: {err}");
            assert!(!err.contains("u:p"), "{err}");
        }
    }

    #[test]
    fn skipped_with_reasons() {
        let base = || {
            serde_json::json!({"id": "cred-1", "name": "good-name", "provider": "github",
                "credentials": {"username": "u", "password": "p"},
                "restrictions": {"restricted": true, "projects": ["p1"]}})
        };
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut j = base();
            f(&mut j);
            conv(j).unwrap_err()
        };
        let cases: Vec<(String, &str)> = vec![
            (
                with(&|j| j["restrictions"] = serde_json::Value::Null),
                "never taken as unrestricted",
            ),
            (
                with(&|j| {
                    j.as_object_mut().unwrap().remove("restrictions");
                }),
                "no restrictions",
            ),
            (
                with(&|j| j["restrictions"] = serde_json::json!({"projects": ["p1"]})),
                "no restrictions",
            ),
            (
                with(&|j| j["restrictions"]["projects"] = serde_json::json!([])),
                "restricted to no project",
            ),
            (
                with(&|j| j["restrictions"]["projects"] = serde_json::json!(["a/b"])),
                "not a Northflank project id",
            ),
            (
                with(&|j| {
                    j["credentials"] = serde_json::json!({"scope": {"pull": true}});
                    j["integrationId"] = "aws-int-1".into();
                }),
                r#"backed by the integration "aws-int-1""#,
            ),
            (
                with(&|j| j["credentials"] = serde_json::json!({})),
                "Read Encrypted",
            ),
            (
                with(&|j| j["credentials"]["password"] = "".into()),
                "carries no secret",
            ),
            (
                with(&|j| j["credentials"]["username"] = serde_json::Value::Null),
                "no username",
            ),
            (
                with(&|j| j["name"] = "1 bad name".into()),
                "name is not valid",
            ),
            (
                with(&|j| {
                    j["credentials"] = serde_json::Value::Null;
                    j["auths"] = serde_json::json!({"ghcr.io": {"auth": "!!!"}});
                }),
                "not base64",
            ),
            (
                with(&|j| {
                    j["credentials"] = serde_json::Value::Null;
                    j["auths"] = serde_json::json!({"ghcr.io": {"auth": b64("nocolon")}});
                }),
                "not base64 of user:password",
            ),
            (
                with(&|j| {
                    j["credentials"] = serde_json::Value::Null;
                    j["auths"] = serde_json::json!({"a.io": {"auth": b64("a:1")}, "b.io": {"auth": b64("b:2")}});
                }),
                "none is ghcr.io",
            ),
        ];
        for (err, want) in cases {
            assert!(err.contains(want), "want {want:?} in {err:?}");
            assert!(!err.contains("\"p\""), "{err}");
        }
    }

    #[test]
    fn keyfile_providers_default_to_json_key() {
        let u = conv(
            serde_json::json!({"id": "c", "name": "gcr key", "provider": "gcr",
            "credentials": {"password": "{\"type\":\"service_account\"}"},
            "restrictions": {"restricted": false}}),
        )
        .unwrap();
        assert_eq!(
            (u.username.as_str(), u.registry.as_str()),
            ("_json_key", "gcr.io")
        );
    }

    #[test]
    fn the_list_fills_what_the_get_lacks() {
        // Older list items carried description and restrictions; the list's updatedAt is kept.
        let listed = remote(
            serde_json::json!({"id": "c", "name": "from-list", "description": "d",
            "provider": "github", "restrictions": {"restricted": false},
            "updatedAt": "2026-03-01T00:00:00Z"}),
        );
        let got = remote(
            serde_json::json!({"id": "c", "name": "", "updatedAt": "2026-03-02T00:00:00Z",
            "credentials": {"username": "u", "password": "p"}}),
        );
        let u = convert(&listed, &got).unwrap();
        assert_eq!(
            (u.name.as_str(), u.description.as_str()),
            ("from-list", "d")
        );
        assert_eq!(u.updated_at.as_deref(), Some("2026-03-01T00:00:00Z"));
        assert_eq!(u.registry, "ghcr.io");
    }

    #[test]
    fn pages() {
        let body = serde_json::json!({
            "data": {"credentials": [
                {"id": "a", "name": "alpha", "provider": "github", "updatedAt": "t1",
                 "credentials": {"scope": {"pull": true, "push": false}}, "unknownField": 1},
                {"id": "b", "name": "beta", "provider": 42},
                {"name": "no id"},
                {"id": "", "name": "empty id"}
            ]},
            "pagination": {"hasNextPage": true, "cursor": "next-1", "count": 4}
        });
        let page = parse_page(body.to_string().as_bytes()).unwrap();
        assert_eq!(page.next.as_deref(), Some("next-1"));
        assert_eq!(page.items.len(), 4);
        assert!(
            matches!(&page.items[0], Listed::Ok(r) if r.id == "a" && r.updated_at.as_deref() == Some("t1"))
        );
        assert!(matches!(&page.items[1], Listed::Bad { id, name, reason }
            if id == "b" && name == "beta" && reason.contains("not the documented shape")));
        assert!(
            matches!(&page.items[2], Listed::Bad { id, name, .. } if id.is_empty() && name == "no id")
        );
        assert!(
            matches!(&page.items[3], Listed::Bad { reason, .. } if reason.contains("empty id"))
        );

        let last = br#"{"data":{"credentials":[]},"pagination":{"hasNextPage":false,"count":0}}"#;
        assert!(parse_page(last).unwrap().next.is_none());
        assert!(parse_page(br#"{"data":{}}"#).unwrap().next.is_none());
        let err = parse_page(br#"{"data":{"credentials":[]},"pagination":{"hasNextPage":true}}"#)
            .unwrap_err();
        assert!(err.contains("no cursor"), "{err}");
        for bad in [&b"<html>"[..], b"{}", br#"{"data":7}"#, b""] {
            let err = parse_page(bad).unwrap_err();
            assert!(err.contains("not Northflank's documented JSON"), "{err}");
        }
    }

    #[test]
    fn get_answers() {
        let r = parse_get(br#"{"data":{"id":"a","name":"alpha"}}"#).unwrap();
        assert_eq!((r.id.as_str(), r.name.as_str()), ("a", "alpha"));
        let err = parse_get(br#"{"data":{"id":"a","name":"n","credentials":{"password":7}}}"#)
            .unwrap_err();
        assert!(
            err.contains("not the documented shape") && !err.contains('7'),
            "{err}"
        );
        assert!(parse_get(b"{\"id\":\"a\"}").is_err());
    }
}
