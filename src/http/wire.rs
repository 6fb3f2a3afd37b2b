//! One request on the wire with ureq: no redirects followed here (see the module above for
//! why), statuses as values, the body bounded, and ureq's errors turned into [`Error`]s that
//! name no URL.

use ureq::Agent;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};

use super::tls::{self, TlsConnector};
use super::{Error, Hop, Method, Response, Trust, is_loopback_host};

#[derive(Debug)]
pub(super) struct Wire {
    agent: Agent,
}

impl Wire {
    pub(super) fn new(trust: &Trust) -> Result<Wire, Error> {
        let config = tls::client_config(trust)?;
        // ureq's default chain minus its own TLS: CONNECT proxies (from the environment,
        // honouring NO_PROXY), TCP, then TLS with our verifier.
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(TlsConnector { config });
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(false)
            .user_agent(concat!(
                "docker-credential-northflank/",
                env!("CARGO_PKG_VERSION")
            ))
            .build();
        Ok(Wire {
            agent: Agent::with_parts(agent_config, connector, DefaultResolver::default()),
        })
    }

    pub(super) fn send(&self, hop: &Hop) -> Result<Response, Error> {
        let url = hop.url.full();
        let loopback = is_loopback_host(hop.url.host());
        let fail = |e| map_error(e, hop);
        // Headers are added to one builder type per method; ureq's typestate makes a request
        // with a body a different type from one without.
        macro_rules! configured {
            ($builder:expr) => {{
                let mut b = $builder;
                for (name, value) in hop.headers {
                    b = b.header(*name, *value);
                }
                if let Some(auth) = hop.auth {
                    b = b.header("Authorization", auth.expose());
                }
                let mut c = b.config().timeout_global(Some(hop.timeout));
                if loopback {
                    // A proxy cannot reach this machine's loopback interface.
                    c = c.proxy(None);
                }
                c.build()
            }};
        }
        let resp = match hop.method {
            Method::Get => configured!(self.agent.get(&url)).call(),
            Method::Post => configured!(self.agent.post(&url)).send(hop.body.unwrap_or_default()),
        };
        let mut resp = resp.map_err(fail)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (n.as_str().to_ascii_lowercase(), value)
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(hop.max_body)
            .read_to_vec()
            .map_err(fail)?;
        Ok(Response {
            status,
            headers,
            body,
            redirected_across_origin: false,
        })
    }
}

fn map_error(e: ureq::Error, hop: &Hop) -> Error {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Timeout(_) => Error::Timeout,
        ureq::Error::HostNotFound => Error::HostNotFound(hop.url.host().to_string()),
        ureq::Error::Rustls(e) => tls::tls_error(&e),
        ureq::Error::Tls(msg) => Error::Tls {
            problem: super::TlsProblem::Other,
            detail: msg.to_string(),
        },
        ureq::Error::TlsRequired => Error::Tls {
            problem: super::TlsProblem::Other,
            detail: "no TLS connection could be made".into(),
        },
        ureq::Error::Io(io) => {
            if let Some(e) = io.get_ref().and_then(|r| r.downcast_ref::<rustls::Error>()) {
                return tls::tls_error(e);
            }
            match io.kind() {
                K::ConnectionRefused => Error::Refused,
                K::TimedOut | K::WouldBlock => Error::Timeout,
                K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
                    Error::Closed(io.kind().to_string())
                }
                _ => Error::Other(format!("network error ({})", io.kind())),
            }
        }
        // Not its text: some of ureq's protocol errors quote the server's bytes, which could
        // echo a header of ours.
        ureq::Error::Protocol(_) => Error::NotHttp("malformed HTTP/1.1 answer".into()),
        ureq::Error::LargeResponseHeader(..) => {
            Error::NotHttp("the response headers are too large".into())
        }
        ureq::Error::BodyExceedsLimit(_) => Error::BodyTooLarge(hop.max_body),
        ureq::Error::BadUri(_) => {
            Error::BadUrl(format!("not a usable URL for {}", hop.url.origin()))
        }
        ureq::Error::Http(_) => {
            Error::Other("a request header is not valid HTTP (a control character?)".into())
        }
        ureq::Error::ConnectionFailed => {
            Error::Other(format!("could not connect to {}", hop.url.origin()))
        }
        ureq::Error::InvalidProxyUrl => Error::Other(
            "the proxy setting (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY) is not a usable URL".into(),
        ),
        // The rest name no URL (they are fixed texts or wrap errors of ours).
        other => Error::Other(other.to_string()),
    }
}
