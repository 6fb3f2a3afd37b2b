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
//!
//! One file per seam: [`export`] (the Docker config and the Secret), [`plugin`] (the
//! kubelet's exec-plugin protocol), [`image`] (which registry an image pulls from) and
//! [`provider`] (the kubelet's provider configuration). JSON documents are serde types
//! rendered by [`crate::jsonfmt`]; the YAML ones are written by hand (see [`provider`]).

mod export;
mod image;
mod plugin;
mod provider;

pub use export::{docker_config, kubernetes_secret};
pub use image::image_registry;
pub use plugin::kubelet_response;
pub use provider::provider_config;

use crate::jsonfmt::{self, Layout};
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

/// The characters every document here writes as `\u` escapes besides those JSON requires:
/// U+2028 and U+2029 (as Go escapes them), and DEL, the C1 controls, the BOM and the two
/// noncharacters, which YAML forbids raw. The same set in JSON and YAML, so a value reads back
/// the same from either spelling.
fn escaped(c: char) -> bool {
    matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// `value` as JSON with [`escaped`]'s escapes.
fn json(value: &impl serde::Serialize, layout: Layout) -> String {
    jsonfmt::to_string(value, layout, escaped)
}

/// Appends `s` as a JSON string literal that is also a valid YAML double-quoted scalar.
fn push_yaml_string(out: &mut String, s: &str) {
    crate::jsonfmt::push_json_string(out, s, escaped)
}

/// User-supplied text for an error message: quoted, escaped to one line, at most 64 characters.
/// Only for text that is not secret (image references, names, versions).
fn shown(s: &str) -> String {
    const MAX: usize = 64;
    // `user:password@ghcr.io/app` must not reach a log: everything before the last `@` of the
    // name (a digest's `@sha256:…` is no user info) goes, as for any registry address.
    let (name, digest) = match s.rsplit_once('@') {
        Some((name, d)) if is_digest(d) => (name, &s[name.len()..]),
        _ => (s, ""),
    };
    let s = format!("{}{digest}", crate::host::redacted(name));
    let head: String = s.chars().take(MAX).collect();
    let mut text = format!("{head:?}");
    if s.chars().nth(MAX).is_some() {
        text.push('…');
    }
    text
}

/// A digest of the reference grammar, `algorithm:encoded` (`sha256:` and 64 hex digits, …).
/// Strict, so `host:5000/app` after a password's `@` is never taken for one: the encoded part
/// is at least 32 characters of `[A-Za-z0-9=_-]`, with no `/` or `:`.
fn is_digest(d: &str) -> bool {
    let Some((alg, encoded)) = d.split_once(':') else {
        return false;
    };
    !alg.is_empty()
        && alg.starts_with(|c: char| c.is_ascii_lowercase())
        && alg
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
        && encoded.len() >= 32
        && encoded
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c))
}

#[cfg(test)]
mod tests;
