//! Where `GetAuthorizationToken` is sent: the AWS SDKs' endpoint variables, else the region's
//! public endpoint.
//!
//! The variables are the SDKs' own, read in their order — `AWS_ENDPOINT_URL_ECR` (ECR's
//! service id), then `AWS_ENDPOINT_URL`, both switched off by
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` — so a machine set up for the AWS CLI (a VPC
//! endpoint, a proxy, LocalStack) behaves the same here. The environment is a parameter, so
//! tests never touch the process's own.

use std::ffi::OsString;

use super::Registry;
use crate::{host, http};

/// The service-specific variable, read first.
pub const ENV_ECR: &str = "AWS_ENDPOINT_URL_ECR";
/// The variable for every AWS service, read when the ECR one is unset or empty.
pub const ENV_ALL: &str = "AWS_ENDPOINT_URL";
/// `true` switches both variables off, as in the SDKs.
pub const ENV_IGNORE: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// Where an endpoint came from, for messages that tell the user what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The region's public endpoint, derived from the registry host.
    Region,
    /// One of the environment variables, by name.
    Variable(&'static str),
}

/// A parsed API endpoint: `scheme://authority/path`, default port dropped so that the
/// `Host` header that is signed is the one that is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    authority: String,
    path: String,
    source: Source,
}

impl Endpoint {
    /// Parses an endpoint URL: `https://host[:port][/path]`, or `http://` for a loopback
    /// host (127.0.0.0/8, `::1`, `localhost`; [`http::is_loopback_host`]). No user name, query
    /// or fragment. Parsing is the transport's own ([`http::Url`]), so what is signed is what
    /// is sent.
    pub fn parse(url: &str, source: Source) -> Result<Endpoint, EndpointError> {
        let invalid = |reason: &str| EndpointError::Invalid {
            from: source,
            url: host::redacted(url),
            reason: reason.to_string(),
        };
        if url.contains(['?', '#']) {
            return Err(invalid("it has a query or fragment"));
        }
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("it has spaces or non-ASCII characters"));
        }
        let parsed = http::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        // `http::Url` reads an out-of-range port (`:99999`) as no port, i.e. the default one;
        // the registry-host rules catch that, and any other malformed authority.
        let written = url.split_once("://").map_or(url, |(_, rest)| rest);
        let written = written.split('/').next().unwrap_or_default();
        host::normalize(written).map_err(|e| invalid(&e.to_string()))?;
        if parsed.scheme() == "http" && !http::is_loopback_host(parsed.host()) {
            return Err(EndpointError::PlainHttp {
                from: source,
                url: host::redacted(url),
            });
        }
        let origin = parsed.origin();
        let authority = origin
            .split_once("://")
            .map_or(origin.as_str(), |(_, a)| a)
            .to_string();
        let path = parsed.path_and_query().to_string();
        Ok(Endpoint {
            url: format!("{origin}{path}"),
            authority,
            path,
            source,
        })
    }

    /// The URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `host[:port]`, the `Host` header (signed and sent).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The request path (`/` unless the endpoint URL had one).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn source(&self) -> Source {
        self.source
    }
}

/// Why an endpoint variable cannot be used. The URL is shown without any user name or
/// password written into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{var} is not valid UTF-8: set it to https://host[:port] or unset it")]
    NotUtf8 { var: &'static str },
    #[error("{} {url:?} is not an endpoint URL ({reason}): set it to https://host[:port] or unset it", source_name(*.from))]
    Invalid {
        from: Source,
        url: String,
        reason: String,
    },
    #[error("{} {url:?} uses plain http, which is allowed only for a loopback address (127.0.0.1, ::1, localhost): use https://", source_name(*.from))]
    PlainHttp { from: Source, url: String },
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Region => "the ECR endpoint",
        Source::Variable(var) => var,
    }
}

/// The process's environment, for [`endpoint`] outside tests.
pub fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The endpoint for `reg`: `AWS_ENDPOINT_URL_ECR`, else `AWS_ENDPOINT_URL` (unset or empty
/// means "not set", as in the SDKs), else `https://` + [`Registry::api_host`].
pub fn endpoint(
    reg: &Registry,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Endpoint, EndpointError> {
    let ignore = env(ENV_IGNORE).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !ignore {
        for var in [ENV_ECR, ENV_ALL] {
            let Some(value) = env(var).filter(|v| !v.is_empty()) else {
                continue;
            };
            let value = value
                .into_string()
                .map_err(|_| EndpointError::NotUtf8 { var })?;
            return Endpoint::parse(value.trim(), Source::Variable(var));
        }
    }
    Endpoint::parse(&format!("https://{}", reg.api_host()), Source::Region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecr::Partition;

    fn reg() -> Registry {
        Registry {
            account: "123456789012".into(),
            region: "eu-central-1".into(),
            fips: false,
            partition: Partition::Aws,
        }
    }

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn default_is_the_regions_public_endpoint() {
        let e = endpoint(&reg(), &with(&[])).expect("endpoint");
        assert_eq!(e.url(), "https://api.ecr.eu-central-1.amazonaws.com/");
        assert_eq!(e.authority(), "api.ecr.eu-central-1.amazonaws.com");
        assert_eq!(e.source(), Source::Region);
    }

    #[test]
    fn variables_in_the_sdks_order() {
        let both = [
            (ENV_ECR, "https://vpce-1.ecr.example.com"),
            (ENV_ALL, "https://all.example.com"),
        ];
        let e = endpoint(&reg(), &with(&both)).expect("endpoint");
        assert_eq!(e.url(), "https://vpce-1.ecr.example.com/");
        assert_eq!(e.source(), Source::Variable(ENV_ECR));

        let e = endpoint(&reg(), &with(&[(ENV_ECR, ""), both[1]])).expect("endpoint");
        assert_eq!(e.url(), "https://all.example.com/");
        assert_eq!(e.source(), Source::Variable(ENV_ALL));

        let ignored = [both[0], both[1], (ENV_IGNORE, "TRUE")];
        let e = endpoint(&reg(), &with(&ignored)).expect("endpoint");
        assert_eq!(e.source(), Source::Region);
        let not_ignored = [both[0], (ENV_IGNORE, "false")];
        let e = endpoint(&reg(), &with(&not_ignored)).expect("endpoint");
        assert_eq!(e.source(), Source::Variable(ENV_ECR));
    }

    #[test]
    fn default_ports_are_dropped_and_paths_kept() {
        let p = |u: &str| Endpoint::parse(u, Source::Variable(ENV_ECR)).expect(u);
        assert_eq!(
            p("HTTPS://Ecr.Example.COM:443").url(),
            "https://ecr.example.com/"
        );
        assert_eq!(
            p("https://ecr.example.com:8443/").authority(),
            "ecr.example.com:8443"
        );
        assert_eq!(p("http://127.0.0.1:80").url(), "http://127.0.0.1/");
        assert_eq!(p("http://127.0.0.1:443").url(), "http://127.0.0.1:443/");
        assert_eq!(p("https://proxy.example.com/ecr/").path(), "/ecr/");
        assert_eq!(p("http://[::1]:4566").authority(), "[::1]:4566");
        assert_eq!(p("http://localhost:4566").authority(), "localhost:4566");
        assert_eq!(p("http://127.1.2.3:9").authority(), "127.1.2.3:9");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for u in [
            "http://ecr.example.com",
            "http://10.0.0.1:8080",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
        ] {
            let err = Endpoint::parse(u, Source::Variable(ENV_ECR)).expect_err(u);
            assert!(matches!(err, EndpointError::PlainHttp { .. }), "{u}: {err}");
            assert!(err.to_string().contains("AWS_ENDPOINT_URL_ECR"), "{err}");
        }
    }

    #[test]
    fn bad_urls_are_one_line_errors_without_credentials() {
        for u in [
            "ecr.example.com",
            "ftp://ecr.example.com",
            "https://",
            "https://user:hunter2@ecr.example.com",
            "https://ecr.example.com/?x=1",
            "https://ecr.example.com#frag",
            "https://ecr example.com",
            "https://ecr.example.com:99999",
            "https://ecr.example.com/a b",
        ] {
            let err = Endpoint::parse(u, Source::Variable(ENV_ALL)).expect_err(u);
            let text = err.to_string();
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains('\n'), "{text}");
            assert!(text.starts_with("AWS_ENDPOINT_URL "), "{text}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_variable_is_named() {
        use std::os::unix::ffi::OsStringExt;
        let env = |name: &str| (name == ENV_ECR).then(|| OsString::from_vec(vec![0xff]));
        let err = endpoint(&reg(), &env).expect_err("not UTF-8");
        assert_eq!(err, EndpointError::NotUtf8 { var: ENV_ECR });
    }
}
