//! Check a saved credential against its registry with the Docker Registry HTTP API v2 handshake.
//!
//! The handshake is the one `docker login` does, driven entirely by what the registry answers,
//! so that no provider needs special code:
//!
//! 1. `GET https://HOST/v2/` without credentials. `200` means the registry does not ask for any.
//! 2. On `401`, read every `WWW-Authenticate` challenge ([`challenge`]). `Bearer realm=…`:
//!    get a token from the realm ([`token`]) — with the credentials as HTTP Basic auth, or, for
//!    an identity token (username `<token>`), with the OAuth2 refresh-token grant as docker
//!    does — and `GET /v2/` again with `Authorization: Bearer`. `Basic`: `GET /v2/` again with
//!    the credentials as HTTP Basic auth.
//! 3. The last answer decides: `200` from the registry itself accepted, `401`/`403` rejected,
//!    anything else is reported for what it is (not a registry, server error, …).
//!
//! Every way this can go wrong is its own [`Failure`] variant with its own exit code, because
//! the user's next step differs: fix the password, fix the host, add a CA, wait for the network.
//!
//! Rules this module keeps, on top of those of [`crate::http`] (credentials only to their
//! origin, plain http only to loopback unless asked, one time bound, bounded bodies):
//! - an answer that came from another origin after a redirect never counts as accepted: it did
//!   not see the credentials;
//! - nothing printed holds the secret: no URL a server chose after seeing the credentials is
//!   shown (origins only), and every text of the outcome goes through [`scrub`] (the secret in
//!   every encoding, and any long piece of one);
//! - the same certificates are trusted as by docker and podman on this machine ([`trust`]).

mod challenge;
mod failure;
mod scrub;
mod token;
mod trust;

#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;

use crate::host;
use crate::http::{self, Client, Method, Request, Response, Url, is_loopback_host};
use crate::secret::Secret;
use challenge::{Challenge, all_challenges};
use scrub::{Scrubber, server_message, truncate};

pub use crate::http::TlsProblem;
pub use failure::Failure;
pub use trust::CertsDirs;

/// How long a whole check may take by default, all requests and redirects included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Redirects followed per request. Registries and token services redirect rarely and once
/// (to a canonical host or a CDN); more than a few means a loop.
pub const MAX_REDIRECTS: u32 = 5;

/// Registry answers are small JSON objects, token answers a few KiB even for long JWTs; 1 MiB
/// is generous and still keeps a hostile server from filling memory.
const MAX_BODY: u64 = 1024 * 1024;

/// Docker Hub's credentials are saved under its key, but its registry API answers here (the
/// host `docker pull` talks to).
const DOCKER_HUB_REGISTRY: &str = "registry-1.docker.io";

/// docker's username for an identity token (an OAuth2 refresh token) in a credential helper.
const IDENTITY_TOKEN_USER: &str = "<token>";

/// What a check may do beyond the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Upper bound for each attempt (every request, redirect and token fetch together).
    pub timeout: Duration,
    /// Extra trusted CA certificates (PEM bundle or one DER certificate), e.g. a private CA:
    /// the CLI's `--ca-cert FILE`. Added to the other trust sources, never replacing them.
    pub ca_cert: Option<PathBuf>,
    /// A second extra CA file, normally the `SSL_CERT_FILE` environment variable (see
    /// [`Options::from_env`]). A field rather than a lookup inside [`verify`] so that a caller
    /// (and a test) decides what is trusted.
    pub ssl_cert_file: Option<PathBuf>,
    /// Allow plain `http://` to hosts that are not loopback, for a registry string or a token
    /// realm that says `http://`. Loopback hosts may always use `http://`. A registry string
    /// without a scheme always means `https://`.
    pub insecure_http: bool,
    /// docker's and containers' per-registry certificate folders.
    pub certs_dirs: CertsDirs,
}

impl Default for Options {
    /// Ten seconds, the system-wide trust sources, https only. Reads no environment variable.
    fn default() -> Self {
        Options {
            timeout: DEFAULT_TIMEOUT,
            ca_cert: None,
            ssl_cert_file: None,
            insecure_http: false,
            certs_dirs: CertsDirs::default(),
        }
    }
}

impl Options {
    /// The defaults plus `SSL_CERT_FILE` (when set and not empty) as an extra CA file and the
    /// user's `~/.config/containers/certs.d`: what the CLI should start from, so a CA
    /// configured for other tools works here too.
    pub fn from_env() -> Self {
        let ssl_cert_file = std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Options {
            ssl_cert_file,
            certs_dirs: CertsDirs::from_env(),
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
    /// The token service at `realm` took the identity token (OAuth2 refresh-token grant) and
    /// the registry accepted the access token it issued.
    IdentityToken { realm: String },
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
            AuthUsed::IdentityToken { realm } => write!(
                f,
                "{} accepted the identity token (access token from {realm})",
                self.endpoint
            ),
        }
    }
}

impl Accepted {
    fn scrubbed(self, scrubber: &Scrubber) -> Accepted {
        let auth = match self.auth {
            AuthUsed::Bearer { realm } => AuthUsed::Bearer {
                realm: scrubber.scrub(&realm),
            },
            AuthUsed::IdentityToken { realm } => AuthUsed::IdentityToken {
                realm: scrubber.scrub(&realm),
            },
            other => other,
        };
        Accepted {
            endpoint: scrubber.scrub(&self.endpoint),
            auth,
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
/// without a scheme is tried over https first and, when nothing there speaks TLS, over plain
/// http; the answer over http is then the one reported.
pub fn verify(
    registry: &str,
    username: &str,
    secret: &Secret,
    opts: &Options,
) -> Result<Accepted, Failure> {
    let scrubber = RefCell::new(Scrubber::new(username, secret.expose()));
    let outcome = check(registry, username, secret, opts, &scrubber);
    let scrubber = scrubber.into_inner();
    outcome
        .map(|a| a.scrubbed(&scrubber))
        .map_err(|f| f.scrubbed(&scrubber))
}

fn check(
    registry: &str,
    username: &str,
    secret: &Secret,
    opts: &Options,
    scrubber: &RefCell<Scrubber>,
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
    if username.contains(':') || username.chars().any(char::is_control) {
        return Err(Failure::BadInput {
            detail: "the username contains ':' or a control character, which HTTP Basic auth cannot carry: check the username".into(),
        });
    }
    let http_opts = http::Options {
        timeout: opts.timeout,
        trust: trust::trust_for(opts, &target.authority),
        redirects: http::Redirects::Follow { max: MAX_REDIRECTS },
        allow_http: if opts.insecure_http {
            http::AllowHttp::Any
        } else {
            http::AllowHttp::LoopbackOnly
        },
    };
    let client = Client::new(&http_opts).map_err(|e| Failure::BadInput {
        detail: e.to_string(),
    })?;
    let credentials = Credentials::new(username, secret);
    let attempt = |target: &Target| {
        let check = Check {
            client: &client,
            credentials: &credentials,
            v2: target.v2_url(),
            timeout: opts.timeout,
            responded: Cell::new(false),
            scrubber,
        };
        let outcome = check.handshake();
        (outcome, check.responded.get())
    };
    let (first, responded) = attempt(&target);
    match first {
        Err(failure) if target.may_fall_back() && !responded && nothing_speaks_tls(&failure) => {
            attempt(&target.over_http()).0
        }
        other => other,
    }
}

/// The https attempt got no answer and no certificate: a plain-http port (or nothing there),
/// so the http attempt tells the truth.
fn nothing_speaks_tls(f: &Failure) -> bool {
    matches!(
        f,
        Failure::Tls {
            problem: TlsProblem::NotTls,
            ..
        } | Failure::Unreachable { .. }
    )
}

/// What the credential sends, by the kind of credential.
enum Credentials<'a> {
    /// Username and password (or token): HTTP Basic, also to the token service.
    Basic(Secret),
    /// docker's identity token: only the OAuth2 refresh-token grant at a token service.
    IdentityToken(&'a Secret),
}

impl<'a> Credentials<'a> {
    fn new(username: &str, secret: &'a Secret) -> Credentials<'a> {
        if username == IDENTITY_TOKEN_USER {
            return Credentials::IdentityToken(secret);
        }
        let pair = format!("{username}:{}", secret.expose());
        Credentials::Basic(Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )))
    }
}

/// The registry to check, after the same normalisation the store uses (scheme, case, `:443`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    scheme: &'static str,
    /// Whether the registry string said `http://` or `https://` itself.
    explicit_scheme: bool,
    /// `host[:port]`, lower-case, IPv6 in brackets, default port dropped: a [`host::Key`].
    authority: String,
}

impl Target {
    /// The registry string through [`host::normalize`] (the store's own rules, so `verify`
    /// checks exactly the registry a credential is saved for), plus the scheme to use:
    /// `http` only when written, else `https`.
    fn parse(input: &str) -> Result<Target, Failure> {
        let bad = |why: &str| Failure::BadInput {
            detail: format!(
                "{:?} is not a registry host ({why}): give host[:port], optionally with https://",
                truncate(&host::redacted(input.trim()), 100)
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
        let written = |scheme: &str| {
            s.get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
        };
        let scheme = if written("http://") { "http" } else { "https" };
        let explicit_scheme = written("http://") || written("https://");
        if key.is_docker_hub() {
            return Ok(Target {
                scheme,
                explicit_scheme,
                authority: DOCKER_HUB_REGISTRY.to_string(),
            });
        }
        // The key drops https' default port; drop http's too.
        let authority = match key.as_str().strip_suffix(":80") {
            Some(bare) if scheme == "http" => bare.to_string(),
            _ => key.as_str().to_string(),
        };
        Ok(Target {
            scheme,
            explicit_scheme,
            authority,
        })
    }

    fn v2_url(&self) -> String {
        format!("{}://{}/v2/", self.scheme, self.authority)
    }

    fn is_loopback(&self) -> bool {
        Url::parse(&self.v2_url()).is_ok_and(|u| is_loopback_host(u.host()))
    }

    /// docker's rule for `127.0.0.0/8` registries: https, then plain http.
    fn may_fall_back(&self) -> bool {
        !self.explicit_scheme && self.is_loopback()
    }

    fn over_http(&self) -> Target {
        Target {
            scheme: "http",
            ..self.clone()
        }
    }
}

/// One attempt at the handshake against one `/v2/` URL.
struct Check<'a> {
    client: &'a Client,
    credentials: &'a Credentials<'a>,
    /// The registry's `/v2/` URL: ours, so it may be shown.
    v2: String,
    timeout: Duration,
    /// Any HTTP answer arrived (so something spoke TLS on an https attempt).
    responded: Cell<bool>,
    /// Learns the tokens obtained on the way, so they are scrubbed too.
    scrubber: &'a RefCell<Scrubber>,
}

impl Check<'_> {
    fn handshake(&self) -> Result<Accepted, Failure> {
        // 1. Anonymous: what does the registry want?
        let first = self.send(&self.request(&self.v2, None), &self.v2)?;
        if first.redirected_across_origin {
            return Err(self.protocol(
                "GET /v2/ was redirected to another server; check the registry host".into(),
            ));
        }
        match first.status {
            200..=299 => {
                if looks_like_html(&first) && !has_api_version(&first) {
                    return Err(self.not_a_registry("GET /v2/ answered with a web page".into()));
                }
                return Ok(self.accepted(AuthUsed::NoneNeeded));
            }
            401 => {}
            403 => {
                return Err(self.protocol(
                    "GET /v2/ answered 403 Forbidden before any credentials were sent (an IP allow-list or a proxy in the way?)".into(),
                ));
            }
            s => return Err(self.unexpected(s, &first)),
        }

        // 2. What it offers, and what this credential can do with it.
        let challenges = all_challenges(&first);
        let bearer = challenges
            .iter()
            .find(|c| c.scheme == "bearer" && c.param("realm").is_some());
        match (self.credentials, bearer) {
            (Credentials::IdentityToken(token), Some(bearer)) => self.identity(bearer, token),
            (Credentials::IdentityToken(_), None) => Err(self.protocol(format!(
                "this credential is an identity token (username {IDENTITY_TOKEN_USER}), which only a Bearer token service can take, but the registry offers {}",
                schemes(&challenges)
            ))),
            (Credentials::Basic(basic), Some(bearer)) => self.bearer(bearer, basic),
            (Credentials::Basic(basic), None) if challenges.iter().any(|c| c.scheme == "basic") => {
                self.authenticated_v2(basic, AuthUsed::Basic, "")
            }
            (Credentials::Basic(_), None) if challenges.is_empty() => Err(self.not_a_registry(
                "GET /v2/ answered 401 without a WWW-Authenticate challenge".into(),
            )),
            (Credentials::Basic(_), None) => Err(self.protocol(format!(
                "it asks for authentication this tool does not support ({}); only Basic and Bearer realm=… are supported",
                schemes(&challenges)
            ))),
        }
    }

    /// Basic auth at the token service, then the token at `/v2/`.
    fn bearer(&self, challenge: &Challenge, basic: &Secret) -> Result<Accepted, Failure> {
        let (realm, shown) = self.realm(challenge)?;
        let url = token::token_url(&realm, challenge.param("service"), &scopes(challenge));
        let resp = self.send(&self.request(&url, Some(basic)), &shown)?;
        let token = self.token_from(resp, &shown, false)?;
        let bearer = Secret::new(format!("Bearer {}", token.expose()));
        self.authenticated_v2(
            &bearer,
            AuthUsed::Bearer { realm: shown },
            "the token from the token service was refused: ",
        )
    }

    /// docker's OAuth2 refresh-token grant at the token service, then the token at `/v2/`.
    fn identity(&self, challenge: &Challenge, identity: &Secret) -> Result<Accepted, Failure> {
        let (realm, shown) = self.realm(challenge)?;
        let service = challenge.param("service").unwrap_or_default();
        let form = token::refresh_grant(identity, service, &scopes(challenge));
        let url = realm.full();
        let req = Request {
            method: Method::Post,
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: Some(form.expose().as_bytes()),
            ..self.request(&url, None)
        };
        let resp = self.send(&req, &shown)?;
        let token = self.token_from(resp, &shown, true)?;
        let bearer = Secret::new(format!("Bearer {}", token.expose()));
        self.authenticated_v2(
            &bearer,
            AuthUsed::IdentityToken { realm: shown },
            "the access token from the token service was refused: ",
        )
    }

    /// The realm as a URL, and how it may be shown: without its query. It was named before
    /// any credential was sent, so its path cannot have been made from one.
    fn realm(&self, challenge: &Challenge) -> Result<(Url, String), Failure> {
        let text = challenge.param("realm").unwrap_or_default();
        let realm = Url::parse(text).map_err(|_| {
            self.protocol(
                "its Bearer challenge names a token service that is not an http(s) URL".into(),
            )
        })?;
        let shown = realm.without_query();
        Ok((realm, shown))
    }

    /// The token of a token service's answer, or the failure it means. In the OAuth2 grant a
    /// refused token answers 400 (`invalid_grant`, RFC 6749 §5.2), so 400 is a rejection there.
    fn token_from(&self, resp: Response, shown: &str, oauth: bool) -> Result<Secret, Failure> {
        match resp.status {
            200..=299 => {}
            401 | 403 => return Err(self.rejected(shown, &resp)),
            400 if oauth => return Err(self.rejected(shown, &resp)),
            s @ 500..=599 => {
                return Err(Failure::Unreachable {
                    endpoint: shown.to_string(),
                    detail: format!("the token service answered HTTP {s} (a server error)"),
                });
            }
            s => {
                return Err(Failure::Protocol {
                    endpoint: shown.to_string(),
                    detail: format!("the token service answered HTTP {s}{}", self.said(&resp)),
                });
            }
        }
        if resp.redirected_across_origin {
            return Err(Failure::Protocol {
                endpoint: shown.to_string(),
                detail: "the token service redirected to another server, which answered without the credentials: they could not be checked".into(),
            });
        }
        let token = token::parse_token(&resp.body).ok_or_else(|| Failure::Protocol {
            endpoint: shown.to_string(),
            detail:
                "the token service answered without a token (no JSON \"token\" or \"access_token\")"
                    .into(),
        })?;
        self.scrubber.borrow_mut().add(token.expose());
        Ok(token)
    }

    /// `GET /v2/` with `auth`: the answer that decides.
    fn authenticated_v2(
        &self,
        auth: &Secret,
        used: AuthUsed,
        refused: &str,
    ) -> Result<Accepted, Failure> {
        let resp = self.send(&self.request(&self.v2, Some(auth)), &self.v2)?;
        match resp.status {
            200..=299 if resp.redirected_across_origin => Err(self.protocol(
                "the check was redirected to another server, which answered without the credentials: they could not be checked".into(),
            )),
            200..=299 => Ok(self.accepted(used)),
            401 | 403 => {
                let mut failure = self.rejected(&self.v2, &resp);
                if let Failure::Rejected { detail, .. } = &mut failure {
                    detail.insert_str(0, refused);
                }
                Err(failure)
            }
            s => Err(self.unexpected(s, &resp)),
        }
    }

    fn request<'r>(&self, url: &'r str, auth: Option<&'r Secret>) -> Request<'r> {
        Request {
            auth,
            max_body: MAX_BODY,
            ..Request::get(url)
        }
    }

    /// Sends `req`; a transport failure names `shown` (our URL or an origin, never a URL a
    /// server chose after seeing the credentials).
    fn send(&self, req: &Request, shown: &str) -> Result<Response, Failure> {
        let resp = self
            .client
            .send(req)
            .map_err(|e| Failure::transport(shown, e, self.timeout))?;
        self.responded.set(true);
        Ok(resp)
    }

    fn accepted(&self, auth: AuthUsed) -> Accepted {
        Accepted {
            endpoint: self.v2.clone(),
            auth,
        }
    }

    fn rejected(&self, endpoint: &str, resp: &Response) -> Failure {
        Failure::Rejected {
            endpoint: endpoint.to_string(),
            detail: format!("HTTP {}{}", resp.status, self.said(resp)),
        }
    }

    fn protocol(&self, detail: String) -> Failure {
        Failure::Protocol {
            endpoint: self.v2.clone(),
            detail,
        }
    }

    fn not_a_registry(&self, detail: String) -> Failure {
        Failure::NotARegistry {
            endpoint: self.v2.clone(),
            detail,
        }
    }

    /// Any `/v2/` status the handshake did not expect.
    fn unexpected(&self, status: u16, resp: &Response) -> Failure {
        match status {
            500..=599 => Failure::Unreachable {
                endpoint: self.v2.clone(),
                detail: format!("the registry answered HTTP {status} (a server error)"),
            },
            301 | 302 | 303 | 307 | 308 if resp.header("location").is_some() => {
                self.protocol(format!("more than {MAX_REDIRECTS} redirects"))
            }
            300..=399 => self.protocol(format!("unexpected redirect {status}")),
            _ => self.not_a_registry(format!(
                "GET /v2/ answered HTTP {status}{}",
                self.said(resp)
            )),
        }
    }

    /// What the server said in its error body, made safe to print.
    fn said(&self, resp: &Response) -> String {
        server_message(&resp.body, &self.scrubber.borrow())
    }
}

/// A challenge's `scope`: space-separated, as distribution sends it.
fn scopes(challenge: &Challenge) -> Vec<&str> {
    challenge
        .param("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

fn schemes(challenges: &[Challenge]) -> String {
    let names: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
    if names.is_empty() {
        "no challenge".into()
    } else {
        names.join(", ")
    }
}

fn looks_like_html(resp: &Response) -> bool {
    resp.header("content-type")
        .is_some_and(|v| v.to_ascii_lowercase().contains("html"))
}

fn has_api_version(resp: &Response) -> bool {
    resp.header("docker-distribution-api-version")
        .is_some_and(|v| v.starts_with("registry/2"))
}
