//! Absolute `http(s)` URLs as the transport needs them: an origin to compare and to show, and
//! `Location` resolved against the URL it came from. Parsing is the `http` crate's `Uri`.

use std::net::IpAddr;

use super::Error;

/// An absolute `http://` or `https://` URL without user info. Its [`Url::origin`] may be shown
/// anywhere; the whole URL ([`Url::full`]) only goes on the wire, since a query can carry a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    scheme: &'static str,
    /// Lower-case; IPv6 in brackets.
    host: String,
    port: u16,
    /// Starts with `/`; no fragment.
    path_query: String,
}

impl Url {
    /// Refuses other schemes, relative URLs, and user info (`https://user:pw@host`):
    /// credentials go in [`Request::auth`](super::Request::auth), never in a URL.
    pub fn parse(s: &str) -> Result<Url, Error> {
        let bad = |why: &str| Error::BadUrl(format!("not a usable URL: {why}"));
        let s = s.split('#').next().unwrap_or_default();
        let uri: http::Uri = s
            .parse()
            .map_err(|_| bad("give an absolute http:// or https:// URL"))?;
        let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("https") => "https",
            Some("http") => "http",
            Some(_) => return Err(bad("only http:// and https:// are supported")),
            None => return Err(bad("give an absolute http:// or https:// URL")),
        };
        let authority = uri.authority().ok_or_else(|| bad("it has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad(
                "it contains a user name or password (@), which is never sent in a URL",
            ));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad("it has no host"));
        }
        // `port_u16` answers `None` for a port that does not fit (`:99999`), exactly as for
        // no port at all: look at what was written, so such a URL never reaches port 443.
        let raw = authority.as_str();
        let written = raw
            .rfind(':')
            .filter(|&i| !raw[i..].contains(']'))
            .map(|i| raw[i + 1..].to_string());
        let port = match (authority.port_u16(), written) {
            (Some(0), _) => return Err(bad("port 0")),
            (Some(p), _) => p,
            (None, Some(w)) if !w.is_empty() => return Err(bad(&format!("invalid port {w:?}"))),
            (None, _) if scheme == "https" => 443,
            (None, _) => 80,
        };
        let path_query = match uri.path_and_query().map(|p| p.as_str()) {
            Some(p) if p.starts_with('/') => p.to_string(),
            Some(p) => format!("/{p}"),
            None => "/".to_string(),
        };
        Ok(Url {
            scheme,
            host,
            port,
            path_query,
        })
    }

    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// Lower-case, IPv6 in brackets (`[::1]`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port connected to (the scheme's default when none is written).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `scheme://host[:port]`, the default port left out: what messages show.
    pub fn origin(&self) -> String {
        match (self.scheme, self.port) {
            ("https", 443) | ("http", 80) => format!("{}://{}", self.scheme, self.host),
            _ => format!("{}://{}:{}", self.scheme, self.host, self.port),
        }
    }

    /// Same scheme, host and port.
    pub fn same_origin(&self, other: &Url) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }

    /// Path and query, starting with `/`.
    pub fn path_and_query(&self) -> &str {
        &self.path_query
    }

    /// Origin and path without the query: for a URL a server named *before* it saw any
    /// credentials (a token realm), which messages may show.
    pub fn without_query(&self) -> String {
        let path = self.path_query.split('?').next().unwrap_or("/");
        format!("{}{path}", self.origin())
    }

    /// The whole URL, for the wire only (its query may hold a secret).
    pub fn full(&self) -> String {
        format!("{}{}", self.origin(), self.path_query)
    }

    /// Where a `Location` header points from here (RFC 9110 §10.2.2): absolute,
    /// scheme-relative (`//host/p`), absolute-path, query-only, or relative to this path's
    /// folder. The fragment is dropped.
    pub fn join(&self, location: &str) -> Result<Url, &'static str> {
        let location = location.trim();
        let location = location.split('#').next().unwrap_or_default();
        let has_scheme = location
            .split_once(':')
            .is_some_and(|(s, _)| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic()));
        let absolute = if has_scheme {
            location.to_string()
        } else if location.starts_with("//") {
            format!("{}:{location}", self.scheme)
        } else if location.starts_with('/') {
            format!("{}{location}", self.origin())
        } else {
            let path = self.path_query.split('?').next().unwrap_or("/");
            let base = if location.starts_with('?') {
                path
            } else {
                &path[..path.rfind('/').map_or(0, |i| i + 1)]
            };
            format!("{}{base}{location}", self.origin())
        };
        Url::parse(&absolute).map_err(|_| "not an http(s) URL without user info")
    }
}

/// `localhost`, `127.0.0.0/8` and `::1`, the IPv6 form with or without brackets: the hosts
/// that are this machine, where plain http cannot be overheard and no proxy can help.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let bare = bare.unwrap_or(host);
    let bare = bare.strip_suffix('.').unwrap_or(bare);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_origin_and_refuses_what_is_not_a_plain_url() {
        let u = Url::parse("HTTPS://Reg.Example:5000/v2/?a=b#frag").unwrap();
        assert_eq!(u.origin(), "https://reg.example:5000");
        assert_eq!(u.path_and_query(), "/v2/?a=b");
        assert_eq!(u.full(), "https://reg.example:5000/v2/?a=b");
        assert_eq!(Url::parse("https://x:443/").unwrap().origin(), "https://x");
        assert_eq!(Url::parse("http://x").unwrap().full(), "http://x/");
        assert_eq!(Url::parse("http://[::1]:5000/v2/").unwrap().host(), "[::1]");
        for bad in [
            "ftp://x/y",
            "https://u:p@x/y",
            "https://user@x/",
            "/relative",
            "x/y",
            "https://x:0/",
            "",
        ] {
            let err = Url::parse(bad).expect_err(bad);
            assert!(matches!(err, Error::BadUrl(_)), "{bad}");
            if bad.contains('@') {
                assert!(!err.to_string().contains("u:p"), "{err}");
            }
        }
    }

    #[test]
    fn ports_that_do_not_fit_are_refused() {
        assert!(Url::parse("https://example.com:99999/v2/").is_err());
        assert!(Url::parse("http://127.0.0.1:65536").is_err());
        assert_eq!(
            Url::parse("https://example.com:65535/").unwrap().port(),
            65535
        );
        assert_eq!(Url::parse("https://example.com/").unwrap().port(), 443);
    }

    #[test]
    fn origins_differ_by_scheme_host_or_port() {
        let a = Url::parse("https://reg.example/v2/").unwrap();
        assert!(a.same_origin(&Url::parse("https://REG.example:443/x").unwrap()));
        for other in [
            "http://reg.example/v2/",
            "https://reg.example:8443/v2/",
            "https://cdn.example/v2/",
        ] {
            assert!(!a.same_origin(&Url::parse(other).unwrap()), "{other}");
        }
    }

    #[test]
    fn location_is_resolved_like_a_browser_would() {
        let base = Url::parse("https://reg.example:5000/v2/a?x=1").unwrap();
        let cases = [
            ("/v2", "https://reg.example:5000/v2"),
            ("b?y=1", "https://reg.example:5000/v2/b?y=1"),
            ("?y=2", "https://reg.example:5000/v2/a?y=2"),
            ("//cdn.example/v2/", "https://cdn.example/v2/"),
            ("http://other:1/p#f", "http://other:1/p"),
            ("  /spaced  ", "https://reg.example:5000/spaced"),
        ];
        for (location, want) in cases {
            assert_eq!(base.join(location).unwrap().full(), want, "{location}");
        }
        assert!(base.join("https://evil@other/").is_err());
        assert!(base.join("ftp://other/").is_err());
        assert!(base.join("https://bad host/").is_err());
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "[::2]",
            "[::1",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
