//! Check a saved credential against its registry with the Docker Registry HTTP API v2 handshake.
//!
//! The handshake is the one `docker login` does, driven entirely by what the registry answers,
//! so that no provider needs special code:
//!
//! 1. `GET https://HOST/v2/` without credentials. `200` means the registry does not ask for any.
//! 2. On `401`, read every `WWW-Authenticate` challenge. `Bearer realm=…,service=…[,scope=…]`:
//!    fetch a token from the realm with the credentials as HTTP Basic auth, read `token` or
//!    `access_token` from its JSON answer, and `GET /v2/` again with `Authorization: Bearer`.
//!    `Basic`: `GET /v2/` again with the credentials as HTTP Basic auth.
//! 3. The last answer decides: `200` accepted, `401`/`403` rejected, anything else is reported
//!    for what it is (not a registry, server error, …).
//!
//! Every way this can go wrong is its own [`Failure`] variant with its own exit code, because
//! the user's next step differs: fix the password, fix the host, add a CA, wait for the network.
//!
//! Safety rules this module keeps:
//! - the secret travels only in an `Authorization` header, never in a URL, an error or a log;
//! - redirects are followed by hand (at most [`MAX_REDIRECTS`]), and `Authorization` is dropped
//!   as soon as one leads to another `host:port`, so a redirect cannot hand credentials to a
//!   third party;
//! - plain `http://` is used only for loopback hosts, or when the caller asks for it;
//! - the whole check is bounded by [`Options::timeout`] and every body read is size-bounded.
//!
//! This module never logs. ureq logs through the `log` crate with headers redacted up to DEBUG,
//! but unredacted at TRACE: a binary must not enable TRACE for `ureq`.

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ureq::Agent;
use ureq::http::{HeaderMap, Response, Uri};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

use crate::host;
use crate::secret::Secret;

/// How long a whole check may take by default, all requests and redirects included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Redirects followed per request. Registries and token services redirect rarely and once
/// (to a canonical host or a CDN); more than a few means a loop.
pub const MAX_REDIRECTS: usize = 5;

/// A token answer is a small JSON object (a few KiB even for long JWTs); 1 MiB is generous and
/// still keeps a hostile server from filling memory.
const MAX_TOKEN_BODY: u64 = 1024 * 1024;

/// Error bodies are only read for a one-line message.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// A CA bundle (`--ca-cert`, `SSL_CERT_FILE`) is at most a few hundred KiB; refuse absurd files.
const MAX_CA_FILE: u64 = 16 * 1024 * 1024;

/// Docker Hub's credentials are saved under its key, but its registry API answers here (the
/// host `docker pull` talks to).
const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// What a check may do beyond the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Upper bound for the whole check (every request, redirect and token fetch together).
    pub timeout: Duration,
    /// Extra trusted CA certificates (PEM bundle or one DER certificate), e.g. a private CA:
    /// the CLI's `--ca-cert FILE`. Added to Mozilla's roots, never replacing them.
    pub ca_cert: Option<PathBuf>,
    /// A second extra CA file, normally the `SSL_CERT_FILE` environment variable (see
    /// [`Options::from_env`]). A field rather than a lookup inside [`verify`] so that a caller
    /// (and a test) decides what is trusted.
    pub ssl_cert_file: Option<PathBuf>,
    /// Allow plain `http://` to hosts that are not loopback, for a registry string or a token
    /// realm that says `http://`. Loopback hosts may always use `http://`. A registry string
    /// without a scheme always means `https://`.
    pub insecure_http: bool,
}

impl Default for Options {
    /// Ten seconds, Mozilla's roots only, https only. Reads no environment variable.
    fn default() -> Self {
        Options {
            timeout: DEFAULT_TIMEOUT,
            ca_cert: None,
            ssl_cert_file: None,
            insecure_http: false,
        }
    }
}

impl Options {
    /// The defaults plus `SSL_CERT_FILE` (when set and not empty) as an extra CA file: what the
    /// CLI should start from, so a private CA configured for other tools works here too.
    pub fn from_env() -> Self {
        let ssl_cert_file = std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Options {
            ssl_cert_file,
            ..Options::default()
        }
    }
}

/// How the registry accepted the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthUsed {
    /// `/v2/` answered `200` without asking for credentials: the registry is open to anonymous
    /// callers here, so the credentials could not be checked.
    NoneNeeded,
    /// The registry accepted HTTP Basic auth.
    Basic,
    /// The token service at `realm` issued a token and the registry accepted it.
    Bearer { realm: String },
}

/// A successful check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The `/v2/` URL that was checked, e.g. `https://registry-1.docker.io/v2/`.
    pub endpoint: String,
    pub auth: AuthUsed,
}

impl fmt::Display for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.auth {
            AuthUsed::NoneNeeded => write!(
                f,
                "{} answered without asking for credentials, so they could not be checked (the registry allows anonymous access)",
                self.endpoint
            ),
            AuthUsed::Basic => write!(f, "{} accepted the credentials (basic auth)", self.endpoint),
            AuthUsed::Bearer { realm } => write!(
                f,
                "{} accepted the credentials (bearer token from {realm})",
                self.endpoint
            ),
        }
    }
}

/// Which certificate problem a TLS failure was, so the message can say what to do about it.
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
    /// Anything else: revoked, bad signature, no common protocol, not TLS at all, …
    Other,
}

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
        TlsProblem::UnknownIssuer => format!(
            "the certificate is signed by an authority this machine does not trust, e.g. self-signed or a private CA ({detail}); pass that CA with --ca-cert FILE or SSL_CERT_FILE"
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
}

/// The `/v2/` URL that [`verify`] checks for a registry string: Docker Hub's keys
/// (`https://index.docker.io/v1/`, `docker.io`, `index.docker.io`, …) map to
/// `https://registry-1.docker.io/v2/`; any other `host[:port]` (with an optional `http://` or
/// `https://` scheme, path ignored) to `https://host[:port]/v2/`. A string [`verify`] would refuse
/// comes back trimmed but otherwise unchanged, so a caller can still show it.
pub fn endpoint_for(key: &str) -> String {
    match Target::parse(key) {
        Ok(t) => t.v2_url(),
        Err(_) => key.trim().to_string(),
    }
}

/// Check `username`/`secret` against `registry` (a canonical `host[:port]`, the Docker Hub key,
/// or either with an explicit `http://`/`https://` scheme).
///
/// Blocking; takes at most about `opts.timeout` (twice that for a loopback fallback).
///
/// Like docker, which treats `127.0.0.0/8` registries as insecure, a loopback registry given
/// without a scheme is tried over https first and then over plain http when TLS fails there.
pub fn verify(
    registry: &str,
    username: &str,
    secret: &Secret,
    opts: &Options,
) -> Result<Accepted, Failure> {
    let first = verify_once(registry, username, secret, opts);
    let no_scheme = !registry.contains("://");
    match first {
        Err(Failure::Tls { .. } | Failure::NotARegistry { .. } | Failure::Unreachable { .. })
            if no_scheme && Target::parse(registry).is_ok_and(|t| t.is_loopback()) =>
        {
            // A definite answer over http beats the TLS error; any other failure does not.
            match verify_once(
                &format!("http://{}", registry.trim()),
                username,
                secret,
                opts,
            ) {
                Ok(accepted) => Ok(accepted),
                Err(rejected @ Failure::Rejected { .. }) => Err(rejected),
                Err(_) => first,
            }
        }
        other => other,
    }
}

fn verify_once(
    registry: &str,
    username: &str,
    secret: &Secret,
    opts: &Options,
) -> Result<Accepted, Failure> {
    let target = Target::parse(registry)?;
    if target.scheme == "http" && !target.is_loopback() && !opts.insecure_http {
        return Err(Failure::BadInput {
            detail: format!(
                "refusing to send credentials over plain http to {}: use https, or pass --insecure-http if this registry really has no TLS",
                target.authority
            ),
        });
    }
    if username.is_empty() {
        return Err(Failure::BadInput {
            detail: "the username is empty: give the registry username (GCR: _json_key)".into(),
        });
    }
    if username == "<token>" {
        // Docker's marker for an identity (OAuth2 refresh) token: it is exchanged at the token
        // service with a form POST, not sent as Basic auth, and that flow is not implemented.
        return Err(Failure::BadInput {
            detail: "this credential is an identity token (username <token>), which verify cannot check yet; check it with a pull instead".into(),
        });
    }
    if username.contains(':') || username.chars().any(char::is_control) {
        return Err(Failure::BadInput {
            detail: "the username contains ':' or a control character, which HTTP Basic auth cannot carry: check the username".into(),
        });
    }
    let client = Client::new(opts)?;
    let basic = Secret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", secret.expose()))
    ));
    let endpoint = target.v2_url();
    let check = Check {
        client,
        secret,
        basic: &basic,
        endpoint: endpoint.clone(),
    };
    let v2 = Url::parse(&endpoint).ok_or_else(|| Failure::BadInput {
        detail: format!("{registry:?} is not a usable registry host: give host[:port]"),
    })?;

    // 1. Anonymous: what does the registry want?
    let mut first = check.client.get(&v2, None)?;
    let status = first.status().as_u16();
    match status {
        200..=299 => {
            if looks_like_html(first.headers()) && !has_api_version(first.headers()) {
                return Err(check.not_a_registry("GET /v2/ answered with a web page"));
            }
            return Ok(Accepted {
                endpoint,
                auth: AuthUsed::NoneNeeded,
            });
        }
        401 => {}
        403 => {
            return Err(Failure::Protocol {
                endpoint,
                detail: "GET /v2/ answered 403 Forbidden before any credentials were sent (an IP allow-list or a proxy in the way?)".into(),
            });
        }
        _ => return Err(check.unexpected(status, &mut first)),
    }

    let challenges = all_challenges(first.headers());
    if let Some(bearer) = challenges
        .iter()
        .find(|c| c.scheme == "bearer" && c.param("realm").is_some())
    {
        return check.bearer(&v2, bearer, &basic);
    }
    if challenges.iter().any(|c| c.scheme == "basic") {
        let mut resp = check.client.get(&v2, Some(&basic))?;
        return match resp.status().as_u16() {
            200..=299 => Ok(Accepted {
                endpoint,
                auth: AuthUsed::Basic,
            }),
            s @ (401 | 403) => Err(check.rejected(&check.endpoint.clone(), s, &mut resp)),
            s => Err(check.unexpected(s, &mut resp)),
        };
    }
    if challenges.is_empty() {
        return Err(
            check.not_a_registry("GET /v2/ answered 401 without a WWW-Authenticate challenge")
        );
    }
    let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
    Err(Failure::Protocol {
        endpoint,
        detail: format!(
            "it asks for authentication this tool does not support ({}); only Basic and Bearer realm=… are supported",
            schemes.join(", ")
        ),
    })
}

/// The registry to check, after the same normalisation the store uses (scheme, case, `:443`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    scheme: &'static str,
    /// `host[:port]`, lower-case, IPv6 in brackets, default port dropped.
    authority: String,
    /// The host without brackets or port, for the loopback test.
    host: String,
}

impl Target {
    /// The registry string through [`host::normalize`] (the store's own rules, so `verify`
    /// checks exactly the registry a credential is saved for), plus the scheme to use:
    /// `http` only when written, else `https`.
    fn parse(input: &str) -> Result<Target, Failure> {
        let bad = |why: &str| Failure::BadInput {
            detail: format!(
                "{:?} is not a registry host ({why}): give host[:port], optionally with https://",
                truncate(input.trim(), 100)
            ),
        };
        // Only spaces are forgiven: CR, LF and NUL are refused, as the store refuses them.
        let s = input.trim_matches([' ', '\t']);
        if s.is_empty() {
            return Err(Failure::BadInput {
                detail: "the registry is empty: give host[:port]".into(),
            });
        }
        if s.chars().any(char::is_control) {
            return Err(bad("it contains whitespace or control characters"));
        }
        let key = host::normalize(s).map_err(|e| bad(&e.to_string()))?;
        let scheme = if s
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
        {
            "http"
        } else {
            "https"
        };
        if key.is_docker_hub() {
            return Ok(Target {
                scheme,
                authority: DOCKER_HUB_REGISTRY.to_string(),
                host: DOCKER_HUB_REGISTRY.to_string(),
            });
        }
        // The key drops https' default port; drop http's too.
        let authority = match key.as_str().strip_suffix(":80") {
            Some(bare) if scheme == "http" => bare.to_string(),
            _ => key.as_str().to_string(),
        };
        let host = match authority.find(']') {
            Some(close) => authority[1..close].to_string(),
            None => authority.split(':').next().unwrap_or_default().to_string(),
        };
        Ok(Target {
            scheme,
            authority,
            host,
        })
    }

    fn v2_url(&self) -> String {
        format!("{}://{}/v2/", self.scheme, self.authority)
    }

    fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// Split `host[:port]` (IPv6 in brackets). `None` when the port is not a number in 1..=65535.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (h, rest) = authority.split_at(close + 1);
        match rest {
            "" => (h, None),
            _ => (h, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            match p.parse::<u16>() {
                Ok(0) | Err(_) => return None,
                Ok(n) => Some(n),
            }
        }
    };
    Some((host, port))
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// An absolute http(s) URL, split the way the redirect and credential rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    scheme: String,
    /// `host[:port]` as written, lower-cased.
    authority: String,
    /// Path and query, starting with `/`.
    path_query: String,
}

impl Url {
    /// Only `http`/`https` with a host and no `user@`: a URL carrying credentials of its own is
    /// refused rather than half-honoured.
    fn parse(s: &str) -> Option<Url> {
        let uri: Uri = s.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let authority = uri.authority()?.as_str().to_ascii_lowercase();
        if authority.contains('@') || authority.is_empty() {
            return None;
        }
        let path_query = match uri.path_and_query() {
            Some(pq) if pq.as_str().starts_with('/') => pq.as_str().to_string(),
            Some(pq) => format!("/{}", pq.as_str()),
            None => "/".to_string(),
        };
        Some(Url {
            scheme,
            authority,
            path_query,
        })
    }

    fn host(&self) -> &str {
        split_host_port(&self.authority)
            .map(|(h, _)| h)
            .unwrap_or(&self.authority)
    }

    /// Where a `Location` header points, relative to this URL.
    fn join(&self, location: &str) -> Option<Url> {
        let location = location.trim();
        if location.contains("://") {
            return Url::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme));
        }
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let path = self.path_query.split('?').next().unwrap_or("/");
            let dir = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
            format!("{dir}{location}")
        };
        Url::parse(&format!("{}://{}{path}", self.scheme, self.authority))
    }

    /// The URL without its query: what an error message may show.
    fn without_query(&self) -> String {
        let path = self.path_query.split('?').next().unwrap_or("/");
        format!("{}://{}{path}", self.scheme, self.authority)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.path_query)
    }
}

/// `realm` with `service` and each `scope` added as query parameters, percent-encoded. The
/// realm's own query is kept. No credential ever goes into this URL.
fn token_url(realm: &Url, service: Option<&str>, scopes: &[&str]) -> Url {
    let mut params: Vec<String> = Vec::new();
    if let Some(service) = service {
        params.push(format!("service={}", percent_encode(service)));
    }
    for scope in scopes {
        params.push(format!("scope={}", percent_encode(scope)));
    }
    let mut path_query = realm.path_query.clone();
    if !params.is_empty() {
        let sep = if path_query.contains('?') {
            if path_query.ends_with('?') || path_query.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        path_query = format!("{path_query}{sep}{}", params.join("&"));
    }
    Url {
        path_query,
        ..realm.clone()
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One challenge of a `WWW-Authenticate` header: the scheme (lower-case) and its parameters
/// (names lower-case, values unquoted and unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn all_challenges(headers: &HeaderMap) -> Vec<Challenge> {
    headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

/// Parse a `WWW-Authenticate` value (RFC 9110 §11.6.1): a comma-separated list of challenges,
/// each `scheme [token68 | name=value, …]`, values a token or a quoted string with `\` escapes.
/// Commas separate both challenges and parameters, so an item is a parameter when `=` follows
/// its name and a new challenge otherwise. Lenient about spacing and a missing comma between
/// parameters (seen in the wild); never fails, unusable parts are skipped.
fn parse_challenges(header: &str) -> Vec<Challenge> {
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && (chars[*i] == ' ' || chars[*i] == '\t') {
            *i += 1;
        }
    };
    let read_token = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && is_tchar(chars[*i]) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        // Between challenges: spaces and empty list elements.
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t' || chars[i] == ',') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let scheme = read_token(&mut i);
        if scheme.is_empty() {
            i += 1; // not a token character: skip it
            continue;
        }
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        skip_ws(&mut i);
        // token68 (e.g. `Negotiate abc==`): one word, optional trailing '='s, then ',' or end.
        // `name=value` starts the same way, so look past the '=' before deciding.
        let start = i;
        while i < chars.len() && is_token68_char(chars[i]) {
            i += 1;
        }
        if i > start {
            let mut p = i;
            skip_ws(&mut p);
            let mut q = p;
            while q < chars.len() && chars[q] == '=' {
                q += 1;
            }
            let mut r = q;
            skip_ws(&mut r);
            let is_param = q - p == 1 && r < chars.len() && chars[r] != ',';
            if !is_param {
                i = q;
                out.push(challenge);
                continue;
            }
        }
        i = start;
        // auth-params
        loop {
            skip_ws(&mut i);
            let item_start = i;
            let name = read_token(&mut i);
            if name.is_empty() {
                break;
            }
            let mut k = i;
            skip_ws(&mut k);
            if k >= chars.len() || chars[k] != '=' {
                // Not `name=`: this is the next challenge's scheme.
                i = item_start;
                break;
            }
            i = k + 1;
            skip_ws(&mut i);
            let value = if i < chars.len() && chars[i] == '"' {
                i += 1;
                let mut v = String::new();
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    v.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    i += 1; // the closing quote; an unterminated string just ends the header
                }
                v
            } else {
                // Unquoted: a token by the RFC; be lenient and take up to ',' or a space, so an
                // unquoted URL (`realm=https://…`) still works.
                let vstart = i;
                while i < chars.len() && chars[i] != ',' && chars[i] != ' ' && chars[i] != '\t' {
                    i += 1;
                }
                chars[vstart..i].iter().collect()
            };
            challenge.params.push((name.to_ascii_lowercase(), value));
            skip_ws(&mut i);
            if i < chars.len() && chars[i] == ',' {
                i += 1;
            }
        }
        out.push(challenge);
    }
    out
}

/// The HTTP side: one agent with our roots, no automatic redirects, statuses as values.
struct Client {
    agent: Agent,
    deadline: Instant,
    timeout: Duration,
    insecure_http: bool,
}

type Resp = Response<ureq::Body>;

impl Client {
    fn new(opts: &Options) -> Result<Client, Failure> {
        if opts.timeout.is_zero() {
            return Err(Failure::BadInput {
                detail: "the timeout is zero: give a timeout of at least one second".into(),
            });
        }
        let roots = trusted_roots(opts)?;
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(Arc::new(roots)))
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .https_only(false)
            .user_agent(concat!(
                "docker-credential-northflank/",
                env!("CARGO_PKG_VERSION")
            ))
            .tls_config(tls)
            .build()
            .into();
        Ok(Client {
            agent,
            deadline: Instant::now() + opts.timeout,
            timeout: opts.timeout,
            insecure_http: opts.insecure_http,
        })
    }

    /// One GET, following redirects by hand. `auth` goes only to the `host:port` of `url`.
    fn get(&self, url: &Url, auth: Option<&Secret>) -> Result<Resp, Failure> {
        let origin = url.authority.clone();
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            if current.scheme == "http" && !is_loopback_host(current.host()) && !self.insecure_http
            {
                return Err(Failure::Protocol {
                    endpoint: url.without_query(),
                    detail: format!(
                        "it sends us to plain http ({}); pass --insecure-http to allow that",
                        current.without_query()
                    ),
                });
            }
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(self.timed_out(&current));
            }
            let mut req = self
                .agent
                .get(current.to_string())
                .config()
                .timeout_global(Some(remaining));
            if is_loopback_host(current.host()) {
                // A proxy cannot reach this machine's loopback interface.
                req = req.proxy(None);
            }
            let mut req = req.build();
            if let Some(auth) = auth
                && current.authority == origin
            {
                req = req.header("Authorization", auth.expose());
            }
            let resp = req
                .call()
                .map_err(|e| self.transport_failure(&current, e))?;
            let status = resp.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| current.join(l));
            match location {
                Some(next) => current = next,
                None => {
                    return Err(Failure::Protocol {
                        endpoint: current.without_query(),
                        detail: format!("it answered {status} without a usable Location header"),
                    });
                }
            }
        }
        Err(Failure::Protocol {
            endpoint: url.without_query(),
            detail: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    fn timed_out(&self, url: &Url) -> Failure {
        Failure::Unreachable {
            endpoint: url.without_query(),
            detail: format!(
                "no answer within {} s (raise --timeout if the registry is just slow)",
                self.timeout.as_secs_f64()
            ),
        }
    }

    fn transport_failure(&self, url: &Url, e: ureq::Error) -> Failure {
        let endpoint = url.without_query();
        let unreachable = |detail: String| Failure::Unreachable {
            endpoint: endpoint.clone(),
            detail,
        };
        match e {
            ureq::Error::Timeout(_) => self.timed_out(url),
            ureq::Error::HostNotFound => {
                unreachable(format!("the host name {} was not found (DNS)", url.host()))
            }
            ureq::Error::ConnectionFailed => unreachable("the connection failed".into()),
            ureq::Error::Rustls(e) => tls_failure(endpoint, &e),
            ureq::Error::Tls(msg) => Failure::Tls {
                endpoint,
                problem: TlsProblem::Other,
                detail: msg.to_string(),
            },
            ureq::Error::Io(io) => {
                if let Some(tls) = io.get_ref().and_then(|r| r.downcast_ref::<rustls::Error>()) {
                    return tls_failure(endpoint, tls);
                }
                use std::io::ErrorKind as K;
                match io.kind() {
                    K::ConnectionRefused => unreachable(
                        "connection refused (is the registry running on that port?)".into(),
                    ),
                    K::TimedOut | K::WouldBlock => self.timed_out(url),
                    K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof => {
                        unreachable(format!("the connection was closed ({io})"))
                    }
                    _ => unreachable(io.to_string()),
                }
            }
            ureq::Error::Protocol(p) => Failure::NotARegistry {
                endpoint,
                detail: format!(
                    "the answer is not HTTP ({p}; an https port reached with http://?)"
                ),
            },
            ureq::Error::BadUri(u) => Failure::BadInput {
                detail: format!("not a usable URL: {u}"),
            },
            ureq::Error::LargeResponseHeader(..) => Failure::Protocol {
                endpoint,
                detail: "the response headers are too large".into(),
            },
            other => unreachable(other.to_string()),
        }
    }
}

fn tls_failure(endpoint: String, e: &rustls::Error) -> Failure {
    use rustls::CertificateError as C;
    let problem = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => TlsProblem::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::NameMismatch,
            C::Expired | C::ExpiredContext { .. } => TlsProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotYetValid,
            _ => TlsProblem::Other,
        },
        _ => TlsProblem::Other,
    };
    Failure::Tls {
        endpoint,
        problem,
        detail: e.to_string(),
    }
}

/// Mozilla's roots plus the extra CA files of `opts`. Mozilla's roots rather than the OS store so
/// the outcome does not depend on the machine; a private CA is added explicitly.
fn trusted_roots(opts: &Options) -> Result<Vec<Certificate<'static>>, Failure> {
    let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    for (path, origin) in [
        (opts.ca_cert.as_deref(), "--ca-cert"),
        (opts.ssl_cert_file.as_deref(), "SSL_CERT_FILE"),
    ] {
        if let Some(path) = path {
            roots.extend(read_ca_file(path, origin)?);
        }
    }
    Ok(roots)
}

fn read_ca_file(path: &Path, origin: &str) -> Result<Vec<Certificate<'static>>, Failure> {
    let bad = |why: String| Failure::BadInput {
        detail: format!("{origin} {}: {why}", path.display()),
    };
    let file = std::fs::File::open(path).map_err(|e| {
        bad(format!(
            "cannot be read ({e}); give a PEM file of CA certificates"
        ))
    })?;
    let mut data = Vec::new();
    file.take(MAX_CA_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| bad(format!("cannot be read ({e})")))?;
    if data.len() as u64 > MAX_CA_FILE {
        return Err(bad(
            "is larger than 16 MiB; give a PEM file of CA certificates".into(),
        ));
    }
    let is_pem = data.windows(11).any(|w| w == b"-----BEGIN ");
    if !is_pem {
        // One DER certificate (`.cer`/`.der`), as some CAs are distributed.
        if data.first() == Some(&0x30) {
            return Ok(vec![Certificate::from_der(&data).to_owned()]);
        }
        return Err(bad(
            "holds no certificate; give a PEM file (-----BEGIN CERTIFICATE-----) or one DER certificate".into(),
        ));
    }
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&data) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {} // keys and the like: not ours to trust
            Err(e) => return Err(bad(format!("is not valid PEM ({e})"))),
        }
    }
    if certs.is_empty() {
        return Err(bad(
            "holds no certificate; give a PEM file with -----BEGIN CERTIFICATE----- blocks".into(),
        ));
    }
    Ok(certs)
}

/// State of one check, so each step's error can name the right endpoint.
struct Check<'a> {
    client: Client,
    secret: &'a Secret,
    /// The `Basic …` header value, which carries the secret in base64.
    basic: &'a Secret,
    /// The registry's `/v2/` URL.
    endpoint: String,
}

impl Check<'_> {
    fn bearer(&self, v2: &Url, challenge: &Challenge, basic: &Secret) -> Result<Accepted, Failure> {
        let realm_text = challenge.param("realm").unwrap_or_default();
        let realm = Url::parse(realm_text).ok_or_else(|| Failure::Protocol {
            endpoint: self.endpoint.clone(),
            detail: format!(
                "its Bearer challenge names a token service that is not an http(s) URL: {:?}",
                truncate(realm_text, 200)
            ),
        })?;
        let scopes: Vec<&str> = challenge
            .param("scope")
            .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let url = token_url(&realm, challenge.param("service"), &scopes);
        let realm_shown = realm.without_query();

        let mut resp = self.client.get(&url, Some(basic))?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => {}
            401 | 403 => return Err(self.rejected(&realm_shown, status, &mut resp)),
            500..=599 => {
                return Err(Failure::Unreachable {
                    endpoint: realm_shown,
                    detail: format!("the token service answered HTTP {status} (a server error)"),
                });
            }
            _ => {
                let msg = self.server_message(&mut resp);
                return Err(Failure::Protocol {
                    endpoint: realm_shown,
                    detail: format!("the token service answered HTTP {status}{msg}"),
                });
            }
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_TOKEN_BODY)
            .read_to_vec()
            .map_err(|e| Failure::Protocol {
                endpoint: realm_shown.clone(),
                detail: format!("the token answer could not be read ({e})"),
            })?;
        let token = parse_token(&body).ok_or_else(|| Failure::Protocol {
            endpoint: realm_shown.clone(),
            detail:
                "the token service answered without a token (no JSON \"token\" or \"access_token\")"
                    .into(),
        })?;
        let bearer = Secret::new(format!("Bearer {token}"));
        let mut resp = self.client.get(v2, Some(&bearer))?;
        match resp.status().as_u16() {
            200..=299 => Ok(Accepted {
                endpoint: self.endpoint.clone(),
                auth: AuthUsed::Bearer { realm: realm_shown },
            }),
            s @ (401 | 403) => {
                let endpoint = self.endpoint.clone();
                let mut failure = self.rejected(&endpoint, s, &mut resp);
                if let Failure::Rejected { detail, .. } = &mut failure {
                    detail.insert_str(0, "the token from the token service was refused: ");
                }
                Err(failure)
            }
            s => Err(self.unexpected(s, &mut resp)),
        }
    }

    fn rejected(&self, endpoint: &str, status: u16, resp: &mut Resp) -> Failure {
        let msg = self.server_message(resp);
        Failure::Rejected {
            endpoint: endpoint.to_string(),
            detail: format!("HTTP {status}{msg}"),
        }
    }

    fn not_a_registry(&self, detail: &str) -> Failure {
        Failure::NotARegistry {
            endpoint: self.endpoint.clone(),
            detail: detail.to_string(),
        }
    }

    /// Any `/v2/` status the handshake did not expect.
    fn unexpected(&self, status: u16, resp: &mut Resp) -> Failure {
        match status {
            500..=599 => Failure::Unreachable {
                endpoint: self.endpoint.clone(),
                detail: format!("the registry answered HTTP {status} (a server error)"),
            },
            300..=399 => Failure::Protocol {
                endpoint: self.endpoint.clone(),
                detail: format!("unexpected redirect {status}"),
            },
            _ => {
                let msg = self.server_message(resp);
                self.not_a_registry(&format!("GET /v2/ answered HTTP {status}{msg}"))
            }
        }
    }

    /// A short message from an error body (`{"errors":[{"message":…}]}`, `{"details":…}`, …),
    /// formatted as `: message`, or empty. Scrubbed of the secret, control characters removed,
    /// truncated: a server's words must not turn our one-line error into something else.
    fn server_message(&self, resp: &mut Resp) -> String {
        let Ok(body) = resp
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BODY)
            .read_to_vec()
        else {
            return String::new();
        };
        let Some(msg) = error_message(&body) else {
            return String::new();
        };
        let encoded = self.basic.expose().trim_start_matches("Basic ");
        let msg = scrub(&msg, &[self.secret.expose(), encoded]);
        if msg.is_empty() {
            String::new()
        } else {
            format!(": {msg}")
        }
    }
}

fn parse_token(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"].iter().find_map(|k| {
        v.get(k)
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.bytes().all(|b| (0x21..0x7f).contains(&b)))
            .map(str::to_string)
    })
}

fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let s = |v: Option<&serde_json::Value>| v.and_then(|x| x.as_str()).map(str::to_string);
    s(v.pointer("/errors/0/message"))
        .or_else(|| s(v.get("details")))
        .or_else(|| s(v.get("message")))
        .or_else(|| s(v.get("error_description")))
        .or_else(|| s(v.get("error")))
}

/// Remove the secrets (if a server echoed one, plain or base64 as sent), control characters
/// and excess length.
fn scrub(msg: &str, secrets: &[&str]) -> String {
    let msg = secrets
        .iter()
        .filter(|s| s.len() >= 3)
        .fold(msg.to_string(), |m, s| m.replace(s, "REDACTED"));
    let clean: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(clean.trim(), 200)
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

fn looks_like_html(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase().contains("html"))
        .unwrap_or(false)
}

fn has_api_version(headers: &HeaderMap) -> bool {
    headers
        .get("docker-distribution-api-version")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.starts_with("registry/2"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn www_authenticate_parser_table() {
        let cases: Vec<(&str, Vec<Challenge>)> = vec![
            (
                "Basic realm=\"Registry Realm\"",
                vec![ch("basic", &[("realm", "Registry Realm")])],
            ),
            ("basic", vec![ch("basic", &[])]),
            ("Basic", vec![ch("basic", &[])]),
            (
                // Docker Hub's answer.
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"",
                vec![ch(
                    "bearer",
                    &[
                        ("realm", "https://auth.docker.io/token"),
                        ("service", "registry.docker.io"),
                    ],
                )],
            ),
            (
                // Unquoted token values, spaces around '=', upper-case names.
                "BEARER Realm = https://t.example/token , Service=reg.example,scope=repository:a/b:pull",
                vec![ch(
                    "bearer",
                    &[
                        ("realm", "https://t.example/token"),
                        ("service", "reg.example"),
                        ("scope", "repository:a/b:pull"),
                    ],
                )],
            ),
            (
                // Commas and escapes inside quoted strings.
                r#"Bearer realm="https://t.example/token?a=1,b=2",service="say \"hi\", ok",scope="x\\y""#,
                vec![ch(
                    "bearer",
                    &[
                        ("realm", "https://t.example/token?a=1,b=2"),
                        ("service", "say \"hi\", ok"),
                        ("scope", "x\\y"),
                    ],
                )],
            ),
            (
                // Two challenges in one header.
                "Basic realm=\"r\", Bearer realm=\"https://t/x\",service=\"s\"",
                vec![
                    ch("basic", &[("realm", "r")]),
                    ch("bearer", &[("realm", "https://t/x"), ("service", "s")]),
                ],
            ),
            (
                // A token68 challenge before a parameter one.
                "Negotiate abc123==, Bearer realm=\"https://t/x\"",
                vec![
                    ch("negotiate", &[]),
                    ch("bearer", &[("realm", "https://t/x")]),
                ],
            ),
            ("Negotiate abc=", vec![ch("negotiate", &[])]),
            ("Negotiate", vec![ch("negotiate", &[])]),
            (
                // Empty list elements and a challenge without parameters in the middle.
                " , Basic, , Digest realm=\"d\", nonce=\"n\"",
                vec![
                    ch("basic", &[]),
                    ch("digest", &[("realm", "d"), ("nonce", "n")]),
                ],
            ),
            (
                // Missing comma between parameters: still read.
                "Bearer realm=\"https://t/x\" service=\"s\"",
                vec![ch("bearer", &[("realm", "https://t/x"), ("service", "s")])],
            ),
            (
                // Empty quoted value, then an unterminated quote: no panic, best effort.
                "Bearer realm=\"\",service=\"unterminated",
                vec![ch("bearer", &[("realm", ""), ("service", "unterminated")])],
            ),
            ("", vec![]),
            ("   ", vec![]),
            ("\"quoted\"", vec![ch("quoted", &[])]),
            ("=,=", vec![]),
        ];
        for (input, want) in cases {
            assert_eq!(parse_challenges(input), want, "input: {input:?}");
        }
    }

    #[test]
    fn parser_never_panics_on_odd_bytes() {
        for input in [
            "\\",
            "\"",
            "a=\"\\",
            "Bearer ,,,=,=\"",
            "Bearer realm",
            "Bearer realm=",
            "é ü=ö",
            "Bearer realm=\"a\\\"",
            "x y z",
            "Bearer\trealm=\"t\"",
        ] {
            let _ = parse_challenges(input);
        }
        assert_eq!(
            parse_challenges("Bearer\trealm=\"t\""),
            vec![ch("bearer", &[("realm", "t")])]
        );
        assert_eq!(parse_challenges("Bearer realm="), vec![ch("bearer", &[])]);
    }

    #[test]
    fn endpoint_for_maps_docker_hub_only() {
        let cases = [
            (
                "https://index.docker.io/v1/",
                "https://registry-1.docker.io/v2/",
            ),
            ("docker.io", "https://registry-1.docker.io/v2/"),
            ("index.docker.io", "https://registry-1.docker.io/v2/"),
            (
                "Registry.Hub.Docker.com",
                "https://registry-1.docker.io/v2/",
            ),
            ("registry-1.docker.io", "https://registry-1.docker.io/v2/"),
            ("ghcr.io", "https://ghcr.io/v2/"),
            ("GHCR.IO.", "https://ghcr.io/v2/"),
            ("https://ghcr.io/v2/foo?x=1", "https://ghcr.io/v2/"),
            ("gcr.io:443", "https://gcr.io/v2/"),
            (
                "gitlab.example.com:5050",
                "https://gitlab.example.com:5050/v2/",
            ),
            ("http://localhost:5000", "http://localhost:5000/v2/"),
            ("http://localhost:80", "http://localhost/v2/"),
            ("HTTPS://[::1]:5000/", "https://[::1]:5000/v2/"),
            ("[::1]", "https://[::1]/v2/"),
            ("127.0.0.1:5000", "https://127.0.0.1:5000/v2/"),
            // A port on a Hub name is some other server, not the Hub.
            ("docker.io:5000", "https://docker.io:5000/v2/"),
            // Refused input comes back as given (trimmed).
            (" ftp://x ", "ftp://x"),
            ("https://ghcr.io@evil.com", "https://ghcr.io@evil.com"),
        ];
        for (input, want) in cases {
            assert_eq!(endpoint_for(input), want, "input: {input:?}");
        }
    }

    #[test]
    fn bad_registry_strings_are_bad_input() {
        for input in [
            "",
            " ",
            "ftp://ghcr.io",
            "https://user@ghcr.io",
            "ghcr.io:0",
            "ghcr.io:99999",
            "ghcr.io:",
            "ghcr.io:x",
            "gh cr.io",
            "ghcr.io\n",
            "a\0b",
            "[::1",
            "[zz]:5000",
            "bad$host",
            "..",
            ".ghcr.io",
            "https://",
            "host:5000:6000",
        ] {
            let err = Target::parse(input).expect_err(input);
            assert_eq!(err.exit_code(), 1, "input: {input:?}");
            assert!(!err.to_string().contains('\n'), "one line for {input:?}");
        }
    }

    #[test]
    fn loopback_detection() {
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
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn token_url_building() {
        let realm = Url::parse("https://auth.docker.io/token").unwrap();
        assert_eq!(
            token_url(&realm, Some("registry.docker.io"), &[]).to_string(),
            "https://auth.docker.io/token?service=registry.docker.io"
        );
        assert_eq!(
            token_url(
                &realm,
                Some("a b&c=d"),
                &["registry:catalog:*", "repository:x/y:pull,push"]
            )
            .to_string(),
            "https://auth.docker.io/token?service=a%20b%26c%3Dd&scope=registry%3Acatalog%3A%2A&scope=repository%3Ax%2Fy%3Apull%2Cpush"
        );
        assert_eq!(
            token_url(&realm, None, &[]).to_string(),
            "https://auth.docker.io/token"
        );
        let with_query = Url::parse("https://gitlab.example.com/jwt/auth?client=1").unwrap();
        assert_eq!(
            token_url(&with_query, Some("container_registry"), &[]).to_string(),
            "https://gitlab.example.com/jwt/auth?client=1&service=container_registry"
        );
        let bare = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            token_url(&bare, Some("s"), &[]).to_string(),
            "http://127.0.0.1:8080/?service=s"
        );
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn url_parse_and_redirect_join() {
        assert!(Url::parse("ftp://x/y").is_none());
        assert!(Url::parse("https://u:p@x/y").is_none());
        assert!(Url::parse("/relative").is_none());
        let base = Url::parse("https://Reg.Example:5000/v2/?a=b").unwrap();
        assert_eq!(base.authority, "reg.example:5000");
        assert_eq!(base.host(), "reg.example");
        assert_eq!(base.without_query(), "https://reg.example:5000/v2/");
        assert_eq!(
            base.join("/v2").unwrap().to_string(),
            "https://reg.example:5000/v2"
        );
        assert_eq!(
            base.join("x?y=1").unwrap().to_string(),
            "https://reg.example:5000/v2/x?y=1"
        );
        assert_eq!(
            base.join("//cdn.example/v2/").unwrap().to_string(),
            "https://cdn.example/v2/"
        );
        assert_eq!(
            base.join("http://other:1/p").unwrap().to_string(),
            "http://other:1/p"
        );
        assert!(base.join("https://evil@other/").is_none());
        let v6 = Url::parse("http://[::1]:5000/v2/").unwrap();
        assert_eq!(v6.host(), "[::1]");
        assert!(is_loopback_host(v6.host()));
    }

    #[test]
    fn token_answers() {
        assert_eq!(parse_token(br#"{"token":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(
            parse_token(br#"{"access_token":"xyz","expires_in":60}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            parse_token(br#"{"token":"","access_token":"xyz"}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(
            parse_token(br#"{"token":"a\nb"}"#),
            None,
            "no header injection"
        );
        assert_eq!(parse_token(br#"{"token":5}"#), None);
        assert_eq!(parse_token(b"<html>"), None);
        assert_eq!(parse_token(b""), None);
    }

    #[test]
    fn server_messages_are_scrubbed_one_line() {
        assert_eq!(
            error_message(
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
            )
            .as_deref(),
            Some("authentication required")
        );
        assert_eq!(
            error_message(br#"{"details":"incorrect username or password"}"#).as_deref(),
            Some("incorrect username or password")
        );
        assert_eq!(error_message(b"not json"), None);
        assert_eq!(
            scrub("bad pw hunter2\nsecond line", &["hunter2"]),
            "bad pw REDACTED second line"
        );
        assert_eq!(scrub(&"x".repeat(500), &["s3cret"]).chars().count(), 201);
        assert_eq!(
            scrub("got Basic dTpodW50ZXIy", &["hunter2", "dTpodW50ZXIy"]),
            "got Basic REDACTED"
        );
    }

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let e = || String::from("x");
        let all = [
            Failure::BadInput { detail: e() },
            Failure::Rejected {
                endpoint: e(),
                detail: e(),
            },
            Failure::Unreachable {
                endpoint: e(),
                detail: e(),
            },
            Failure::Tls {
                endpoint: e(),
                problem: TlsProblem::Expired,
                detail: e(),
            },
            Failure::NotARegistry {
                endpoint: e(),
                detail: e(),
            },
            Failure::Protocol {
                endpoint: e(),
                detail: e(),
            },
        ];
        let codes: Vec<u8> = all.iter().map(Failure::exit_code).collect();
        assert_eq!(codes, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn plain_http_needs_loopback_or_consent() {
        let s = Secret::new("pw");
        let err = verify("http://registry.example", "u", &s, &Options::default()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("--insecure-http"), "{err}");
        let err = verify("ghcr.io", "", &s, &Options::default()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let err = verify("ghcr.io", "a:b", &s, &Options::default()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        let err = verify("ghcr.io", "<token>", &s, &Options::default()).unwrap_err();
        assert!(err.to_string().contains("identity token"), "{err}");
    }

    #[test]
    fn ca_files_are_checked() {
        let dir = std::env::temp_dir().join(format!("dcn-verify-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let opts = Options {
            ca_cert: Some(empty.clone()),
            ..Options::default()
        };
        let err = trusted_roots(&opts).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().starts_with("--ca-cert "), "{err}");
        let opts = Options {
            ssl_cert_file: Some(dir.join("missing.pem")),
            ..Options::default()
        };
        let err = trusted_roots(&opts).unwrap_err();
        assert!(err.to_string().starts_with("SSL_CERT_FILE "), "{err}");
        let n = trusted_roots(&Options::default()).unwrap().len();
        assert!(n > 50, "Mozilla's roots are there: {n}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
