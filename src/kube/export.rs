//! Export: a project's credentials as a Docker `config.json`, or as a
//! `kubernetes.io/dockerconfigjson` Secret that pods name in `imagePullSecrets`.
//!
//! The documents are serde types, rendered by [`json`](super::json); the Secret's YAML
//! spelling is written by hand from the same type ([`to_yaml`] says why).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use super::{
    Entry, KubeError, ManifestFormat, is_dns1123_label, is_dns1123_subdomain, json,
    push_yaml_string, shown,
};
use crate::jsonfmt::Layout;
use crate::secret::Secret;

/// The Docker credential-helper protocol's username for an identity (OAuth refresh) token.
const TOKEN_USERNAME: &str = "<token>";

/// `{"auths":{key:{…}}}`. A `BTreeMap` keeps the keys sorted, so the output is stable and
/// diffable whatever order the caller found the credentials in.
#[derive(Serialize)]
struct DockerConfig<'a> {
    auths: BTreeMap<&'a str, Auth<'a>>,
}

/// One `auths` entry, in Docker's own field names.
#[derive(Serialize)]
#[serde(untagged)]
enum Auth<'a> {
    /// `auth` is `base64(username:secret)`, which is what Docker, containerd and the kubelet
    /// actually read; `username`/`password` are there for tools that read only those.
    Password {
        username: &'a str,
        password: &'a Secret,
        auth: String,
    },
    /// Docker's form for an identity token (`<token>` username).
    Token { identitytoken: &'a Secret },
}

impl<'a> Auth<'a> {
    fn of(entry: &'a Entry) -> Auth<'a> {
        if entry.username == TOKEN_USERNAME {
            return Auth::Token {
                identitytoken: &entry.secret,
            };
        }
        Auth::Password {
            username: &entry.username,
            password: &entry.secret,
            auth: BASE64.encode(format!("{}:{}", entry.username, entry.secret.expose())),
        }
    }
}

/// A Docker `config.json` holding `entries`, pretty-printed with a two-space indent, keys
/// sorted, ending with a newline.
///
/// Keys are expected to be unique (the caller passes what `get` serves, one per key); should one
/// repeat, the later entry wins.
pub fn docker_config(entries: &[Entry]) -> String {
    let mut out = auths_json(entries, true);
    out.push('\n');
    out
}

/// `{"auths":{…}}`, pretty (two-space indent) or compact (the Secret's payload).
pub(super) fn auths_json(entries: &[Entry], pretty: bool) -> String {
    let config = DockerConfig {
        auths: entries
            .iter()
            .map(|e| (e.key.as_str(), Auth::of(e)))
            .collect(),
    };
    json(&config, if pretty { PRETTY } else { Layout::Compact })
}

/// The indented layout of every pretty document here.
const PRETTY: Layout = Layout::Indented("  ");

/// A `kubernetes.io/dockerconfigjson` Secret: `apiVersion` and `kind` first, as manifests are
/// written by hand.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretManifest<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
    #[serde(rename = "type")]
    secret_type: &'static str,
    data: Data,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    /// Without one, `kubectl` uses the context's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

#[derive(Serialize)]
struct Data {
    /// The compact docker config, base64-encoded as every Secret's `data` value is.
    #[serde(rename = ".dockerconfigjson")]
    docker_config_json: String,
}

/// A `kubernetes.io/dockerconfigjson` Secret holding [`docker_config`]'s content (compact), for
/// `kubectl apply -f -` and a pod's `imagePullSecrets`. `name` must be a DNS-1123 subdomain and
/// `namespace` a DNS-1123 label, as the API server demands; checking here turns a rejected apply
/// into a clear error before anything is written.
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
    let manifest = SecretManifest {
        api_version: "v1",
        kind: "Secret",
        metadata: Metadata { name, namespace },
        secret_type: "kubernetes.io/dockerconfigjson",
        data: Data {
            docker_config_json: BASE64.encode(auths_json(entries, false)),
        },
    };
    let mut out = match format {
        ManifestFormat::Yaml => to_yaml(&manifest),
        ManifestFormat::Json => json(&manifest, PRETTY),
    };
    out.push('\n');
    Ok(out)
}

/// The manifest in YAML, written by hand (see [`super::provider`] for why). Values are written
/// as JSON strings: YAML 1.2 reads them as double-quoted scalars, so a name such as `123` or
/// `true` stays a string and nothing needs YAML-specific escaping. The fixed words (`v1`,
/// `Secret`, the type) are plain scalars.
fn to_yaml(m: &SecretManifest) -> String {
    let mut out = format!(
        "apiVersion: {}\nkind: {}\nmetadata:\n  name: ",
        m.api_version, m.kind
    );
    push_yaml_string(&mut out, m.metadata.name);
    if let Some(ns) = m.metadata.namespace {
        out.push_str("\n  namespace: ");
        push_yaml_string(&mut out, ns);
    }
    out.push_str("\ntype: ");
    out.push_str(m.secret_type);
    out.push_str("\ndata:\n  .dockerconfigjson: ");
    push_yaml_string(&mut out, &m.data.docker_config_json);
    out
}
