//! Which registry an image reference pulls from, as the kubelet reads it.

use super::{DOCKER_HUB_DOMAIN, KubeError, shown};

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
