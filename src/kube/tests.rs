//! Tests for the Kubernetes module. Outputs are pinned byte for byte; where a consumer (Docker,
//! kubectl, the kubelet) parses them, they are also parsed back to prove the shape.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::export::auths_json;
use super::*;

const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const V1BETA1: &str = "credentialprovider.kubelet.k8s.io/v1beta1";
const HUB_KEY: &str = "https://index.docker.io/v1/";

fn entry(key: &str, username: &str, secret: &str) -> Entry {
    Entry {
        key: key.into(),
        username: username.into(),
        secret: Secret::new(secret),
    }
}

fn ghcr() -> Entry {
    entry("ghcr.io", "octocat", "ghp_123")
}

fn hub() -> Entry {
    entry(HUB_KEY, "acme", "dckr_pat_abc")
}

fn decode_b64(s: &str) -> String {
    String::from_utf8(BASE64.decode(s).expect("valid base64")).expect("UTF-8")
}

// ---- export: Docker config.json ---------------------------------------------------------------

#[test]
fn docker_config_empty() {
    assert_eq!(docker_config(&[]), "{\n  \"auths\": {}\n}\n");
}

#[test]
fn docker_config_exact_bytes_keys_sorted() {
    let out = docker_config(&[hub(), ghcr()]);
    assert_eq!(
        out,
        r#"{
  "auths": {
    "ghcr.io": {
      "username": "octocat",
      "password": "ghp_123",
      "auth": "b2N0b2NhdDpnaHBfMTIz"
    },
    "https://index.docker.io/v1/": {
      "username": "acme",
      "password": "dckr_pat_abc",
      "auth": "YWNtZTpkY2tyX3BhdF9hYmM="
    }
  }
}
"#
    );
    // serde_json's pretty printer lays it out the same way (it sorts fields, so compare values).
    let parsed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        parsed,
        json!({"auths": {
            "ghcr.io": {"username": "octocat", "password": "ghp_123", "auth": "b2N0b2NhdDpnaHBfMTIz"},
            HUB_KEY: {"username": "acme", "password": "dckr_pat_abc", "auth": "YWNtZTpkY2tyX3BhdF9hYmM="},
        }})
    );
    assert_eq!(decode_b64("YWNtZTpkY2tyX3BhdF9hYmM="), "acme:dckr_pat_abc");
}

#[test]
fn docker_config_escapes_a_gcr_keyfile() {
    let keyfile = "{\"type\": \"service_account\",\n\"private_key\": \"-----BEGIN\\nKEY-----\"}";
    let out = docker_config(&[entry("gcr.io", "_json_key", keyfile)]);
    assert!(out.contains(
        r#"      "password": "{\"type\": \"service_account\",\n\"private_key\": \"-----BEGIN\\nKEY-----\"}","#
    ));
    let parsed: Value = serde_json::from_str(&out).unwrap();
    let e = &parsed["auths"]["gcr.io"];
    assert_eq!(e["password"], keyfile);
    assert_eq!(
        decode_b64(e["auth"].as_str().unwrap()),
        format!("_json_key:{keyfile}")
    );
}

#[test]
fn docker_config_identity_token() {
    let out = docker_config(&[entry("myregistry.azurecr.io", "<token>", "eyJrefresh")]);
    assert_eq!(
        out,
        "{\n  \"auths\": {\n    \"myregistry.azurecr.io\": {\n      \"identitytoken\": \"eyJrefresh\"\n    }\n  }\n}\n"
    );
}

#[test]
fn docker_config_later_duplicate_wins() {
    let out = docker_config(&[ghcr(), entry("ghcr.io", "other", "x")]);
    let parsed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["auths"]["ghcr.io"]["username"], "other");
    assert_eq!(parsed["auths"].as_object().unwrap().len(), 1);
}

#[test]
fn json_strings_escape_like_json_and_stay_valid_yaml() {
    let nasty = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{7f}\u{85}\u{2028}\u{feff}é€😀";
    let mut out = String::new();
    push_yaml_string(&mut out, nasty);
    assert_eq!(
        out,
        r#""a\"b\\c\n\r\t\b\f\u0001\u007f\u0085\u2028\ufeffé€😀""#
    );
    assert_eq!(serde_json::from_str::<String>(&out).unwrap(), nasty);
}

/// The JSON documents escape what the YAML ones do (and what they always have), so a value
/// reads back the same from either spelling.
#[test]
fn json_documents_escape_like_the_yaml_ones() {
    let nasty = "<&>\u{7f}\u{85}\u{2028}\u{feff}é";
    let mut want = String::new();
    push_yaml_string(&mut want, nasty);
    assert_eq!(want, "\"<&>\\u007f\\u0085\\u2028\\ufeffé\"");
    let out = docker_config(&[entry("ghcr.io", "u", nasty)]);
    assert!(out.contains(&format!("\"password\": {want},")), "{out}");
    let (answer, _) = respond(&kubelet_request(V1, "ghcr.io/a"), Some(("u", nasty)));
    assert!(answer.unwrap().contains(&format!("\"password\":{want}}}")));
}

/// Export for several projects: a stand-in for the caller's policy (SPEC §4: the credential
/// restricted to the project wins over the unrestricted one; restricted ones are invisible
/// elsewhere) picks the entries, and the module turns exactly those into the output.
#[test]
fn export_per_project() {
    struct Saved {
        entry: Entry,
        projects: &'static [&'static str],
    }
    let saved = [
        Saved {
            entry: hub(),
            projects: &[],
        },
        Saved {
            entry: entry("ghcr.io", "shared", "ghp_shared"),
            projects: &[],
        },
        Saved {
            entry: ghcr(),
            projects: &["alpha"],
        },
        Saved {
            entry: entry("gitlab.example.com:5050", "deploy", "glpat-xyz"),
            projects: &["beta", "gamma"],
        },
    ];
    let visible = |project: Option<&str>| -> Vec<Entry> {
        let keys: BTreeSet<&str> = saved.iter().map(|s| s.entry.key.as_str()).collect();
        keys.into_iter()
            .filter_map(|key| {
                let here = saved.iter().filter(|s| s.entry.key == key);
                let restricted = here
                    .clone()
                    .find(|s| project.is_some_and(|p| s.projects.contains(&p)));
                let open = here.clone().find(|s| s.projects.is_empty());
                restricted.or(open).map(|s| s.entry.clone())
            })
            .collect()
    };
    let users = |out: &str| -> Vec<(String, String)> {
        let v: Value = serde_json::from_str(out).unwrap();
        v["auths"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, e)| (k.clone(), e["username"].as_str().unwrap().to_owned()))
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };

    let alpha = docker_config(&visible(Some("alpha")));
    assert_eq!(
        alpha,
        docker_config(&[ghcr(), hub()]),
        "alpha sees its own ghcr token and the shared Hub one"
    );
    assert_eq!(
        users(&alpha),
        pairs(&[("ghcr.io", "octocat"), (HUB_KEY, "acme")])
    );

    let beta = docker_config(&visible(Some("beta")));
    assert_eq!(
        beta,
        r#"{
  "auths": {
    "ghcr.io": {
      "username": "shared",
      "password": "ghp_shared",
      "auth": "c2hhcmVkOmdocF9zaGFyZWQ="
    },
    "gitlab.example.com:5050": {
      "username": "deploy",
      "password": "glpat-xyz",
      "auth": "ZGVwbG95OmdscGF0LXh5eg=="
    },
    "https://index.docker.io/v1/": {
      "username": "acme",
      "password": "dckr_pat_abc",
      "auth": "YWNtZTpkY2tyX3BhdF9hYmM="
    }
  }
}
"#
    );

    let none = docker_config(&visible(None));
    assert_eq!(
        users(&none),
        pairs(&[("ghcr.io", "shared"), (HUB_KEY, "acme")])
    );
    assert!(!none.contains("ghp_123") && !none.contains("glpat-xyz"));
}

// ---- export: Kubernetes Secret ----------------------------------------------------------------

const GHCR_PAYLOAD_B64: &str = "eyJhdXRocyI6eyJnaGNyLmlvIjp7InVzZXJuYW1lIjoib2N0b2NhdCIsInBhc3N3b3JkIjoiZ2hwXzEyMyIsImF1dGgiOiJiMk4wYjJOaGREcG5hSEJmTVRJeiJ9fX0=";
const GHCR_PAYLOAD: &str = r#"{"auths":{"ghcr.io":{"username":"octocat","password":"ghp_123","auth":"b2N0b2NhdDpnaHBfMTIz"}}}"#;

#[test]
fn secret_yaml_exact_bytes() {
    let out = kubernetes_secret(&[ghcr()], "regcred", Some("apps"), ManifestFormat::Yaml).unwrap();
    assert_eq!(
        out,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"regcred\"\n  namespace: \"apps\"\n\
             type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: \"{GHCR_PAYLOAD_B64}\"\n"
        )
    );
    assert_eq!(decode_b64(GHCR_PAYLOAD_B64), GHCR_PAYLOAD);
}

#[test]
fn secret_yaml_without_namespace_and_numeric_name() {
    let out = kubernetes_secret(&[], "123", None, ManifestFormat::Yaml).unwrap();
    assert_eq!(
        out,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"123\"\n\
         type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: \"eyJhdXRocyI6e319\"\n"
    );
}

/// kubectl-free check of the YAML: the payload line's value is a double-quoted scalar (read here
/// as the JSON string it also is), and it decodes to exactly the compact docker config.
#[test]
fn secret_yaml_payload_decodes_to_the_docker_config() {
    let entries = [hub(), ghcr()];
    let out =
        kubernetes_secret(&entries, "northflank-registry", None, ManifestFormat::Yaml).unwrap();
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("  .dockerconfigjson: "))
        .unwrap();
    let b64: String = serde_json::from_str(line).unwrap();
    let payload = decode_b64(&b64);
    assert_eq!(payload, auths_json(&entries, false));
    let as_value: Value = serde_json::from_str(&payload).unwrap();
    let pretty: Value = serde_json::from_str(&docker_config(&entries)).unwrap();
    assert_eq!(as_value, pretty);
}

#[test]
fn secret_json_exact_bytes_and_parse() {
    let out = kubernetes_secret(&[ghcr()], "regcred", Some("apps"), ManifestFormat::Json).unwrap();
    assert_eq!(
        out,
        format!(
            r#"{{
  "apiVersion": "v1",
  "kind": "Secret",
  "metadata": {{
    "name": "regcred",
    "namespace": "apps"
  }},
  "type": "kubernetes.io/dockerconfigjson",
  "data": {{
    ".dockerconfigjson": "{GHCR_PAYLOAD_B64}"
  }}
}}
"#
        )
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "regcred", "namespace": "apps"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": GHCR_PAYLOAD_B64},
        })
    );
    let payload = decode_b64(v["data"][".dockerconfigjson"].as_str().unwrap());
    assert_eq!(payload, GHCR_PAYLOAD);
}

#[test]
fn secret_json_without_namespace() {
    let out = kubernetes_secret(&[hub(), ghcr()], "a.b-c", None, ManifestFormat::Json).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["metadata"], json!({"name": "a.b-c"}));
    let payload: Value = serde_json::from_str(&decode_b64(
        v["data"][".dockerconfigjson"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(
        payload["auths"][HUB_KEY]["auth"],
        "YWNtZTpkY2tyX3BhdF9hYmM="
    );
    assert_eq!(payload["auths"]["ghcr.io"]["password"], "ghp_123");
}

#[test]
fn secret_names_are_checked() {
    let long_ok = "a".repeat(253);
    let long_bad = "a".repeat(254);
    for good in ["a", "0", "regcred", "a-b", "a.b", "1.2.3", long_ok.as_str()] {
        assert!(
            kubernetes_secret(&[], good, None, ManifestFormat::Yaml).is_ok(),
            "{good}"
        );
    }
    for bad in [
        "",
        "Regcred",
        "reg_cred",
        "-a",
        "a-",
        ".a",
        "a.",
        "a..b",
        "a b",
        "a/b",
        "é",
        long_bad.as_str(),
    ] {
        assert!(
            matches!(
                kubernetes_secret(&[], bad, None, ManifestFormat::Yaml),
                Err(KubeError::InvalidSecretName(_))
            ),
            "{bad:?}"
        );
    }
    let ns_ok = "n".repeat(63);
    let ns_bad = "n".repeat(64);
    assert!(kubernetes_secret(&[], "x", Some(&ns_ok), ManifestFormat::Json).is_ok());
    for bad in ["", "a.b", "A", "-a", ns_bad.as_str()] {
        assert!(
            matches!(
                kubernetes_secret(&[], "x", Some(bad), ManifestFormat::Json),
                Err(KubeError::InvalidNamespace(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        kubernetes_secret(&[], "Bad_Name\n", None, ManifestFormat::Yaml)
            .unwrap_err()
            .to_string(),
        "invalid Secret name \"Bad_Name\\n\": use lower-case letters, digits, '-' and '.', \
         starting and ending with a letter or digit, at most 253 characters (e.g. northflank-registry)"
    );
    assert_eq!(
        kubernetes_secret(&[], "x", Some("Prod"), ManifestFormat::Yaml)
            .unwrap_err()
            .to_string(),
        "invalid namespace \"Prod\": use lower-case letters, digits and '-', starting and ending \
         with a letter or digit, at most 63 characters (e.g. default)"
    );
}

// ---- image references -------------------------------------------------------------------------

#[test]
fn image_registry_follows_the_reference_grammar() {
    let cases = [
        ("ghcr.io/o/a:t", "ghcr.io"),
        ("ghcr.io/o/a", "ghcr.io"),
        ("docker.io/library/x", "docker.io"),
        ("docker.io/library/nginx:1.27", "docker.io"),
        ("index.docker.io/library/x", "docker.io"),
        ("registry-1.docker.io/library/x", "registry-1.docker.io"),
        ("nginx", "docker.io"),
        ("nginx:1.27", "docker.io"),
        ("nginx@sha256:0123abcd", "docker.io"),
        ("library/nginx", "docker.io"),
        ("acme/app/worker:v1", "docker.io"),
        ("host:5000/a@sha256:0123abcd", "host:5000"),
        ("host:5000/a", "host:5000"),
        ("localhost/x", "localhost"),
        ("localhost:5000/x:tag", "localhost:5000"),
        ("[::1]:5000/x", "[::1]:5000"),
        ("[::1]/x", "[::1]"),
        ("[2001:db8::1]:443/team/x", "[2001:db8::1]:443"),
        ("192.168.1.10:5000/x", "192.168.1.10:5000"),
        (
            "gitlab.example.com:5050/group/project/image:dev",
            "gitlab.example.com:5050",
        ),
        ("us.gcr.io/proj/img", "us.gcr.io"),
        ("Registry.Example.com/x", "Registry.Example.com"),
        ("Foo/bar", "Foo"),
        ("ghcr.io", "docker.io"), // no '/': a Hub repository named ghcr.io, per the grammar
    ];
    for (image, want) in cases {
        assert_eq!(image_registry(image).as_deref(), Ok(want), "{image}");
    }
}

#[test]
fn image_registry_refuses_malformed_references() {
    let cases = [
        ("", "it is empty"),
        (" nginx", "it contains whitespace or control characters"),
        (
            "ghcr.io/a\n",
            "it contains whitespace or control characters",
        ),
        (
            "ghcr.io@evil.com/x",
            "the registry part is not a valid host[:port]",
        ),
        (
            "user:pass@ghcr.io/x",
            "the registry part is not a valid host[:port]",
        ),
        ("host:/x", "the registry part is not a valid host[:port]"),
        ("host:abc/x", "the registry part is not a valid host[:port]"),
        ("a..b/x", "the registry part is not a valid host[:port]"),
        ("-bad.io/x", "the registry part is not a valid host[:port]"),
        ("[::1/x", "the registry part is not a valid host[:port]"),
        (
            "[zz]:5000/x",
            "the registry part is not a valid host[:port]",
        ),
        (
            "[::1]5000/x",
            "the registry part is not a valid host[:port]",
        ),
        (
            "ghcr.io/",
            "the repository name must start with a letter or digit",
        ),
        (
            "/x",
            "the repository name must start with a letter or digit",
        ),
        (
            ":latest",
            "the repository name must start with a letter or digit",
        ),
    ];
    for (image, reason) in cases {
        match image_registry(image) {
            Err(KubeError::InvalidImage { reason: r, .. }) => assert_eq!(r, reason, "{image:?}"),
            other => panic!("{image:?}: {other:?}"),
        }
    }
    assert_eq!(
        image_registry("ghcr.io@evil.com/x")
            .unwrap_err()
            .to_string(),
        "invalid image reference \"…@evil.com/x\": the registry part is not a valid host[:port]"
    );
    // A password before the host is never shown, whatever follows it (`host:port/…` is no
    // digest); a real digest is shown.
    for image in [
        "admin:hunter2@localhost:5000/app",
        "u:hunter2@ghcr.io:443/app",
    ] {
        let message = image_registry(image).unwrap_err().to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("…@"), "{message}");
    }
    let digest = format!("sha256:{}", "a".repeat(64));
    let message = image_registry(&format!("u:hunter2@ghcr.io/app@{digest}"))
        .unwrap_err()
        .to_string();
    assert!(!message.contains("hunter2"), "{message}");
    let long = format!("{}/x", "a.".repeat(100));
    let message = image_registry(&long).unwrap_err().to_string();
    assert!(message.starts_with(&format!(
        "invalid image reference \"{}\"…:",
        "a.".repeat(32)
    )));
}

// ---- the kubelet exec plugin ------------------------------------------------------------------

/// Exactly what the kubelet writes (Go's encoder: kind first, then apiVersion, then the fields).
fn kubelet_request(api_version: &str, image: &str) -> Vec<u8> {
    format!("{{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":\"{api_version}\",\"image\":\"{image}\"}}\n")
        .into_bytes()
}

fn respond(
    request: &[u8],
    found: Option<(&str, &str)>,
) -> (Result<String, KubeError>, Vec<String>) {
    let mut asked = Vec::new();
    let result = kubelet_response(request, |registry| {
        asked.push(registry.to_owned());
        Ok::<_, KubeError>(found.map(|(u, s)| (u.to_owned(), Secret::new(s))))
    });
    (result, asked)
}

#[test]
fn kubelet_v1_hit_exact_bytes() {
    let (out, asked) = respond(
        &kubelet_request(V1, "ghcr.io/acme/app"),
        Some(("octocat", "ghp_123")),
    );
    assert_eq!(asked, ["ghcr.io"]);
    assert_eq!(
        out.unwrap(),
        "{\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"kind\":\"CredentialProviderResponse\",\
         \"cacheKeyType\":\"Registry\",\"cacheDuration\":\"5m0s\",\
         \"auth\":{\"ghcr.io\":{\"username\":\"octocat\",\"password\":\"ghp_123\"}}}\n"
    );
}

#[test]
fn kubelet_miss_is_an_empty_auth_not_cached() {
    let (out, asked) = respond(&kubelet_request(V1, "registry.example.com/team/app"), None);
    assert_eq!(asked, ["registry.example.com"]);
    assert_eq!(
        out.unwrap(),
        "{\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"kind\":\"CredentialProviderResponse\",\
         \"cacheKeyType\":\"Registry\",\"cacheDuration\":\"0s\",\"auth\":{}}\n"
    );
}

#[test]
fn kubelet_answers_in_the_requested_version() {
    for version in [V1, V1BETA1, "credentialprovider.kubelet.k8s.io/v1alpha1"] {
        let (out, _) = respond(&kubelet_request(version, "ghcr.io/a"), Some(("u", "p")));
        let v: Value = serde_json::from_str(&out.unwrap()).unwrap();
        assert_eq!(v["apiVersion"], version);
        assert_eq!(v["kind"], "CredentialProviderResponse");
    }
}

/// The response has exactly the fields of the v1 / v1beta1 `CredentialProviderResponse` and
/// `AuthConfig` types, spelled as their JSON tags: the kubelet decodes strictly.
#[test]
fn kubelet_response_matches_the_api_types() {
    let (out, _) = respond(
        &kubelet_request(V1BETA1, "docker.io/library/nginx"),
        Some(("acme", "tok")),
    );
    let v: Value = serde_json::from_str(&out.unwrap()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "apiVersion",
            "auth",
            "cacheDuration",
            "cacheKeyType",
            "kind"
        ]
    );
    assert_eq!(
        v,
        json!({
            "apiVersion": V1BETA1,
            "kind": "CredentialProviderResponse",
            "cacheKeyType": "Registry",
            "cacheDuration": "5m0s",
            "auth": {"docker.io": {"username": "acme", "password": "tok"}},
        })
    );
}

#[test]
fn kubelet_docker_hub_forms() {
    for image in [
        "docker.io/library/nginx",
        "docker.io/library/nginx:1.27",
        "nginx",
        "library/nginx",
        "index.docker.io/library/nginx",
    ] {
        let (out, asked) = respond(&kubelet_request(V1, image), Some(("acme", "tok")));
        assert_eq!(asked, ["docker.io"], "{image}");
        let v: Value = serde_json::from_str(&out.unwrap()).unwrap();
        assert_eq!(v["auth"]["docker.io"]["username"], "acme", "{image}");
    }
}

#[test]
fn kubelet_registry_forms_key_the_auth() {
    for (image, registry) in [
        ("host:5000/a@sha256:0123abcd", "host:5000"),
        ("localhost/x", "localhost"),
        ("[::1]:5000/x", "[::1]:5000"),
        ("gitlab.example.com:5050/g/p", "gitlab.example.com:5050"),
    ] {
        let (out, asked) = respond(&kubelet_request(V1, image), Some(("u", "p")));
        assert_eq!(asked, [registry]);
        let v: Value = serde_json::from_str(&out.unwrap()).unwrap();
        assert_eq!(
            v["auth"],
            json!({registry: {"username": "u", "password": "p"}})
        );
    }
}

#[test]
fn kubelet_service_account_fields_are_accepted_and_ignored() {
    let request = br#"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"ghcr.io/acme/app","serviceAccountToken":"eyJhbGciOiJSUzI1NiJ9.sa-token","serviceAccountAnnotations":{"example.com/role":"puller"}}"#;
    let (out, _) = respond(request, Some(("octocat", "ghp_123")));
    let out = out.unwrap();
    assert!(!out.contains("sa-token"));
    assert!(!out.contains("serviceAccountTokenCacheType"));
    let (plain, _) = respond(
        &kubelet_request(V1, "ghcr.io/acme/app"),
        Some(("octocat", "ghp_123")),
    );
    assert_eq!(out, plain.unwrap());
}

#[test]
fn kubelet_tolerates_unknown_fields_nulls_and_layout() {
    let request = b" {\n  \"apiVersion\": \"credentialprovider.kubelet.k8s.io/v1\",\n  \"kind\": \"CredentialProviderRequest\",\n  \"image\": \"ghcr.io/a\",\n  \"serviceAccountToken\": null,\n  \"futureField\": [1, 2]\n}";
    let (out, asked) = respond(request, None);
    assert!(out.is_ok());
    assert_eq!(asked, ["ghcr.io"]);
}

#[test]
fn kubelet_escapes_secrets_in_the_response() {
    let keyfile = "{\"type\": \"service_account\",\n\"private_key\": \"k\\n\"}";
    let (out, _) = respond(
        &kubelet_request(V1, "eu.gcr.io/p/i"),
        Some(("_json_key", keyfile)),
    );
    let v: Value = serde_json::from_str(&out.unwrap()).unwrap();
    assert_eq!(v["auth"]["eu.gcr.io"]["password"], keyfile);
    assert_eq!(v["auth"]["eu.gcr.io"]["username"], "_json_key");
}

#[test]
fn kubelet_request_errors_are_clear_and_one_line() {
    let token = "SECRET-SA-TOKEN";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            kubelet_request("credentialprovider.kubelet.k8s.io/v2", "ghcr.io/a"),
            "unsupported apiVersion \"credentialprovider.kubelet.k8s.io/v2\" in the kubelet request: \
             set apiVersion: credentialprovider.kubelet.k8s.io/v1 (or v1beta1) for this provider in \
             the kubelet's CredentialProviderConfig",
        ),
        (
            br#"{"kind":"CredentialProviderRequest","image":"ghcr.io/a"}"#.to_vec(),
            "the kubelet request has no apiVersion: expected \"credentialprovider.kubelet.k8s.io/v1\"",
        ),
        (
            br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"ghcr.io/a"}"#.to_vec(),
            "the kubelet request has no kind: expected \"CredentialProviderRequest\"",
        ),
        (
            br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse","image":"x"}"#.to_vec(),
            "the kubelet request has kind \"CredentialProviderResponse\": expected \"CredentialProviderRequest\"",
        ),
        (
            br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest"}"#.to_vec(),
            "the kubelet request has no image: a CredentialProviderRequest names the image being pulled",
        ),
        (
            kubelet_request(V1, ""),
            "the kubelet request has no image: a CredentialProviderRequest names the image being pulled",
        ),
        (
            br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":7}"#.to_vec(),
            "the kubelet request's image must be a string",
        ),
        (
            br#"{"apiVersion":1,"kind":"CredentialProviderRequest","image":"x"}"#.to_vec(),
            "the kubelet request's apiVersion must be a string",
        ),
        (
            format!(r#"{{"apiVersion":"{V1}","kind":"CredentialProviderRequest","image":"x","serviceAccountToken":["{token}"]}}"#).into_bytes(),
            "the kubelet request's serviceAccountToken must be a string",
        ),
        (
            format!(r#"{{"apiVersion":"{V1}","kind":"CredentialProviderRequest","image":"x","serviceAccountToken":"{token}","serviceAccountAnnotations":"{token}"}}"#).into_bytes(),
            "the kubelet request's serviceAccountAnnotations must be an object of strings",
        ),
        (
            format!(r#"{{"apiVersion":"{V1}","kind":"CredentialProviderRequest","image":"x","serviceAccountAnnotations":{{"a":1}}}}"#).into_bytes(),
            "the kubelet request's serviceAccountAnnotations must be an object of strings",
        ),
        (
            b"{\"apiVersion\":".to_vec(),
            "the kubelet request is not valid JSON (EOF while parsing a value at line 1 column 14): \
             expected a CredentialProviderRequest",
        ),
        (
            b"{\"image\":\"ghcr.io/a\"}\n{}".to_vec(),
            "the kubelet request is not valid JSON (trailing characters at line 2 column 1): \
             expected a CredentialProviderRequest",
        ),
        (
            b"[]".to_vec(),
            "the kubelet request is not a JSON object: expected a CredentialProviderRequest",
        ),
        (
            b"".to_vec(),
            "the kubelet request on stdin is empty: the `kubelet` command expects a \
             CredentialProviderRequest in JSON, as the kubelet sends it",
        ),
        (
            b" \n".to_vec(),
            "the kubelet request on stdin is empty: the `kubelet` command expects a \
             CredentialProviderRequest in JSON, as the kubelet sends it",
        ),
        (
            b"{\"image\":\"\xff\"}".to_vec(),
            "the kubelet request is not UTF-8: expected a CredentialProviderRequest in JSON",
        ),
        (
            kubelet_request(V1, "ghcr.io@evil.com/x"),
            "invalid image reference \"…@evil.com/x\": the registry part is not a valid host[:port]",
        ),
    ];
    for (request, want) in cases {
        let (out, asked) = respond(&request, Some(("u", "p")));
        let message = out.unwrap_err().to_string();
        assert_eq!(message, want, "{}", String::from_utf8_lossy(&request));
        assert!(!message.contains('\n'));
        assert!(!message.contains(token));
        assert!(asked.is_empty(), "no lookup for a bad request");
    }
}

#[test]
fn kubelet_lookup_errors_propagate() {
    #[derive(Debug)]
    enum CliError {
        Kube(KubeError),
        Store(&'static str),
    }
    impl From<KubeError> for CliError {
        fn from(e: KubeError) -> Self {
            CliError::Kube(e)
        }
    }
    let out = kubelet_response(&kubelet_request(V1, "ghcr.io/a"), |_| {
        Err(CliError::Store("store is corrupt"))
    });
    assert!(matches!(out, Err(CliError::Store("store is corrupt"))));
    let out = kubelet_response(b"{", |_| Ok::<_, CliError>(None));
    assert!(matches!(out, Err(CliError::Kube(KubeError::BadJson(_)))));
}

#[test]
fn kubelet_response_works_with_anyhow() {
    let out: anyhow::Result<String> =
        kubelet_response(&kubelet_request(V1, "ghcr.io/a"), |_| Ok(None));
    assert!(out.is_ok());
    let err = kubelet_response(b"nope", |_| -> anyhow::Result<_> { Ok(None) }).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the kubelet request is not valid JSON (expected ident at line 1 column 2): \
         expected a CredentialProviderRequest"
    );
}

// ---- the kubelet's CredentialProviderConfig ---------------------------------------------------

#[test]
fn provider_config_exact_bytes() {
    let hosts = [
        HUB_KEY.to_owned(),
        "ghcr.io".to_owned(),
        "gitlab.example.com:5050".to_owned(),
        "[::1]:5000".to_owned(),
    ];
    let out = provider_config(&hosts, Some("proj-1"), Some("/var/lib/northflank")).unwrap();
    assert_eq!(
        out,
        r#"apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: docker-credential-northflank
    matchImages:
      - "*.docker.io"
      - "[::1]:5000"
      - "docker.io"
      - "ghcr.io"
      - "gitlab.example.com:5050"
    defaultCacheDuration: "5m0s"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args:
      - kubelet
    env:
      - name: NORTHFLANK_PROJECT
        value: "proj-1"
      - name: NORTHFLANK_CONFIG_DIR
        value: "/var/lib/northflank"
"#
    );
}

#[test]
fn provider_config_without_env_and_deduplicated() {
    let hosts = [
        "ghcr.io".to_owned(),
        HUB_KEY.to_owned(),
        "https://index.docker.io/v1/access-token".to_owned(),
        "docker.io".to_owned(),
        "ghcr.io".to_owned(),
    ];
    assert_eq!(
        provider_config(&hosts, None, None).unwrap(),
        r#"apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: docker-credential-northflank
    matchImages:
      - "*.docker.io"
      - "docker.io"
      - "ghcr.io"
    defaultCacheDuration: "5m0s"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args:
      - kubelet
"#
    );
    let only_project = provider_config(&hosts, Some("p"), None).unwrap();
    assert!(
        only_project
            .ends_with("    env:\n      - name: NORTHFLANK_PROJECT\n        value: \"p\"\n")
    );
}

#[test]
fn provider_config_needs_hosts() {
    assert_eq!(
        provider_config(&[], Some("p"), None),
        Err(KubeError::NoHosts)
    );
    assert_eq!(
        provider_config(&["".to_owned(), "https://".to_owned()], None, None),
        Err(KubeError::NoHosts)
    );
}

/// The kubelet's matchImages rule as its API documentation states it (same number of domain
/// labels, each label a glob, equal ports, the pattern's path a prefix), to check that the
/// patterns we write catch the images the kubelet will ask about, and nothing next to them.
fn kubelet_matches(pattern: &str, image: &str) -> bool {
    fn split(s: &str) -> (Vec<&str>, &str, &str) {
        let (hostport, path) = s.split_once('/').unwrap_or((s, ""));
        let (host, port) = match hostport.strip_prefix('[') {
            Some(rest) => {
                let (h, tail) = rest.split_once(']').unwrap();
                (h, tail.strip_prefix(':').unwrap_or(""))
            }
            None => hostport.split_once(':').unwrap_or((hostport, "")),
        };
        (host.split('.').collect(), port, path)
    }
    fn glob(p: &str, s: &str) -> bool {
        match p.split_once('*') {
            None => p == s,
            Some((head, tail)) => {
                s.starts_with(head)
                    && (head.len()..=s.len()).any(|i| s.is_char_boundary(i) && glob(tail, &s[i..]))
            }
        }
    }
    let (p_labels, p_port, p_path) = split(pattern);
    let (i_labels, i_port, i_path) = split(image);
    p_labels.len() == i_labels.len()
        && p_labels.iter().zip(&i_labels).all(|(p, s)| glob(p, s))
        && p_port == i_port
        && i_path.starts_with(p_path)
}

#[test]
fn provider_config_patterns_catch_the_right_images() {
    let hosts = [
        HUB_KEY.to_owned(),
        "ghcr.io".to_owned(),
        "gitlab.example.com:5050".to_owned(),
    ];
    let out = provider_config(&hosts, None, None).unwrap();
    let patterns: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("      - \""))
        .map(|l| serde_json::from_str::<String>(&format!("\"{l}")).unwrap())
        .collect();
    assert_eq!(
        patterns,
        [
            "*.docker.io",
            "docker.io",
            "ghcr.io",
            "gitlab.example.com:5050"
        ]
    );
    let caught = |image: &str| patterns.iter().any(|p| kubelet_matches(p, image));
    for image in [
        "docker.io/library/nginx",
        "registry-1.docker.io/library/nginx",
        "index.docker.io/acme/app",
        "ghcr.io/acme/app",
        "gitlab.example.com:5050/group/project",
    ] {
        assert!(caught(image), "{image}");
    }
    for image in [
        "ghcr.io.evil.com/acme/app",
        "evilghcr.io/acme/app",
        "gitlab.example.com/group/project",
        "gitlab.example.com:5051/group/project",
        "quay.io/acme/app",
        "a.b.docker.io/x",
    ] {
        assert!(!caught(image), "{image}");
    }
}
