//! Registry host normalisation: every spelling of a registry maps to one canonical key.
//!
//! Clients spell the same registry many ways (`docker.io`, `https://index.docker.io/v1/`,
//! `GHCR.IO.`, `localhost:5000/v2/`), and the helper must hand out one credential for all of
//! them — and nothing for a lookalike. So matching is done on a canonical key, never by suffix,
//! prefix or "closest" match, and anything that could smuggle a second host past a naive parser
//! (userinfo `@`, CR/LF/NUL, inner whitespace, `%`) is refused outright.
//!
//! This module is pure: no I/O, no environment.

use std::fmt;
use std::net::Ipv6Addr;

/// The canonical key of Docker Hub: what `docker login` sends and `docker build` forwards.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";
/// Docker Hub's OAuth keys written by `docker login`'s device flow; they must stay apart from
/// the password entry, or the flow would overwrite it.
pub const DOCKER_HUB_ACCESS_TOKEN: &str = "https://index.docker.io/v1/access-token";
pub const DOCKER_HUB_REFRESH_TOKEN: &str = "https://index.docker.io/v1/refresh-token";

/// Docker Hub's host names: all one registry, keyed [`DOCKER_HUB`].
const DOCKER_HUB_HOSTS: [&str; 4] = [
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// A canonical registry key: `https://index.docker.io/v1/` (and its two token keys) for
/// Docker Hub, otherwise `host[:port]`, lower-case, `:443` dropped, IPv6 in brackets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is one of Docker Hub's keys.
    pub fn is_docker_hub(&self) -> bool {
        self.0.starts_with(DOCKER_HUB)
    }

    /// The bare `host[:port]`, for the places that want a host rather than a key (podman's
    /// `credHelpers`, registry verification). Docker Hub answers `docker.io`.
    pub fn host(&self) -> &str {
        if self.is_docker_hub() {
            "docker.io"
        } else {
            &self.0
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a server string is not a registry. Each message says what was wrong with the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHost {
    #[error("empty registry host")]
    Empty,
    #[error("unsupported scheme {0:?}: use http://, https:// or a bare host[:port]")]
    Scheme(String),
    #[error("registry address contains a user name or password (@); give only host[:port]")]
    UserInfo,
    #[error("registry address contains whitespace or a control character")]
    Control,
    #[error(
        "invalid character {0:?} in registry host; give host[:port] in plain ASCII (xn-- for IDNs)"
    )]
    Character(char),
    #[error("invalid port {0:?}: use a number from 1 to 65535")]
    Port(String),
    #[error("invalid IPv6 address {0:?}: write it in brackets, e.g. [::1]:5000")]
    Ipv6(String),
    #[error("invalid registry host {0:?}: empty or over-long DNS label")]
    Label(String),
}

/// A server string safe to show in a message: a user name and password written into it
/// (`https://user:pass@host`) are replaced by `…`. A password may hold `/`, `?` or `#`, so
/// everything between the scheme and the last `@` goes — more than needed when a path holds
/// the `@`, never less.
pub fn redacted(server: &str) -> String {
    let start = server.find("://").map_or(0, |i| i + 3);
    match server[start..].rfind('@') {
        Some(at) => format!("{}…{}", &server[..start], &server[start + at..]),
        None => server.to_string(),
    }
}

/// Normalises a server string as clients send it to its canonical [`Key`].
///
/// Accepts an optional `http://`/`https://` scheme (any case); drops path, query and fragment;
/// lower-cases the host; drops one trailing dot; keeps the port except `:443`; accepts
/// bracketed IPv6. The one path that matters is Docker Hub's `/v1/access-token` and
/// `/v1/refresh-token`, which stay separate keys.
pub fn normalize(input: &str) -> Result<Key, InvalidHost> {
    let s = input.trim();
    if s.is_empty() {
        return Err(InvalidHost::Empty);
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidHost::Control);
    }
    let rest = match s.find("://") {
        Some(i) => {
            let scheme = &s[..i];
            if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
                return Err(InvalidHost::Scheme(scheme.to_string()));
            }
            &s[i + 3..]
        }
        None => s,
    };
    // Anywhere, not only before the first `/`: a password may hold `/`, and no part of one
    // may reach an error message (a registry address never holds an `@`).
    if rest.contains('@') {
        return Err(InvalidHost::UserInfo);
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = split_port(authority)?;
    let host = normalize_hostname(host)?;
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p)?),
    };
    let port = port.filter(|&p| p != 443);

    if port.is_none() && DOCKER_HUB_HOSTS.contains(&host.as_str()) {
        let path = tail.split(['?', '#']).next().unwrap_or("");
        let key = match path.trim_end_matches('/') {
            "/v1/access-token" => DOCKER_HUB_ACCESS_TOKEN,
            "/v1/refresh-token" => DOCKER_HUB_REFRESH_TOKEN,
            _ => DOCKER_HUB,
        };
        return Ok(Key(key.to_string()));
    }
    Ok(Key(match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }))
}

/// Splits `host[:port]`, where the host may be a bracketed IPv6 address.
fn split_port(authority: &str) -> Result<(&str, Option<&str>), InvalidHost> {
    if let Some(after) = authority.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| InvalidHost::Ipv6(authority.to_string()))?;
        let host = &authority[..close + 2];
        return match &after[close + 1..] {
            "" => Ok((host, None)),
            rest => match rest.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(InvalidHost::Ipv6(authority.to_string())),
            },
        };
    }
    match authority.split_once(':') {
        Some((_, port)) if port.contains(':') => Err(InvalidHost::Ipv6(authority.to_string())),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

fn parse_port(port: &str) -> Result<u16, InvalidHost> {
    let ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    match port.parse::<u16>() {
        Ok(p) if ok && p != 0 => Ok(p),
        _ => Err(InvalidHost::Port(port.to_string())),
    }
}

fn normalize_hostname(host: &str) -> Result<String, InvalidHost> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        let addr: Ipv6Addr = inner
            .parse()
            .map_err(|_| InvalidHost::Ipv6(host.to_string()))?;
        return Ok(format!("[{addr}]"));
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(InvalidHost::Empty);
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Err(InvalidHost::Character(c));
    }
    let host = host.to_ascii_lowercase();
    if host.len() > 253 || host.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(InvalidHost::Label(host));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One case per line: input → canonical key, or `None` for "refused".
    const CASES: &[(&str, Option<&str>)] = &[
        // Docker Hub: five spellings, one key.
        ("https://index.docker.io/v1/", Some(DOCKER_HUB)),
        ("https://index.docker.io/v1", Some(DOCKER_HUB)),
        ("index.docker.io", Some(DOCKER_HUB)),
        ("docker.io", Some(DOCKER_HUB)),
        ("registry-1.docker.io", Some(DOCKER_HUB)),
        ("registry.hub.docker.com", Some(DOCKER_HUB)),
        ("https://registry-1.docker.io/v2/", Some(DOCKER_HUB)),
        ("DOCKER.IO", Some(DOCKER_HUB)),
        ("docker.io:443", Some(DOCKER_HUB)),
        ("http://index.docker.io/v1/", Some(DOCKER_HUB)),
        // Hub's OAuth keys stay separate.
        (
            "https://index.docker.io/v1/access-token",
            Some(DOCKER_HUB_ACCESS_TOKEN),
        ),
        (
            "https://index.docker.io/v1/refresh-token",
            Some(DOCKER_HUB_REFRESH_TOKEN),
        ),
        (
            "https://index.docker.io/v1/access-token/",
            Some(DOCKER_HUB_ACCESS_TOKEN),
        ),
        // A Hub host on another port is just a host.
        ("docker.io:5000", Some("docker.io:5000")),
        // GCR and its locations are distinct.
        ("gcr.io", Some("gcr.io")),
        ("us.gcr.io", Some("us.gcr.io")),
        ("eu.gcr.io", Some("eu.gcr.io")),
        ("asia.gcr.io", Some("asia.gcr.io")),
        ("https://eu.gcr.io/v2/project/image", Some("eu.gcr.io")),
        // Case, trailing dot, schemes, paths, queries.
        ("GHCR.IO", Some("ghcr.io")),
        ("ghcr.io.", Some("ghcr.io")),
        ("https://ghcr.io", Some("ghcr.io")),
        ("HTTPS://ghcr.io/", Some("ghcr.io")),
        ("http://ghcr.io/v2/", Some("ghcr.io")),
        ("ghcr.io/owner/image:tag", Some("ghcr.io")),
        ("ghcr.io?x=1", Some("ghcr.io")),
        ("ghcr.io#frag", Some("ghcr.io")),
        ("  ghcr.io\n", Some("ghcr.io")),
        ("registry.gitlab.com", Some("registry.gitlab.com")),
        // Ports.
        ("localhost:5000", Some("localhost:5000")),
        ("localhost", Some("localhost")),
        ("ghcr.io:443", Some("ghcr.io")),
        (
            "https://gitlab.example.com:5050/v2/",
            Some("gitlab.example.com:5050"),
        ),
        ("127.0.0.1:5000", Some("127.0.0.1:5000")),
        ("127.0.0.1:05000", Some("127.0.0.1:5000")),
        ("ghcr.io:", None),
        ("ghcr.io:0", None),
        ("ghcr.io:65536", None),
        ("ghcr.io:80a", None),
        ("ghcr.io:+80", None),
        // IPv6.
        ("[::1]:5000", Some("[::1]:5000")),
        ("[::1]", Some("[::1]")),
        ("https://[0:0:0:0:0:0:0:1]:5000/v2/", Some("[::1]:5000")),
        ("[FE80::1]:443", Some("[fe80::1]")),
        ("::1", None),
        ("[::1", None),
        ("[::1]x", None),
        ("[nothex]:5000", None),
        // Lookalikes and smuggling: never ghcr.io.
        ("ghcr.io.evil.com", Some("ghcr.io.evil.com")),
        ("evilghcr.io", Some("evilghcr.io")),
        ("https://ghcr.io@evil.com", None),
        ("user:pass@ghcr.io", None),
        ("ghcr.io%2f", None),
        ("ghcr.io\nevil.com", None),
        ("ghcr.io\r\nevil.com", None),
        ("ghcr.io\0", None),
        ("ghcr .io", None),
        ("ghcr\u{2028}.io", None),
        ("ghcr.io\u{2028}", Some("ghcr.io")),
        ("ghcr.io..", None),
        ("ghcr..io", None),
        ("gh\u{e9}cr.io", None),
        // Empty hosts and unsupported schemes.
        ("", None),
        ("   ", None),
        ("https://", None),
        ("https:///ghcr.io", None),
        (".", None),
        ("ftp://ghcr.io", None),
        ("unix:///var/run/docker.sock", None),
        ("file://ghcr.io", None),
    ];

    #[test]
    fn table() {
        let mut failures = Vec::new();
        for (input, want) in CASES {
            let got = normalize(input).ok().map(|k| k.0);
            if got.as_deref() != *want {
                failures.push(format!("{input:?}: want {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn keys_are_fixed_points() {
        // The store keeps keys and normalises them again when it reads them back.
        for (input, _) in CASES {
            if let Ok(key) = normalize(input) {
                assert_eq!(normalize(key.as_str()).as_ref(), Ok(&key), "{input:?}");
            }
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            normalize("ftp://x").unwrap_err(),
            InvalidHost::Scheme("ftp".into())
        );
        assert_eq!(normalize("a@b").unwrap_err(), InvalidHost::UserInfo);
        assert_eq!(
            normalize("x:99999").unwrap_err(),
            InvalidHost::Port("99999".into())
        );
        assert_eq!(
            normalize("ghcr.io%2f").unwrap_err(),
            InvalidHost::Character('%')
        );
    }

    #[test]
    fn redaction_hides_user_info() {
        assert_eq!(
            redacted("https://bob:hunter2@ghcr.io/v2/"),
            "https://…@ghcr.io/v2/"
        );
        assert_eq!(redacted("bob:pw@evil.com"), "…@evil.com");
        assert_eq!(redacted("a:b@c@d.io"), "…@d.io");
        assert_eq!(
            redacted("https://u:pa/ss?w#rd@ghcr.io"),
            "https://…@ghcr.io"
        );
        assert_eq!(redacted("ghcr.io/a@b"), "…@b");
        assert_eq!(redacted("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn host_of_a_key() {
        assert_eq!(normalize("docker.io").unwrap().host(), "docker.io");
        assert_eq!(normalize("GHCR.io").unwrap().host(), "ghcr.io");
        assert!(
            normalize("https://index.docker.io/v1/access-token")
                .unwrap()
                .is_docker_hub()
        );
    }
}
