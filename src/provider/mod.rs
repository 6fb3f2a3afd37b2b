//! What each registry provider is: its Northflank id, where its registry lives, and what its
//! secrets look like. Pure: no I/O.
//!
//! A provider decides three things for `add` (and for what `sync` brings):
//! - the registry host — fixed (`ghcr.io`), following a pattern the user fills in
//!   (`LOCATION-docker.pkg.dev`), or any host (`custom`, self-hosted GitLab);
//! - what a wrong secret looks like, for warnings (a GitHub token saved for Docker Hub);
//! - whether the secret is used as is or exchanged for a registry token (ECR, SPEC §10).

pub mod ecr_host;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::host::{self, Key};
use crate::secret::Secret;

/// Northflank's provider ids (its API lists `acr, ecr, gar, dockerhub, dhi, github, gitlab,
/// custom, legacy`, older accounts also `gcr, gcr-eu, gcr-us`), plus Northflank's own registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Dockerhub,
    Dhi,
    Gcr,
    GcrUs,
    GcrEu,
    GcrAsia,
    Gar,
    Ecr,
    Acr,
    Github,
    Gitlab,
    Northflank,
    Custom,
}

/// Where a provider's registry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hosts {
    /// Always this host.
    Fixed(&'static str),
    /// Hosts of this form only; the user names which with `--registry`.
    Pattern(Pattern),
    /// Any host; this one when none is given (GitLab: gitlab.com's registry).
    Any(Option<&'static str>),
}

/// The host patterns of the cloud registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `LOCATION-docker.pkg.dev`.
    ArtifactRegistry,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com` (and `.amazonaws.com.cn`).
    Ecr,
    /// `NAME.azurecr.io`, `.azurecr.cn`, `.azurecr.us`.
    Acr,
}

impl Pattern {
    /// The expected form, for messages.
    pub fn form(self) -> &'static str {
        match self {
            Pattern::ArtifactRegistry => {
                "LOCATION-docker.pkg.dev (e.g. europe-west1-docker.pkg.dev)"
            }
            Pattern::Ecr => ecr_host::EXPECTED_FORM,
            Pattern::Acr => "NAME.azurecr.io (or .azurecr.cn, .azurecr.us)",
        }
    }

    pub fn matches(self, key: &Key) -> bool {
        let h = key.as_str();
        match self {
            Pattern::ArtifactRegistry => h.strip_suffix("-docker.pkg.dev").is_some_and(is_location),
            Pattern::Ecr => ecr_host::registry(key).is_some(),
            Pattern::Acr => [".azurecr.io", ".azurecr.cn", ".azurecr.us"]
                .iter()
                .find_map(|s| h.strip_suffix(s))
                .is_some_and(|name| {
                    (5..=50).contains(&name.len())
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                }),
        }
    }
}

/// A Google Cloud location: `us`, `europe-west1`, `northamerica-northeast2`.
fn is_location(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && s.starts_with(|c: char| c.is_ascii_lowercase())
}

impl Provider {
    pub const ALL: [Provider; 13] = [
        Provider::Dockerhub,
        Provider::Dhi,
        Provider::Gcr,
        Provider::GcrUs,
        Provider::GcrEu,
        Provider::GcrAsia,
        Provider::Gar,
        Provider::Ecr,
        Provider::Acr,
        Provider::Github,
        Provider::Gitlab,
        Provider::Northflank,
        Provider::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Dockerhub => "dockerhub",
            Provider::Dhi => "dhi",
            Provider::Gcr => "gcr",
            Provider::GcrUs => "gcr-us",
            Provider::GcrEu => "gcr-eu",
            Provider::GcrAsia => "gcr-asia",
            Provider::Gar => "gar",
            Provider::Ecr => "ecr",
            Provider::Acr => "acr",
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Northflank => "northflank",
            Provider::Custom => "custom",
        }
    }

    /// What the provider is, for `--help` and docs.
    pub fn describe(self) -> &'static str {
        match self {
            Provider::Dockerhub => "Docker Hub",
            Provider::Dhi => "Docker Hardened Images (dhi.io)",
            Provider::Gcr => "Google Container Registry (gcr.io)",
            Provider::GcrUs => "Google Container Registry (us.gcr.io)",
            Provider::GcrEu => "Google Container Registry (eu.gcr.io)",
            Provider::GcrAsia => "Google Container Registry (asia.gcr.io)",
            Provider::Gar => "Google Artifact Registry (LOCATION-docker.pkg.dev)",
            Provider::Ecr => "Amazon ECR (access key exchanged for a registry token)",
            Provider::Acr => "Azure Container Registry (NAME.azurecr.io)",
            Provider::Github => "GitHub Container Registry (ghcr.io)",
            Provider::Gitlab => "GitLab (registry.gitlab.com or self-hosted)",
            Provider::Northflank => "Northflank's registry (registry.northflank.com)",
            Provider::Custom => "any other registry",
        }
    }

    pub fn hosts(self) -> Hosts {
        match self {
            Provider::Dockerhub => Hosts::Fixed(host::DOCKER_HUB),
            Provider::Dhi => Hosts::Fixed("dhi.io"),
            Provider::Gcr => Hosts::Fixed("gcr.io"),
            Provider::GcrUs => Hosts::Fixed("us.gcr.io"),
            Provider::GcrEu => Hosts::Fixed("eu.gcr.io"),
            Provider::GcrAsia => Hosts::Fixed("asia.gcr.io"),
            Provider::Gar => Hosts::Pattern(Pattern::ArtifactRegistry),
            Provider::Ecr => Hosts::Pattern(Pattern::Ecr),
            Provider::Acr => Hosts::Pattern(Pattern::Acr),
            Provider::Github => Hosts::Fixed("ghcr.io"),
            Provider::Gitlab => Hosts::Any(Some("registry.gitlab.com")),
            Provider::Northflank => Hosts::Fixed("registry.northflank.com"),
            Provider::Custom => Hosts::Any(None),
        }
    }

    /// The registry key for this provider and an optional `--registry`; the error says what
    /// was expected.
    pub fn registry(self, given: Option<&str>) -> Result<Key, String> {
        let given = given
            .map(|r| {
                host::normalize(r)
                    .map_err(|e| format!("invalid --registry {:?}: {e}", host::redacted(r)))
            })
            .transpose()?;
        let name = self.as_str();
        match (self.hosts(), given) {
            (Hosts::Fixed(h), None) | (Hosts::Any(Some(h)), None) => {
                Ok(host::normalize(h).expect("BUG: provider hosts are valid"))
            }
            (Hosts::Fixed(h), Some(g)) => {
                let fixed = host::normalize(h).expect("BUG: provider hosts are valid");
                if g == fixed {
                    Ok(g)
                } else {
                    Err(format!(
                        "provider {name} always uses {fixed}, not {g}: drop --registry, or use --provider custom"
                    ))
                }
            }
            (Hosts::Pattern(p), Some(g)) if p.matches(&g) => Ok(g),
            (Hosts::Pattern(p), Some(g)) => Err(format!(
                "provider {name} takes --registry {}, not {g}",
                p.form()
            )),
            (Hosts::Pattern(p), None) => {
                Err(format!("provider {name} needs --registry {}", p.form()))
            }
            (Hosts::Any(_), Some(g)) => Ok(g),
            (Hosts::Any(None), None) => {
                Err(format!("provider {name} needs --registry HOST[:PORT]"))
            }
        }
    }

    /// The provider a registry most likely belongs to, for credentials nobody typed a provider
    /// for (`docker login`, `import-docker-config`). Such a credential is the registry's own
    /// user name and password, never a key pair to exchange: an ECR host guesses `custom`
    /// (what `docker login -u AWS` with a token from `aws ecr get-login-password` saves).
    pub fn guess(key: &Key) -> Provider {
        if key.is_docker_hub() {
            return Provider::Dockerhub;
        }
        let fixed = Provider::ALL
            .into_iter()
            .find(|p| matches!(p.hosts(), Hosts::Fixed(h) if h == key.as_str()));
        if let Some(p) = fixed {
            return p;
        }
        match key.as_str() {
            "registry.gitlab.com" => Provider::Gitlab,
            _ => [Provider::Gar, Provider::Acr]
                .into_iter()
                .find(|p| matches!(p.hosts(), Hosts::Pattern(pat) if pat.matches(key)))
                .unwrap_or(Provider::Custom),
        }
    }

    /// Whether the saved secret is exchanged for a short-lived registry token on `get`.
    pub fn exchanges_secret(self) -> bool {
        self == Provider::Ecr
    }

    /// The user name `get` answers with: ECR's registry tokens are always for `AWS`.
    pub fn served_username(self, saved: &str) -> &str {
        if self.exchanges_secret() {
            "AWS"
        } else {
            saved
        }
    }

    /// Whether this provider takes a Google service-account keyfile as its secret.
    pub fn takes_keyfile(self) -> bool {
        matches!(
            self,
            Provider::Gcr | Provider::GcrUs | Provider::GcrEu | Provider::GcrAsia | Provider::Gar
        )
    }

    /// The providers whose tokens are one family (GCR's locations and Artifact Registry share
    /// keys; Docker Hub and DHI share Docker access tokens).
    fn family(self) -> Provider {
        match self {
            p if p.takes_keyfile() => Provider::Gcr,
            Provider::Dhi => Provider::Dockerhub,
            p => p,
        }
    }

    /// A warning when a username or secret does not look like what this provider takes, or
    /// `None`. Warnings, not errors: token formats change. Never contains the secret.
    pub fn shape_warning(self, username: &str, secret: &Secret) -> Option<String> {
        let s = secret.expose();
        let name = self.as_str();
        if let Some((_, owner, service)) = PREFIXES.iter().find(|(p, _, _)| s.starts_with(p))
            && owner.family() != self.family()
            && self != Provider::Custom
        {
            return Some(format!(
                "the secret looks like a {service} token, but the provider is {name}: check you pasted the right token"
            ));
        }
        if let Some((_, _, service)) = PREFIXES.iter().find(|(p, _, _)| s.starts_with(p))
            && self == Provider::Custom
        {
            return Some(format!(
                "the secret looks like a {service} token, but the provider is custom: did you mean that provider?"
            ));
        }
        let has_prefix = |owner: Provider| {
            PREFIXES
                .iter()
                .any(|(p, o, _)| *o == owner && s.starts_with(p))
        };
        match self {
            Provider::Github if !has_prefix(Provider::Github) => Some(
                "the secret does not look like a GitHub token (ghp_… or github_pat_…): ghcr.io takes a \
                 personal access token with read:packages, not the account password"
                    .into(),
            ),
            Provider::Gitlab
                if !has_prefix(Provider::Gitlab)
                    && (s.len() < 20 || s.contains(char::is_whitespace)) =>
            {
                Some(
                    "the secret does not look like a GitLab token (glpat-…): the registry takes a personal \
                     access token with read_registry"
                        .into(),
                )
            }
            Provider::Dhi if !has_prefix(Provider::Dockerhub) => Some(
                "the secret does not look like a Docker access token (dckr_pat_…): dhi.io takes your Docker \
                 Hub username and a personal access token"
                    .into(),
            ),
            Provider::Ecr => ecr_key_warning(username, s),
            Provider::Northflank if !is_jwt(s) => Some(
                "the secret does not look like a Northflank API token (a JWT, eyJ…): create one under \
                 Team > API > Tokens"
                    .into(),
            ),
            p if p.takes_keyfile() && username == JSON_KEY_USER => {
                check_keyfile(s).err().map(|why| format!("the secret for {username} {why}"))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
                format!("unknown provider {s:?}: use one of {}", all.join(", "))
            })
    }
}

/// Token prefixes that tell which service issued a token (what GitHub accepts on ghcr.io:
/// classic and fine-grained PATs, OAuth, user-to-server and Actions' `GITHUB_TOKEN`).
const PREFIXES: &[(&str, Provider, &str)] = &[
    ("ghp_", Provider::Github, "GitHub"),
    ("github_pat_", Provider::Github, "GitHub"),
    ("gho_", Provider::Github, "GitHub"),
    ("ghu_", Provider::Github, "GitHub"),
    ("ghs_", Provider::Github, "GitHub"),
    ("glpat-", Provider::Gitlab, "GitLab"),
    ("gldt-", Provider::Gitlab, "GitLab"),
    ("glcbt-", Provider::Gitlab, "GitLab"),
    ("dckr_pat_", Provider::Dockerhub, "Docker Hub"),
    ("dckr_oat_", Provider::Dockerhub, "Docker Hub"),
];

/// The provider whose token prefix `secret` carries, if any (an imported self-hosted GitLab
/// token says what its registry is).
pub fn issuer(secret: &Secret) -> Option<Provider> {
    PREFIXES
        .iter()
        .find(|(p, _, _)| secret.expose().starts_with(p))
        .map(|(_, provider, _)| *provider)
}

/// Three dot-separated base64url parts, the first starting like a JSON object.
fn is_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && s.starts_with("eyJ")
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// AWS access key ids are 20 upper-case characters starting `AKIA` (long-term keys); `ASIA`
/// keys are temporary and need a session token, which a saved credential cannot renew.
/// Secret access keys are 40 characters of base64.
fn ecr_key_warning(username: &str, secret: &str) -> Option<String> {
    let id_shape = username.len() == 20
        && username
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if username.starts_with("ASIA") && id_shape {
        return Some(
            "the access key id starts with ASIA, a temporary key that needs a session token and expires: \
             save a long-term key of an IAM user (AKIA…)"
                .into(),
        );
    }
    if !(username.starts_with("AKIA") && id_shape) {
        return Some(
            "the username does not look like an AWS access key id (AKIA… , 20 characters): ECR takes the \
             access key id as the username and the secret access key as the password"
                .into(),
        );
    }
    let key_shape = secret.len() == 40
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+');
    (!key_shape).then(|| {
        "the secret does not look like an AWS secret access key (40 characters): give the secret access \
         key of that access key id"
            .into()
    })
}

/// The user name Google's registries expect with a JSON key.
pub const JSON_KEY_USER: &str = "_json_key";

/// A checked Google service-account key: the text to store as the secret, and who it belongs to.
#[derive(Debug)]
pub struct Keyfile {
    pub secret: Secret,
    pub client_email: String,
}

/// Checks service-account keyfile text, so a wrong download fails at `add` with a precise
/// message instead of as a `denied` on the next pull. The error completes the sentence
/// "keyfile X …" and says what to do; it never quotes the key beyond the short, public
/// `type` value.
pub fn check_keyfile(text: &str) -> Result<Keyfile, String> {
    use serde_json::Value;
    const FIX: &str = "download a JSON key for the service account (IAM > Service accounts > Keys) \
                       and pass that file";
    // serde_json's syntax errors name a position, never the content.
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("is not valid JSON ({e}): {FIX}"))?;
    let Value::Object(map) = value else {
        return Err(format!("is JSON but not an object: {FIX}"));
    };
    let field = |name: &str| -> Result<&str, String> {
        match map.get(name) {
            None => Err(format!(
                "has no {name:?} field, so it is not a service-account key: {FIX}"
            )),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(Value::String(_)) => Err(format!("has an empty {name:?} field: {FIX}")),
            Some(_) => Err(format!("has a {name:?} field that is not a string: {FIX}")),
        }
    };
    let kind = field("type")?;
    if kind != "service_account" {
        let shown: String = kind.chars().take(40).collect();
        return Err(format!(
            "has \"type\" {shown:?}, expected \"service_account\" (user credentials from \
             `gcloud auth` do not work with Google's registries): {FIX}"
        ));
    }
    let email = field("client_email")?;
    if !email.contains('@') {
        return Err(format!(
            "has a \"client_email\" that is not an email address: {FIX}"
        ));
    }
    if !field("private_key")?.contains("PRIVATE KEY-----") {
        return Err(format!(
            "has a \"private_key\" that is not a PEM private key: {FIX}"
        ));
    }
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(Keyfile {
        client_email: email.to_string(),
        secret: Secret::new(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        host::normalize(s).unwrap()
    }

    #[test]
    fn registry_per_provider() {
        // (provider, --registry, Ok(key) or a piece of the error)
        let cases: &[(Provider, Option<&str>, Result<&str, &str>)] = &[
            (Provider::Dockerhub, None, Ok(host::DOCKER_HUB)),
            (Provider::Dockerhub, Some("docker.io"), Ok(host::DOCKER_HUB)),
            (
                Provider::Github,
                Some("gitlab.com"),
                Err("always uses ghcr.io, not gitlab.com"),
            ),
            (Provider::Dhi, None, Ok("dhi.io")),
            (Provider::Northflank, None, Ok("registry.northflank.com")),
            (Provider::Gitlab, None, Ok("registry.gitlab.com")),
            (
                Provider::Gitlab,
                Some("gitlab.example.com:5050"),
                Ok("gitlab.example.com:5050"),
            ),
            (Provider::Custom, None, Err("needs --registry HOST[:PORT]")),
            (
                Provider::Gar,
                Some("europe-west1-docker.pkg.dev"),
                Ok("europe-west1-docker.pkg.dev"),
            ),
            (
                Provider::Gar,
                Some("https://US-docker.pkg.dev/v2/"),
                Ok("us-docker.pkg.dev"),
            ),
            (
                Provider::Gar,
                Some("docker.pkg.dev"),
                Err("LOCATION-docker.pkg.dev"),
            ),
            (
                Provider::Gar,
                Some("gcr.io"),
                Err("takes --registry LOCATION-docker.pkg.dev"),
            ),
            (
                Provider::Gar,
                None,
                Err("needs --registry LOCATION-docker.pkg.dev"),
            ),
            (
                Provider::Ecr,
                Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
                Ok("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            ),
            (
                Provider::Ecr,
                Some("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
                Ok("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            ),
            (
                Provider::Ecr,
                Some("12345.dkr.ecr.eu-west-1.amazonaws.com"),
                Err("ACCOUNT.dkr.ecr.REGION"),
            ),
            (
                Provider::Ecr,
                Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.com"),
                Err("ACCOUNT.dkr.ecr.REGION"),
            ),
            // A port is allowed, as amazon-ecr-credential-helper allows it (loopback tests).
            (
                Provider::Ecr,
                Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com:444"),
                Ok("123456789012.dkr.ecr.eu-west-1.amazonaws.com:444"),
            ),
            (
                Provider::Acr,
                Some("myregistry.azurecr.io"),
                Ok("myregistry.azurecr.io"),
            ),
            (
                Provider::Acr,
                Some("myregistry.azurecr.cn"),
                Ok("myregistry.azurecr.cn"),
            ),
            (
                Provider::Acr,
                Some("myregistry.azurecr.us"),
                Ok("myregistry.azurecr.us"),
            ),
            (
                Provider::Acr,
                Some("my-registry.azurecr.io"),
                Err("NAME.azurecr.io"),
            ),
            (
                Provider::Acr,
                Some("abc.azurecr.io"),
                Err("NAME.azurecr.io"),
            ),
            (Provider::Acr, Some("azurecr.io"), Err("NAME.azurecr.io")),
        ];
        for (provider, given, want) in cases {
            let got = provider.registry(*given);
            match (want, &got) {
                (Ok(k), Ok(g)) => assert_eq!(g.as_str(), *k, "{provider} {given:?}"),
                (Err(piece), Err(e)) => assert!(e.contains(piece), "{provider} {given:?}: {e}"),
                _ => panic!("{provider} {given:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn guesses_and_ids_round_trip() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            if let Hosts::Fixed(h) = p.hosts() {
                assert_eq!(Provider::guess(&key(h)), p, "{h}");
            }
        }
        assert_eq!(
            Provider::guess(&key("registry.gitlab.com")),
            Provider::Gitlab
        );
        assert_eq!(Provider::guess(&key("us-docker.pkg.dev")), Provider::Gar);
        assert_eq!(
            Provider::guess(&key("myregistry.azurecr.io")),
            Provider::Acr
        );
        assert_eq!(
            Provider::guess(&key("123456789012.dkr.ecr.eu-west-1.amazonaws.com")),
            Provider::Custom
        );
        assert_eq!(Provider::guess(&key("127.0.0.1:5000")), Provider::Custom);
        assert!(
            "quay"
                .parse::<Provider>()
                .unwrap_err()
                .contains("use one of dockerhub, dhi")
        );
    }

    #[test]
    fn shape_warnings() {
        const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let cases: &[(Provider, &str, &str, Option<&str>)] = &[
            (Provider::Github, "u", "ghp_abcdefSECRET", None),
            (Provider::Github, "u", "github_pat_11SECRET", None),
            (
                Provider::Github,
                "u",
                "hunter2SECRET",
                Some("does not look like a GitHub token"),
            ),
            (
                Provider::Github,
                "u",
                "glpat-SECRET",
                Some("looks like a GitLab token"),
            ),
            (Provider::Gitlab, "u", "glpat-SECRET", None),
            (
                Provider::Gitlab,
                "u",
                "shortSECRET",
                Some("does not look like a GitLab token"),
            ),
            (Provider::Dockerhub, "u", "dckr_pat_SECRET", None),
            (Provider::Dockerhub, "u", "a plain passwordSECRET", None),
            (
                Provider::Dockerhub,
                "u",
                "ghp_SECRET",
                Some("looks like a GitHub token"),
            ),
            (Provider::Dhi, "u", "dckr_pat_SECRET", None),
            (
                Provider::Dhi,
                "u",
                "hunter2SECRET",
                Some("Docker access token"),
            ),
            (
                Provider::Custom,
                "u",
                "dckr_pat_SECRET",
                Some("looks like a Docker Hub token"),
            ),
            (Provider::Custom, "u", "anythingSECRET", None),
            (Provider::Northflank, "u", JWT, None),
            (
                Provider::Northflank,
                "u",
                "nf-SECRET",
                Some("Northflank API token"),
            ),
            (
                Provider::Ecr,
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
            ),
            (
                Provider::Ecr,
                "ASIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                Some("temporary key"),
            ),
            (
                Provider::Ecr,
                "alice",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                Some("access key id"),
            ),
            (
                Provider::Ecr,
                "AKIAIOSFODNN7EXAMPLE",
                "shortSECRET",
                Some("secret access key"),
            ),
            (Provider::Acr, "u", "anythingSECRET", None),
            (
                Provider::Gar,
                "_json_key",
                "{SECRET",
                Some("is not valid JSON"),
            ),
            (Provider::Gar, "oauth2accesstoken", "ya29.SECRET", None),
        ];
        for (provider, user, secret, want) in cases {
            let got = provider.shape_warning(user, &Secret::new(*secret));
            match (want, &got) {
                (None, None) => {}
                (Some(w), Some(g)) => {
                    assert!(g.contains(w), "{provider} {secret}: {g}");
                    assert!(!g.contains("SECRET"), "{g}");
                }
                _ => panic!("{provider} {secret}: got {got:?}"),
            }
        }
    }

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\\nMIIEsecret\\n-----END PRIVATE KEY-----\\n";

    #[test]
    fn accepts_a_service_account_key() {
        let text = format!(
            r#"{{"type":"service_account","project_id":"p","client_email":"ci@p.iam.gserviceaccount.com","private_key":"{PEM}"}}"#
        );
        let k = check_keyfile(&format!("{text}\n")).unwrap();
        assert_eq!(k.client_email, "ci@p.iam.gserviceaccount.com");
        assert_eq!(k.secret.expose(), text);
    }

    #[test]
    fn keyfile_errors_say_which_field_without_quoting_the_key() {
        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "not an object"),
            (
                r#"{"client_email":"a@b","private_key":"x"}"#,
                "no \"type\" field",
            ),
            (
                r#"{"type":"authorized_user","client_email":"a@b"}"#,
                "\"authorized_user\", expected \"service_account\"",
            ),
            (
                r#"{"type":"service_account","private_key":"MIIEsecret"}"#,
                "no \"client_email\"",
            ),
            (
                r#"{"type":"service_account","client_email":7}"#,
                "\"client_email\" field that is not a string",
            ),
            (
                r#"{"type":"service_account","client_email":"a@b"}"#,
                "no \"private_key\"",
            ),
            (
                r#"{"type":"service_account","client_email":"a@b","private_key":"MIIEsecret"}"#,
                "\"private_key\" that is not a PEM",
            ),
        ];
        for (text, want) in cases {
            let err = check_keyfile(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
            assert!(!err.contains("MIIEsecret"), "{err}");
        }
    }
}
