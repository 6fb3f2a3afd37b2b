//! The outcomes of a failed check: one variant per next step for the user, each with its own
//! exit code, and the translation of transport errors into them.

use std::time::Duration;

use super::scrub::Scrubber;
use crate::http::{self, TlsProblem};

/// Why a check did not succeed. Each variant has its own [`Failure::exit_code`]; `Display` is
/// one line saying what happened and what to do, and never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The registry string, an option or a CA file is unusable. Exit code 1.
    #[error("{detail}")]
    BadInput { detail: String },

    /// The registry or its token service answered 401/403 to the credentials. Exit code 2.
    #[error(
        "{endpoint} rejected the credentials ({detail}): check the username and the password or token; a token also needs permission to read the registry (GitHub: read:packages, GitLab: read_registry)"
    )]
    Rejected { endpoint: String, detail: String },

    /// No answer: DNS, connection refused, timeout, or a server error (5xx). Exit code 3.
    #[error(
        "cannot reach {endpoint}: {detail}; check the host name and port, the network or proxy, and try again"
    )]
    Unreachable { endpoint: String, detail: String },

    /// The TLS handshake failed. Exit code 4.
    #[error("TLS failure with {endpoint}: {}", tls_advice(*.problem, .detail))]
    Tls {
        endpoint: String,
        problem: TlsProblem,
        detail: String,
    },

    /// Something answered, but not a Docker registry v2 API (404, an HTML page, no challenge).
    /// Exit code 5.
    #[error(
        "{endpoint} is not a Docker registry: {detail}; check the host and port (the registry API answers at /v2/)"
    )]
    NotARegistry { endpoint: String, detail: String },

    /// A registry answered, but in a way the handshake cannot use: an authentication scheme
    /// other than Basic/Bearer, a token answer without a token, a redirect loop. Exit code 6.
    #[error("{endpoint} answered in a way this tool cannot use: {detail}")]
    Protocol { endpoint: String, detail: String },
}

fn tls_advice(problem: TlsProblem, detail: &str) -> String {
    match problem {
        TlsProblem::NotTls => format!(
            "the server does not speak TLS there ({detail}); use http:// with --insecure-http if it really has no TLS, or the registry's https port"
        ),
        TlsProblem::UnknownIssuer => format!(
            "the certificate is signed by an authority this machine does not trust, e.g. self-signed or a private CA ({detail}); pass that CA with --ca-cert FILE or SSL_CERT_FILE, or put it in /etc/docker/certs.d/HOST:PORT/ca.crt as for docker"
        ),
        TlsProblem::NameMismatch => format!(
            "the certificate is not valid for this host name ({detail}); use the name the certificate was issued for"
        ),
        TlsProblem::Expired => format!(
            "the certificate has expired ({detail}); the registry's operator must renew it (or this machine's clock is wrong)"
        ),
        TlsProblem::NotYetValid => {
            format!("the certificate is not valid yet ({detail}); check this machine's clock")
        }
        TlsProblem::Other => {
            format!("the TLS handshake failed ({detail}); check that the port speaks https")
        }
    }
}

impl Failure {
    /// Exit codes, stable for scripts: 1 bad input, 2 rejected, 3 unreachable, 4 TLS,
    /// 5 not a registry, 6 unusable answer. (0 is success.)
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::BadInput { .. } => 1,
            Failure::Rejected { .. } => 2,
            Failure::Unreachable { .. } => 3,
            Failure::Tls { .. } => 4,
            Failure::NotARegistry { .. } => 5,
            Failure::Protocol { .. } => 6,
        }
    }
    /// The same failure with every text passed through `scrubber`: the one exit through which
    /// a failure leaves [`verify`](super::verify).
    pub(super) fn scrubbed(self, scrubber: &Scrubber) -> Failure {
        let s = |t: String| scrubber.scrub(&t);
        match self {
            Failure::BadInput { detail } => Failure::BadInput { detail: s(detail) },
            Failure::Rejected { endpoint, detail } => Failure::Rejected {
                endpoint: s(endpoint),
                detail: s(detail),
            },
            Failure::Unreachable { endpoint, detail } => Failure::Unreachable {
                endpoint: s(endpoint),
                detail: s(detail),
            },
            Failure::Tls {
                endpoint,
                problem,
                detail,
            } => Failure::Tls {
                endpoint: s(endpoint),
                problem,
                detail: s(detail),
            },
            Failure::NotARegistry { endpoint, detail } => Failure::NotARegistry {
                endpoint: s(endpoint),
                detail: s(detail),
            },
            Failure::Protocol { endpoint, detail } => Failure::Protocol {
                endpoint: s(endpoint),
                detail: s(detail),
            },
        }
    }

    /// A transport error on the way to `endpoint` (a URL of our own, or an origin).
    pub(super) fn transport(endpoint: &str, e: http::Error, timeout: Duration) -> Failure {
        let endpoint = endpoint.to_string();
        let unreachable = |detail: String| Failure::Unreachable {
            endpoint: endpoint.clone(),
            detail,
        };
        match e {
            http::Error::Timeout => unreachable(format!(
                "no answer within {} s (raise --timeout if the registry is just slow)",
                timeout.as_secs_f64()
            )),
            http::Error::HostNotFound(host) => {
                unreachable(format!("the host name {host} was not found (DNS)"))
            }
            http::Error::Refused => {
                unreachable("connection refused (is the registry running on that port?)".into())
            }
            http::Error::Closed(why) => unreachable(format!("the connection was closed ({why})")),
            http::Error::Tls { problem, detail } => Failure::Tls {
                endpoint,
                problem,
                detail,
            },
            http::Error::NotHttp(why) => Failure::NotARegistry {
                endpoint,
                detail: format!(
                    "the answer is not HTTP ({why}; an https port reached with http://?)"
                ),
            },
            http::Error::PlainHttp(origin) => Failure::Protocol {
                endpoint,
                detail: format!(
                    "it sends us to plain http ({origin}); pass --insecure-http to allow that"
                ),
            },
            http::Error::BodyTooLarge(max) => Failure::Protocol {
                endpoint,
                detail: format!("the answer is larger than {max} bytes"),
            },
            http::Error::BadUrl(why) => Failure::Protocol {
                endpoint,
                detail: why,
            },
            e @ http::Error::Unavailable => Failure::BadInput {
                detail: e.to_string(),
            },
            http::Error::Other(why) => unreachable(why),
        }
    }
}
