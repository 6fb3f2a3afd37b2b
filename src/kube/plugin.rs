//! The kubelet image credential provider (exec plugin) protocol,
//! `k8s.io/kubelet/pkg/apis/credentialprovider/v1`: a `CredentialProviderRequest` on stdin, a
//! `CredentialProviderResponse` on stdout.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{CACHE_DURATION, KubeError, image_registry, json, shown};
use crate::jsonfmt::Layout;
use crate::secret::Secret;

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

/// A `CredentialProviderResponse`, fields in the order of the Go type (the kubelet decodes
/// strictly: only these fields, spelled as their JSON tags).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    api_version: &'a str,
    kind: &'static str,
    cache_key_type: &'static str,
    cache_duration: &'static str,
    auth: BTreeMap<&'a str, AuthConfig<'a>>,
}

/// The response's `AuthConfig`.
#[derive(Serialize)]
struct AuthConfig<'a> {
    username: &'a str,
    password: &'a Secret,
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

    let response = Response {
        api_version: request.api_version,
        kind: "CredentialProviderResponse",
        cache_key_type: "Registry",
        cache_duration: if credential.is_some() {
            CACHE_DURATION
        } else {
            NO_CACHE
        },
        auth: credential
            .iter()
            .map(|(username, password)| (registry.as_str(), AuthConfig { username, password }))
            .collect(),
    };
    let mut out = json(&response, Layout::Compact);
    out.push('\n');
    Ok(out)
}
