//! The kubelet's `CredentialProviderConfig`: the file that tells the kubelet to run this binary.
//!
//! YAML, written by hand, like the Secret's YAML spelling: each document has one fixed shape,
//! every value is written as a JSON string (which YAML 1.2 reads as a double-quoted scalar, so
//! nothing needs YAML's own escaping rules), and `serde_yaml` is no longer maintained, with no
//! successor yet the obvious one — too much to take on for twenty lines of output. The
//! kubelet would read JSON here too, but operators keep this file next to their other kubelet
//! YAML and edit it by hand.

use std::collections::BTreeSet;

use super::{CACHE_DURATION, DOCKER_HUB_DOMAIN, KubeError, PROVIDER_NAME, push_yaml_string};

/// The apiVersion written into the provider configuration: the stable one.
const API_VERSION_V1: &str = "credentialprovider.kubelet.k8s.io/v1";

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
        push_yaml_string(&mut out, pattern);
        out.push('\n');
    }
    out.push_str("    defaultCacheDuration: ");
    push_yaml_string(&mut out, CACHE_DURATION);
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
            push_yaml_string(&mut out, value);
            out.push('\n');
        }
    }
    Ok(out)
}
