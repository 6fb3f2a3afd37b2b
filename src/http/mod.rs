//! The one HTTP transport of the crate: `verify`'s registry handshake, `sync`'s Northflank API
//! calls and the ECR token exchange all go through [`Client::send`].
//!
//! One place decides what every caller would otherwise have to remember:
//! - **Credentials stay with their origin.** [`Request::auth`] (the whole `Authorization`
//!   value) is sent to the request's origin (`scheme://host:port`) only; a redirect elsewhere
//!   goes on without it, and [`Response::redirected_across_origin`] says so, so a caller never
//!   mistakes another server's `200` for an answer to its credentials.
//! - **No plain http by accident.** With [`AllowHttp::LoopbackOnly`], an `http://` URL to a
//!   host that is not this machine is refused *before connecting*, on every redirect hop too.
//! - **Bounded.** [`Options::timeout`] covers the whole request, redirects included, from the
//!   first connect to the last byte; bodies are capped by [`Request::max_body`].
//! - **Nothing secret in errors.** An [`Error`]'s text never holds a URL's user info or query,
//!   nor a header value (the secret travels in headers). Statuses are values, not errors.
//! - **What the clients trust** ([`Trust`]): Mozilla's roots, the system's store, extra CA
//!   files, and a trusted certificate presented as the server's own (the "self-signed
//!   certificate" recipe of Docker's documentation), as Go's `crypto/x509` accepts it.
//!
//! The redirect loop is ours rather than ureq's: ureq keeps `Authorization` on any redirect to
//! the same *host* (it ignores the port), or drops it on every redirect, and neither is "same
//! origin". Everything else — connections, pooling, proxies from the environment (never for
//! loopback hosts), HTTP/1.1 framing — is ureq on rustls with the ring provider (no OpenSSL).
//!
//! Built without the `network` feature, everything here compiles and [`Client::send`] answers
//! [`Error::Unavailable`]: that is the crate's only stub, so the logic above it builds everywhere.
//!
//! This module never logs. ureq logs through the `log` crate with headers redacted up to DEBUG
//! but not at TRACE: a binary must not enable TRACE for `ureq`.

mod url;

#[cfg(feature = "network")]
mod tls;
#[cfg(feature = "network")]
mod wire;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::secret::Secret;

pub use url::{Url, is_loopback_host};

/// The whole-request bound of [`Options::default`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a [`Client`] behaves for every request it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The whole request, redirects included: connect to last byte.
    pub timeout: Duration,
    pub trust: Trust,
    pub redirects: Redirects,
    pub allow_http: AllowHttp,
}

impl Default for Options {
    /// Ten seconds, [`Trust::default`], up to five redirects, plain http to loopback only.
    fn default() -> Self {
        Options {
            timeout: DEFAULT_TIMEOUT,
            trust: Trust::default(),
            redirects: Redirects::Follow { max: 5 },
            allow_http: AllowHttp::LoopbackOnly,
        }
    }
}

/// What to do with a `301/302/303/307/308` that has a `Location`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Return the redirect itself as the response.
    Refuse,
    /// Follow up to `max` redirects; past that the last redirect is returned as the response
    /// (a status like any other, for the caller to call a loop). `Authorization` goes only to
    /// the origin of the request's URL; 303 (and 301/302 after a POST) continue as a GET.
    Follow { max: u32 },
}

/// Where plain `http://` may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowHttp {
    /// Only to this machine ([`is_loopback_host`]); anything else is [`Error::PlainHttp`]
    /// before a connection is opened.
    LoopbackOnly,
    /// Anywhere: the user asked for it (`--insecure-http`).
    Any,
}

/// Which certificates a server may present.
///
/// Always Mozilla's roots (bundled, so no machine is left without any); by default also the
/// system's store (what docker, podman and curl on the same machine trust); plus CA files
/// added with [`Trust::with_ca_file`]. A certificate from any of these presented as the
/// server's own (a self-signed certificate that is its own CA) is accepted when it is valid
/// for the host name and today's date, as Go's `crypto/x509` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    system: bool,
    ca_files: Vec<CaFile>,
}

/// An extra CA file (PEM bundle, or one DER certificate) and where it was configured, for
/// messages ("--ca-cert /x.pem: holds no certificate").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFile {
    pub path: PathBuf,
    /// Who named it: `--ca-cert`, `SSL_CERT_FILE`, `/etc/docker/certs.d/HOST`, …
    pub origin: String,
    /// A required file that is missing, unreadable or holds no certificate fails
    /// [`Client::new`]; an optional one (found in a certs.d folder) is skipped, as docker
    /// skips a `.crt` it cannot parse.
    pub required: bool,
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            system: true,
            ca_files: Vec::new(),
        }
    }
}

impl Trust {
    /// Mozilla's roots only: the same answer on every machine (tests, reproducible checks).
    pub fn mozilla_only() -> Self {
        Trust {
            system: false,
            ca_files: Vec::new(),
        }
    }

    /// Adds a required CA file.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>, origin: impl Into<String>) -> Self {
        self.add(CaFile {
            path: path.into(),
            origin: origin.into(),
            required: true,
        });
        self
    }

    /// Adds a CA file (a file already listed is not added twice).
    pub fn add(&mut self, file: CaFile) {
        if !self.ca_files.iter().any(|f| f.path == file.path) {
            self.ca_files.push(file);
        }
    }

    pub fn uses_system_store(&self) -> bool {
        self.system
    }

    pub fn ca_files(&self) -> &[CaFile] {
        &self.ca_files
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One request. Header values and `auth` are never shown in an error.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: Method,
    /// An absolute `http(s)://` URL without user info.
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    /// The whole `Authorization` value (`Basic …`, `Bearer …`), for the URL's origin only.
    pub auth: Option<&'a Secret>,
    pub body: Option<&'a [u8]>,
    /// The most body bytes to accept; more is [`Error::BodyTooLarge`].
    pub max_body: u64,
}

/// What [`Request::get`] accepts by default: plenty for JSON answers and error pages.
pub const DEFAULT_MAX_BODY: u64 = 1024 * 1024;

impl<'a> Request<'a> {
    /// A GET without headers or credentials, bodies up to [`DEFAULT_MAX_BODY`].
    pub fn get(url: &'a str) -> Self {
        Request {
            method: Method::Get,
            url,
            headers: &[],
            auth: None,
            body: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// In the order received; names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A redirect led to another origin on the way here: this answer did not see the
    /// request's `Authorization`.
    pub redirected_across_origin: bool,
}

impl Response {
    /// The first value of a header (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Which certificate problem a TLS failure was, so a message can say what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProblem {
    /// Signed by a CA we do not trust: self-signed or a private CA.
    UnknownIssuer,
    /// The certificate is for another host name.
    NameMismatch,
    /// The certificate's validity period is over.
    Expired,
    /// The certificate's validity period has not started (often a wrong clock).
    NotYetValid,
    /// The server answered with something that is not TLS (a plain-http port).
    NotTls,
    /// Anything else: revoked, bad signature, no common protocol, not TLS at all, …
    Other,
}

/// Why no response came back. The text names hosts and origins only: never a URL's user
/// info or query, never a header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("no complete answer within the time limit")]
    Timeout,
    #[error("the host name {0} was not found (DNS)")]
    HostNotFound(String),
    #[error("connection refused")]
    Refused,
    #[error("the connection was closed ({0})")]
    Closed(String),
    #[error("TLS handshake failed ({detail})")]
    Tls { problem: TlsProblem, detail: String },
    #[error("the answer is not HTTP ({0})")]
    NotHttp(String),
    /// The origin that plain http would have gone to.
    #[error("refusing plain http to {0}, which is not this machine")]
    PlainHttp(String),
    #[error("the answer is larger than {0} bytes")]
    BodyTooLarge(u64),
    #[error("{0}")]
    BadUrl(String),
    #[error(
        "this build has no network support (built without the `network` feature): use a default build"
    )]
    Unavailable,
    #[error("{0}")]
    Other(String),
}

/// Sends requests with one set of [`Options`]; reuses connections between them.
#[derive(Debug)]
pub struct Client {
    timeout: Duration,
    redirects: Redirects,
    allow_http: AllowHttp,
    #[cfg(feature = "network")]
    wire: wire::Wire,
}

/// One request on the wire, no redirects: what the transport below [`Client::send`] does.
#[cfg_attr(not(feature = "network"), allow(dead_code))]
struct Hop<'a> {
    method: Method,
    url: &'a Url,
    headers: &'a [(&'a str, &'a str)],
    auth: Option<&'a Secret>,
    body: Option<&'a [u8]>,
    max_body: u64,
    /// What is left of the whole request's time.
    timeout: Duration,
}

impl Client {
    /// Reads the trusted certificates (a required CA file that is unusable is an
    /// [`Error::Other`] naming it and its origin) and sets up the transport.
    pub fn new(opts: &Options) -> Result<Client, Error> {
        if opts.timeout.is_zero() {
            return Err(Error::Other("the timeout is zero".into()));
        }
        Ok(Client {
            timeout: opts.timeout,
            redirects: opts.redirects,
            allow_http: opts.allow_http,
            #[cfg(feature = "network")]
            wire: wire::Wire::new(&opts.trust)?,
        })
    }

    /// Sends `req`, following redirects as [`Options::redirects`] says. Any status is a
    /// response; only a failure to get one is an [`Error`].
    pub fn send(&self, req: &Request) -> Result<Response, Error> {
        self.send_by(req, Instant::now() + self.timeout)
    }

    /// [`Client::send`], ending by `deadline` when that comes before the timeout: for a
    /// caller whose budget started earlier (an exchange that retries, a `get` that waited). A
    /// deadline already past is [`Error::Timeout`], with nothing sent.
    pub fn send_by(&self, req: &Request, deadline: Instant) -> Result<Response, Error> {
        let deadline = deadline.min(Instant::now() + self.timeout);
        let first = Url::parse(req.url)?;
        let mut url = first.clone();
        let (mut method, mut body) = (req.method, req.body);
        let mut crossed = false;
        let mut followed = 0;
        loop {
            if url.scheme() == "http"
                && self.allow_http == AllowHttp::LoopbackOnly
                && !is_loopback_host(url.host())
            {
                return Err(Error::PlainHttp(url.origin()));
            }
            let timeout = deadline.saturating_duration_since(Instant::now());
            if timeout.is_zero() {
                return Err(Error::Timeout);
            }
            let same_origin = url.same_origin(&first);
            let mut resp = self.hop(&Hop {
                method,
                url: &url,
                headers: req.headers,
                auth: req.auth.filter(|_| same_origin),
                body,
                max_body: req.max_body,
                timeout,
            })?;
            resp.redirected_across_origin = crossed;
            let max = match self.redirects {
                Redirects::Follow { max } => max,
                Redirects::Refuse => 0,
            };
            let location = match resp.status {
                301 | 302 | 303 | 307 | 308 if followed < max => resp.header("location"),
                _ => None,
            };
            let Some(location) = location else {
                return Ok(resp);
            };
            url = url.join(location).map_err(|why| {
                Error::BadUrl(format!(
                    "{} redirected to an unusable location ({why})",
                    first.origin()
                ))
            })?;
            crossed |= !url.same_origin(&first);
            if resp.status == 303 || (method == Method::Post && matches!(resp.status, 301 | 302)) {
                (method, body) = (Method::Get, None);
            }
            followed += 1;
        }
    }

    #[cfg(feature = "network")]
    fn hop(&self, hop: &Hop) -> Result<Response, Error> {
        self.wire.send(hop)
    }

    #[cfg(not(feature = "network"))]
    fn hop(&self, _: &Hop) -> Result<Response, Error> {
        Err(Error::Unavailable)
    }
}

#[cfg(all(test, feature = "network"))]
mod tests;
