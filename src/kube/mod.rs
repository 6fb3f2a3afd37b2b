//! Kubernetes: exporting credentials for a cluster, and the kubelet image credential provider.
//!
//! Two ways get a project's saved credentials onto a cluster's nodes:
//!
//! * **Export** ([`docker_config`], [`kubernetes_secret`]): a Docker `config.json`, or a
//!   `kubernetes.io/dockerconfigjson` Secret that pods name in `imagePullSecrets`.
//! * **The kubelet exec plugin** ([`kubelet_response`], [`provider_config`]): the kubelet runs this
//!   binary for each image pull that matches the configured `matchImages`, sends a
//!   `CredentialProviderRequest` on stdin and reads a `CredentialProviderResponse` from stdout
//!   (`k8s.io/kubelet/pkg/apis/credentialprovider/v1`).
//!
//! Everything here is pure: no files, no environment, no store, no printing. The caller decides
//! which credentials the project may see (the same choice `get` makes) and passes them in, reads
//! stdin, and writes the returned text where it belongs. That keeps the policy in one place and
//! lets the tests pin every byte the kubelet or `kubectl` will read.
//!
//! Every returned document ends with a newline, so the caller writes it as is.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::protocol::codec as protocol;
use crate::secret::Secret;

/// The provider `name` in the kubelet's `CredentialProviderConfig`. The kubelet runs
/// `<--image-credential-provider-bin-dir>/<name>`, so it must also be the binary's file name.
pub const PROVIDER_NAME: &str = "docker-credential-northflank";

/// The registry the Docker reference grammar gives images that name none (`nginx`,
/// `library/nginx`), and the key the kubelet's own normalisation uses for Docker Hub.
pub const DOCKER_HUB_DOMAIN: &str = "docker.io";

/// How long the kubelet may reuse credentials we gave it, and the configured default. Short,
/// because the credentials live on the node and are cheap to look up again, and because a
/// `restrict` or `rm` should take effect within minutes, not hours. Written as Go's
/// `time.Duration` prints it (`metav1.Duration`).
pub const CACHE_DURATION: &str = "5m0s";

/// The cache duration of an answer without credentials: `0s` tells the kubelet not to cache it,
/// so a credential saved after a failed pull is used on the very next retry instead of minutes
/// later. Misses only happen for hosts listed in `matchImages`, so they are rare and cheap.
const NO_CACHE: &str = "0s";

/// The API versions of `CredentialProviderRequest` the kubelet can send (`plugin.go` keeps all
/// three). The wire shape of what we read and write is the same in each; only v1 adds the
/// service-account fields, which we accept and ignore.
const SUPPORTED_API_VERSIONS: [&str; 3] = [
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
];

/// The apiVersion written into the provider configuration: the stable one.
const API_VERSION_V1: &str = "credentialprovider.kubelet.k8s.io/v1";

/// The Docker credential-helper protocol's username for an identity (OAuth refresh) token.
const TOKEN_USERNAME: &str = "<token>";

/// One credential to export: what `get` would serve for `key` in the project's context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The canonical key (SPEC §3): `https://index.docker.io/v1/` for Docker Hub, else
    /// `host[:port]`. Written into `auths` unchanged; Docker and the kubelet both understand it.
    pub key: String,
    /// `<token>` marks an identity token, exported as Docker's `identitytoken`.
    pub username: String,
    pub secret: Secret,
}

/// The two spellings of a Kubernetes manifest; `kubectl apply -f -` takes either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ManifestFormat {
    #[default]
    Yaml,
    Json,
}

/// What can go wrong. Every message is one line, says what was wrong and what to do, and never
/// contains a secret: user-supplied text appears only quoted, escaped and shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    #[error(
        "the kubelet request on stdin is empty: the `kubelet` command expects a \
         CredentialProviderRequest in JSON, as the kubelet sends it"
    )]
    EmptyRequest,
    #[error("the kubelet request is not UTF-8: expected a CredentialProviderRequest in JSON")]
    NotUtf8,
    #[error("the kubelet request is not valid JSON ({0}): expected a CredentialProviderRequest")]
    BadJson(String),
    #[error("the kubelet request is not a JSON object: expected a CredentialProviderRequest")]
    NotAnObject,
    #[error(
        "the kubelet request has no apiVersion: expected \"credentialprovider.kubelet.k8s.io/v1\""
    )]
    MissingApiVersion,
    #[error(
        "unsupported apiVersion {0} in the kubelet request: set \
         apiVersion: credentialprovider.kubelet.k8s.io/v1 (or v1beta1) for this provider in the \
         kubelet's CredentialProviderConfig"
    )]
    UnsupportedApiVersion(String),
    #[error("the kubelet request has no kind: expected \"CredentialProviderRequest\"")]
    MissingKind,
    #[error("the kubelet request has kind {0}: expected \"CredentialProviderRequest\"")]
    WrongKind(String),
    #[error(
        "the kubelet request has no image: a CredentialProviderRequest names the image being pulled"
    )]
    MissingImage,
    #[error("the kubelet request's {field} must be {expected}")]
    BadField {
        field: &'static str,
        expected: &'static str,
    },
    #[error("invalid image reference {image}: {reason}")]
    InvalidImage { image: String, reason: &'static str },
    #[error(
        "invalid Secret name {0}: use lower-case letters, digits, '-' and '.', starting and \
         ending with a letter or digit, at most 253 characters (e.g. northflank-registry)"
    )]
    InvalidSecretName(String),
    #[error(
        "invalid namespace {0}: use lower-case letters, digits and '-', starting and ending \
         with a letter or digit, at most 63 characters (e.g. default)"
    )]
    InvalidNamespace(String),
    #[error(
        "no saved registries to match: the kubelet refuses a provider without matchImages; \
         save a credential first (docker-credential-northflank add …)"
    )]
    NoHosts,
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// A Docker `config.json` holding `entries`: `{"auths":{key:{"username","password","auth"}}}`,
/// pretty-printed (two-space indent, as Docker writes it), keys sorted so the output is stable
/// and diffable. `auth` is `base64(username:secret)`, which is what Docker, containerd and the
/// kubelet actually read; `username`/`password` are there for tools that read only those.
/// An identity token (`<token>` username) becomes `{"identitytoken": …}`, Docker's form for it.
///
/// Keys are expected to be unique (the caller passes what `get` serves, one per key); should one
/// repeat, the later entry wins.
pub fn docker_config(entries: &[Entry]) -> String {
    let mut out = auths_json(entries, true);
    out.push('\n');
    out
}

/// A `kubernetes.io/dockerconfigjson` Secret holding [`docker_config`]'s content (compact), for
/// `kubectl apply -f -` and a pod's `imagePullSecrets`. `name` must be a DNS-1123 subdomain and
/// `namespace` a DNS-1123 label, as the API server demands; checking here turns a rejected apply
/// into a clear error before anything is written. Without a namespace, `kubectl` uses the
/// context's.
pub fn kubernetes_secret(
    entries: &[Entry],
    name: &str,
    namespace: Option<&str>,
    format: ManifestFormat,
) -> Result<String, KubeError> {
    if !is_dns1123_subdomain(name) {
        return Err(KubeError::InvalidSecretName(shown(name)));
    }
    if let Some(ns) = namespace
        && !is_dns1123_label(ns)
    {
        return Err(KubeError::InvalidNamespace(shown(ns)));
    }
    let payload = BASE64.encode(auths_json(entries, false));

    let mut out = String::new();
    match format {
        // Values are written as JSON strings: YAML 1.2 reads them as double-quoted scalars, so a
        // name such as `123` or `true` stays a string and nothing needs YAML-specific escaping.
        ManifestFormat::Yaml => {
            out.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ");
            push_json_string(&mut out, name);
            if let Some(ns) = namespace {
                out.push_str("\n  namespace: ");
                push_json_string(&mut out, ns);
            }
            out.push_str("\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ");
            push_json_string(&mut out, &payload);
            out.push('\n');
        }
        ManifestFormat::Json => {
            out.push_str(
                "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\n    \"name\": ",
            );
            push_json_string(&mut out, name);
            if let Some(ns) = namespace {
                out.push_str(",\n    \"namespace\": ");
                push_json_string(&mut out, ns);
            }
            out.push_str(
                "\n  },\n  \"type\": \"kubernetes.io/dockerconfigjson\",\n  \"data\": {\n    \".dockerconfigjson\": ",
            );
            push_json_string(&mut out, &payload);
            out.push_str("\n  }\n}\n");
        }
    }
    Ok(out)
}

/// `{"auths":{…}}`, pretty (Docker's layout) or compact (the Secret's payload).
fn auths_json(entries: &[Entry], pretty: bool) -> String {
    let (nl, indent, colon) = if pretty {
        ("\n", "  ", ": ")
    } else {
        ("", "", ":")
    };
    let pad = |out: &mut String, depth: usize| {
        out.push_str(nl);
        for _ in 0..depth {
            out.push_str(indent);
        }
    };
    let by_key: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.key.as_str(), e)).collect();

    let mut out = String::new();
    out.push('{');
    pad(&mut out, 1);
    out.push_str("\"auths\"");
    out.push_str(colon);
    out.push('{');
    for (i, (key, entry)) in by_key.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        pad(&mut out, 2);
        push_json_string(&mut out, key);
        out.push_str(colon);
        out.push('{');
        let auth;
        let fields: &[(&str, &str)] = if entry.username == TOKEN_USERNAME {
            &[("identitytoken", entry.secret.expose())]
        } else {
            auth = BASE64.encode(format!("{}:{}", entry.username, entry.secret.expose()));
            &[
                ("username", &entry.username),
                ("password", entry.secret.expose()),
                ("auth", &auth),
            ]
        };
        for (j, (field, value)) in fields.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            pad(&mut out, 3);
            push_json_string(&mut out, field);
            out.push_str(colon);
            push_json_string(&mut out, value);
        }
        pad(&mut out, 2);
        out.push('}');
    }
    if !by_key.is_empty() {
        pad(&mut out, 1);
    }
    out.push('}');
    pad(&mut out, 0);
    out.push('}');
    out
}

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

/// The registry an image reference pulls from, following the Docker reference grammar
/// (distribution/reference `splitDockerDomain`), which is also how the kubelet reads images:
///
/// * the part before the first `/` is a registry only if it contains `.` or `:`, is `localhost`,
///   or has upper-case letters (repository paths are lower-case); it is returned as written,
///   because the kubelet matches the answer's key against the image as written;
/// * otherwise, and for a bare name (`nginx`, `nginx:1.27`), the registry is Docker Hub,
///   [`DOCKER_HUB_DOMAIN`]; the grammar's legacy `index.docker.io` also becomes `docker.io`.
///
/// Tags and digests do not matter (`host:5000/a@sha256:…` → `host:5000`). The registry part
/// must be a valid `host[:port]` or `[ipv6][:port]`: a reference like `ghcr.io@evil.com/x` is
/// refused, not guessed at. The caller normalises the result (SPEC §3) before any lookup.
pub fn image_registry(image: &str) -> Result<String, KubeError> {
    let invalid = |reason| KubeError::InvalidImage {
        image: shown(image),
        reason,
    };
    if image.is_empty() {
        return Err(invalid("it is empty"));
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains whitespace or control characters"));
    }
    let (registry, repository) = match image.split_once('/') {
        None => (DOCKER_HUB_DOMAIN, image),
        Some((first, rest)) => {
            let is_registry = first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase());
            if !is_registry {
                (DOCKER_HUB_DOMAIN, image)
            } else if !is_valid_registry(first) {
                return Err(invalid("the registry part is not a valid host[:port]"));
            } else if first == "index.docker.io" {
                (DOCKER_HUB_DOMAIN, rest)
            } else {
                (first, rest)
            }
        }
    };
    if !repository.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid(
            "the repository name must start with a letter or digit",
        ));
    }
    Ok(registry.to_owned())
}

/// `host[:port]` with DNS-style labels, or `[hex:colons][:port]` (the grammar's IPv6 form).
fn is_valid_registry(domain: &str) -> bool {
    let is_port = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(after) = domain.strip_prefix('[') {
        let Some((address, tail)) = after.split_once(']') else {
            return false;
        };
        let address_ok =
            !address.is_empty() && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
        let tail_ok = tail.is_empty() || tail.strip_prefix(':').is_some_and(is_port);
        return address_ok && tail_ok;
    }
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    let is_label = |l: &str| {
        l.starts_with(|c: char| c.is_ascii_alphanumeric())
            && l.ends_with(|c: char| c.is_ascii_alphanumeric())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    port.is_none_or(is_port) && host.split('.').all(is_label)
}

// ---------------------------------------------------------------------------------------------
// The kubelet exec plugin
// ---------------------------------------------------------------------------------------------

/// What we take from a `CredentialProviderRequest`.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    /// Echoed in the response: the kubelet rejects an answer in another version.
    api_version: &'static str,
    image: String,
}

/// Reads a `CredentialProviderRequest`:
/// `{"apiVersion":…,"kind":"CredentialProviderRequest","image":…}` plus, from kubelets
/// configured with `tokenAttributes`, `serviceAccountToken` and `serviceAccountAnnotations`.
/// Those two are type-checked and then ignored: our credentials depend on the project, not on
/// the pod's service account. Unknown fields are ignored so a newer kubelet does not break us.
///
/// Parsed through `serde_json::Value` rather than a derived struct so that every error is ours:
/// serde's type errors quote the offending value, and that value could be the token.
fn parse_request(bytes: &[u8]) -> Result<Request, KubeError> {
    use serde_json::Value;

    let text = std::str::from_utf8(bytes).map_err(|_| KubeError::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(KubeError::EmptyRequest);
    }
    // serde_json's syntax errors name a position, never the input, so they are safe to show.
    let value: Value = serde_json::from_str(text).map_err(|e| KubeError::BadJson(e.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(KubeError::NotAnObject);
    };
    let string_field = |name: &'static str| match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(KubeError::BadField {
            field: name,
            expected: "a string",
        }),
    };

    let api_version = match string_field("apiVersion")? {
        None | Some("") => return Err(KubeError::MissingApiVersion),
        Some(v) => SUPPORTED_API_VERSIONS
            .into_iter()
            .find(|known| *known == v)
            .ok_or_else(|| KubeError::UnsupportedApiVersion(shown(v)))?,
    };
    match string_field("kind")? {
        None | Some("") => return Err(KubeError::MissingKind),
        Some("CredentialProviderRequest") => {}
        Some(other) => return Err(KubeError::WrongKind(shown(other))),
    }
    let image = match string_field("image")? {
        None | Some("") => return Err(KubeError::MissingImage),
        Some(image) => image.to_owned(),
    };
    string_field("serviceAccountToken")?;
    match fields.get("serviceAccountAnnotations") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) if map.values().all(Value::is_string) => {}
        Some(_) => {
            return Err(KubeError::BadField {
                field: "serviceAccountAnnotations",
                expected: "an object of strings",
            });
        }
    }
    Ok(Request { api_version, image })
}

/// Answers one kubelet exec-plugin call: parses the `CredentialProviderRequest` in `request`,
/// maps its image to a registry ([`image_registry`]), asks `lookup` for the credential the
/// project may use there, and returns the `CredentialProviderResponse`:
///
/// ```json
/// {"apiVersion":"<as requested>","kind":"CredentialProviderResponse","cacheKeyType":"Registry",
///  "cacheDuration":"5m0s","auth":{"<registry>":{"username":"…","password":"…"}}}
/// ```
///
/// `lookup` gets the registry as written in the image (`docker.io` for Docker Hub); the caller
/// normalises it and applies the project policy, exactly as for `get`, and may fail (a broken
/// store is an error for the kubelet to log, not a silent anonymous pull). No credential is not
/// an error: the answer then has an empty `auth` and `cacheDuration` `0s`, and the kubelet pulls
/// anonymously. The `auth` key is the registry as written, since the kubelet matches it against
/// the image it asked about, and `cacheKeyType` `Registry` lets the kubelet reuse the answer for
/// every image on that registry.
///
/// No `serviceAccountTokenCacheType` is written: the kubelet decodes responses strictly and its
/// newest v1 types no longer have that field, which our documented configuration (no
/// `tokenAttributes`) never needs.
pub fn kubelet_response<E, F>(request: &[u8], lookup: F) -> Result<String, E>
where
    E: From<KubeError>,
    F: FnOnce(&str) -> Result<Option<(String, Secret)>, E>,
{
    let request = parse_request(request)?;
    let registry = image_registry(&request.image)?;
    let credential = lookup(&registry)?;

    let mut out = String::from("{\"apiVersion\":");
    push_json_string(&mut out, request.api_version);
    out.push_str(",\"kind\":\"CredentialProviderResponse\",\"cacheKeyType\":\"Registry\"");
    out.push_str(",\"cacheDuration\":");
    match credential {
        Some((username, secret)) => {
            push_json_string(&mut out, CACHE_DURATION);
            out.push_str(",\"auth\":{");
            push_json_string(&mut out, &registry);
            out.push_str(":{\"username\":");
            push_json_string(&mut out, &username);
            out.push_str(",\"password\":");
            push_json_string(&mut out, secret.expose());
            out.push_str("}}");
        }
        None => {
            push_json_string(&mut out, NO_CACHE);
            out.push_str(",\"auth\":{}");
        }
    }
    out.push_str("}\n");
    Ok(out)
}

/// The kubelet's `CredentialProviderConfig` (YAML) that makes it run this binary for images on
/// `hosts` (canonical keys, as `list` prints them), for the file given to the kubelet's
/// `--image-credential-provider-config`.
///
/// `matchImages` follows the kubelet's globbing: one glob per DNS label, the same number of
/// labels, and the port must match. So each host is listed exactly as saved (with its port), and
/// Docker Hub, whatever alias it was saved under, becomes `docker.io` plus `*.docker.io` (the
/// kubelet normalises Hub images to `docker.io/…`; the glob catches `registry-1.docker.io/…`).
/// `project` becomes `NORTHFLANK_PROJECT` and `config_dir` `NORTHFLANK_CONFIG_DIR` in the
/// plugin's `env`: the kubelet's environment rarely has either (often not even `HOME`), and
/// without a project only unrestricted credentials are served.
pub fn provider_config(
    hosts: &[String],
    project: Option<&str>,
    config_dir: Option<&str>,
) -> Result<String, KubeError> {
    let mut patterns = BTreeSet::new();
    for key in hosts.iter().filter_map(|h| crate::host::normalize(h).ok()) {
        if key.is_docker_hub() {
            patterns.insert(DOCKER_HUB_DOMAIN.to_owned());
            patterns.insert(format!("*.{DOCKER_HUB_DOMAIN}"));
        } else {
            patterns.insert(key.host().to_owned());
        }
    }
    if patterns.is_empty() {
        return Err(KubeError::NoHosts);
    }

    let mut out = String::from(
        "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n",
    );
    out.push_str("  - name: ");
    out.push_str(PROVIDER_NAME);
    out.push_str("\n    matchImages:\n");
    for pattern in &patterns {
        out.push_str("      - ");
        push_json_string(&mut out, pattern);
        out.push('\n');
    }
    out.push_str("    defaultCacheDuration: ");
    push_json_string(&mut out, CACHE_DURATION);
    out.push_str("\n    apiVersion: ");
    out.push_str(API_VERSION_V1);
    out.push_str("\n    args:\n      - kubelet\n");
    let env: Vec<(&str, &str)> = [
        ("NORTHFLANK_PROJECT", project),
        ("NORTHFLANK_CONFIG_DIR", config_dir),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .collect();
    if !env.is_empty() {
        out.push_str("    env:\n");
        for (name, value) in env {
            out.push_str("      - name: ");
            out.push_str(name);
            out.push_str("\n        value: ");
            push_json_string(&mut out, value);
            out.push('\n');
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// DNS-1123 label: what Kubernetes requires of a namespace.
fn is_dns1123_label(s: &str) -> bool {
    s.len() <= 63 && is_dns1123_label_chars(s)
}

/// DNS-1123 subdomain: what Kubernetes requires of most object names, a Secret's included.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label_chars)
}

fn is_dns1123_label_chars(s: &str) -> bool {
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.starts_with(edge) && s.ends_with(edge) && s.chars().all(|c| edge(c) || c == '-')
}

/// Appends `s` as a JSON string literal that is also a valid YAML double-quoted scalar: besides
/// what JSON requires, DEL, the C1 controls and the BOM are escaped (YAML forbids them raw).
fn push_json_string(out: &mut String, s: &str) {
    protocol::push_json_string(out, s, |c| {
        matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
    })
}

/// User-supplied text for an error message: quoted, escaped to one line, at most 64 characters.
/// Only for text that is not secret (image references, names, versions).
fn shown(s: &str) -> String {
    const MAX: usize = 64;
    let head: String = s.chars().take(MAX).collect();
    let mut text = format!("{head:?}");
    if s.chars().nth(MAX).is_some() {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests;
