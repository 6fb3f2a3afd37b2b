//! The conversation with Northflank's API (SPEC §9), over the crate's one transport,
//! [`crate::http`].
//!
//! [`fetch`] reads the whole list first (`per_page=100`, following `pagination.cursor` while
//! `hasNextPage`), then `GET`s each credential whose list `updatedAt` differs from the one
//! saved here — so an unchanged re-sync costs only the list requests. It is polite: a 429,
//! or `x-ratelimit-remaining: 0` before the next request, stops it with the time to wait;
//! 5xx answers and timeouts are retried a bounded number of times with doubling waits; every
//! request has a timeout of at most 30 s; redirects are not followed (the API does not
//! redirect, and the token must not go anywhere else).
//!
//! A failure while reading the list fails the fetch. A failure during the `GET`s stops it but
//! keeps what was fetched ([`Fetched::stopped`]), so the caller can save that much and a rerun
//! continues where this one stopped. A get answer that is not the API's (not its JSON, an
//! unexpected status) is never a reason to skip the credential — skipping would remove the
//! working copy of a credential Northflank still has — nor to stop at it: its copy is kept,
//! the other credentials are fetched (so one bad answer cannot hold back every later change,
//! narrowed restrictions included), and the first such error fails the sync at its end.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::error::{one_line, scrub};
use super::token::{Base, Found, TokenFrom};
use super::wire::{self, Listed};
use super::{Entry, Fetched, Requests, Scope, SyncError};
use crate::http;
use crate::secret::Secret;

/// Items per list page: the documented maximum.
pub const PER_PAGE: u32 = 100;
/// The longest any one request may take (SPEC §9).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// A page of 100 credentials is tens of KiB; a get answer with a keyfile a few.
const MAX_BODY: u64 = 4 << 20;
/// More pages than this (400,000 credentials) means the cursor never ends.
const MAX_PAGES: u32 = 4000;
/// The longest wait between two attempts, whatever the back-off or `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// What URL components keep as is: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// How requests are made.
#[derive(Debug, Clone)]
pub struct Options {
    /// Each request's whole time, connect to last byte; at most [`MAX_TIMEOUT`].
    pub timeout: Duration,
    /// Further attempts after a 5xx or a timeout.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub backoff: Duration,
    /// An extra CA file (`SSL_CERT_FILE`, for a proxy with a private CA), on top of Mozilla's
    /// roots and the system's store.
    pub ca_file: Option<PathBuf>,
}

impl Default for Options {
    /// 30 s per request, 3 retries after 1, 2 and 4 s.
    fn default() -> Self {
        Options {
            timeout: MAX_TIMEOUT,
            retries: 3,
            backoff: Duration::from_secs(1),
            ca_file: None,
        }
    }
}

/// A client for one token and one API base.
#[derive(Debug)]
pub struct Api {
    client: http::Client,
    base: Base,
    /// `Bearer <token>`: the whole `Authorization` value.
    auth: Secret,
    /// The token alone, to scrub from anything the server echoes.
    token: Secret,
    token_from: TokenFrom,
    opts: Options,
}

impl Api {
    pub fn new(found: &Found, opts: Options) -> Result<Api, SyncError> {
        // Plain http goes only to this machine and needs no certificates: reading the
        // system's store costs more than a whole small sync.
        let mut trust = if found.base.is_http() {
            http::Trust::mozilla_only()
        } else {
            http::Trust::default()
        };
        if let Some(path) = &opts.ca_file {
            trust = trust.with_ca_file(path, "SSL_CERT_FILE");
        }
        let client = http::Client::new(&http::Options {
            timeout: opts.timeout.min(MAX_TIMEOUT),
            trust,
            redirects: http::Redirects::Refuse,
            allow_http: http::AllowHttp::LoopbackOnly,
        })
        .map_err(|e| {
            SyncError::Config(format!("cannot set up the connection to Northflank: {e}"))
        })?;
        Ok(Api {
            client,
            base: found.base.clone(),
            auth: Secret::new(format!("Bearer {}", found.token.expose())),
            token: found.token.clone(),
            token_from: found.from.clone(),
            opts,
        })
    }

    pub fn base(&self) -> &Base {
        &self.base
    }

    /// `BASE/v1[/teams/ID]/integrations/registries`.
    fn registries(&self, scope: &Scope) -> String {
        match scope {
            Scope::Account => format!("{}/v1/integrations/registries", self.base),
            Scope::Team(t) => format!(
                "{}/v1/teams/{}/integrations/registries",
                self.base,
                utf8_percent_encode(t, UNRESERVED)
            ),
        }
    }
}

/// How far a fetch is, for a progress line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Credentials listed so far.
    pub listed: usize,
    /// Credentials that need a `GET` (known once the list is complete).
    pub to_fetch: usize,
    /// `GET`s done.
    pub fetched: usize,
}

/// Fetches the credentials of `scope`. `known` maps Northflank ids to the `updatedAt` saved
/// with them ([`super::plan::known`]): a listed credential with the same `updatedAt` is not
/// fetched again.
pub fn fetch(
    api: &Api,
    scope: &Scope,
    known: &HashMap<String, String>,
) -> Result<Fetched, SyncError> {
    fetch_with(api, scope, known, &mut |_| {})
}

/// [`fetch`], calling `progress` after every request.
pub fn fetch_with(
    api: &Api,
    scope: &Scope,
    known: &HashMap<String, String>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, SyncError> {
    let mut s = Session::new(api, scope);
    let listed = s.list(progress)?;
    let unchanged =
        |r: &wire::Remote| r.updated_at.is_some() && known.get(&r.id) == r.updated_at.as_ref();
    let mut done = Progress {
        listed: listed.len(),
        to_fetch: listed
            .iter()
            .filter(|l| matches!(l, Listed::Ok(r) if !unchanged(r)))
            .count(),
        fetched: 0,
    };
    progress(done);
    let mut entries = Vec::with_capacity(listed.len());
    let mut stopped = None;
    let mut unreadable = None;
    for item in listed {
        let r = match item {
            Listed::Bad { id, name, reason } => {
                entries.push(Entry::Skipped { id, name, reason });
                continue;
            }
            Listed::Ok(r) => r,
        };
        let (id, name) = (r.id.clone(), r.name.clone());
        if unchanged(&r) {
            entries.push(Entry::Unchanged { id, name });
            continue;
        }
        if stopped.is_some() {
            entries.push(Entry::NotFetched {
                id,
                name,
                unreadable: false,
            });
            continue;
        }
        let entry = match s.get(&r) {
            Ok(u) => Entry::Fetched(u),
            Err(Failed::Skip(reason)) => Entry::Skipped { id, name, reason },
            Err(Failed::Gone(reason)) => Entry::Gone { id, name, reason },
            // This one credential's answer: keep its copy, go on with the others.
            Err(Failed::Stop(e @ SyncError::Answer(_))) => {
                unreadable.get_or_insert(e);
                Entry::NotFetched {
                    id,
                    name,
                    unreadable: true,
                }
            }
            Err(Failed::Stop(e)) => {
                stopped = Some(e);
                Entry::NotFetched {
                    id,
                    name,
                    unreadable: false,
                }
            }
        };
        entries.push(entry);
        done.fetched += 1;
        progress(done);
    }
    Ok(Fetched {
        scope: scope.clone(),
        entries,
        requests: s.requests,
        stopped: stopped.or(unreadable),
    })
}

/// Why a request gave no usable answer.
enum Failed {
    /// The sync cannot go on.
    Stop(SyncError),
    /// Northflank's answer, read in full, says this credential cannot be mirrored.
    Skip(String),
    /// Northflank says it has no such credential (a 404 with its error body): deleted since
    /// it was listed.
    Gone(String),
}

/// Which endpoint a request is for: decides the permission a 403 names, and what a 404 means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call<'a> {
    List,
    /// The get of the credential with this id.
    Get(&'a str),
}

/// One fetch: the requests made and what the rate-limit headers said.
struct Session<'a> {
    api: &'a Api,
    scope: &'a Scope,
    requests: Requests,
    /// `x-ratelimit-remaining` of the last answer that had it.
    remaining: Option<u64>,
    /// When the rate-limit window resets, from `x-ratelimit-reset`.
    reset_at: Option<Instant>,
}

impl<'a> Session<'a> {
    fn new(api: &'a Api, scope: &'a Scope) -> Self {
        Session {
            api,
            scope,
            requests: Requests::default(),
            remaining: None,
            reset_at: None,
        }
    }

    /// Every page of the list.
    fn list(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<Vec<Listed>, SyncError> {
        let base = self.api.registries(self.scope);
        let mut items = Vec::new();
        let mut cursors = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{base}?per_page={PER_PAGE}");
            if let Some(c) = &cursor {
                url.push_str("&cursor=");
                url.extend(utf8_percent_encode(c, UNRESERVED));
            }
            let body = self.call(&url, Call::List).map_err(|f| match f {
                Failed::Stop(e) => e,
                Failed::Skip(why) | Failed::Gone(why) => SyncError::Answer(why),
            })?;
            let page = wire::parse_page(&body).map_err(|why| {
                SyncError::Answer(format!("{why}; is {} Northflank's API?", self.api.base))
            })?;
            items.extend(page.items);
            progress(Progress {
                listed: items.len(),
                ..Progress::default()
            });
            match page.next {
                None => return Ok(items),
                Some(next) => {
                    if !cursors.insert(next.clone()) || cursors.len() as u32 >= MAX_PAGES {
                        return Err(SyncError::Answer(format!(
                            "the list from {} does not end: its pagination cursor repeats",
                            self.api.base
                        )));
                    }
                    cursor = Some(next);
                }
            }
        }
    }

    /// One credential's get answer, converted.
    fn get(&mut self, listed: &wire::Remote) -> Result<super::Upstream, Failed> {
        let url = format!(
            "{}/{}",
            self.api.registries(self.scope),
            utf8_percent_encode(&listed.id, UNRESERVED)
        );
        let body = self.call(&url, Call::Get(&listed.id))?;
        // An answer this version cannot read says nothing about the credential: it stops the
        // sync (exit 5) and the copy here stays as it was.
        let unreadable = |why: String| {
            Failed::Stop(SyncError::Answer(format!(
                "{why}, for the credential {:?} ({}); is {} Northflank's API?",
                one_line(&listed.name, 80),
                one_line(&listed.id, 60),
                self.api.base
            )))
        };
        let got = wire::parse_get(&body).map_err(unreadable)?;
        if !got.id.is_empty() && got.id != listed.id {
            return Err(unreadable(format!(
                "the get answer is for another credential ({:?})",
                one_line(&got.id, 60)
            )));
        }
        wire::convert(listed, &got).map_err(Failed::Skip)
    }

    /// Sends one GET, retrying 5xx answers and timeouts; the body of a 200.
    fn call(&mut self, url: &str, call: Call) -> Result<Vec<u8>, Failed> {
        let headers = [
            ("accept", "application/json"),
            (
                "user-agent",
                concat!("docker-credential-northflank/", env!("CARGO_PKG_VERSION")),
            ),
        ];
        let req = http::Request {
            headers: &headers,
            auth: Some(&self.api.auth),
            max_body: MAX_BODY,
            ..http::Request::get(url)
        };
        let attempts = self.api.opts.retries + 1;
        let mut attempt = 0;
        loop {
            if let Some(e) = self.out_of_requests() {
                return Err(Failed::Stop(e));
            }
            attempt += 1;
            match call {
                Call::List => self.requests.list += 1,
                Call::Get(_) => self.requests.get += 1,
            }
            let (last, wait) = match self.api.client.send(&req) {
                Ok(resp) => {
                    self.note_rate_limit(&resp);
                    match resp.status {
                        200 => return Ok(resp.body),
                        500..=599 => (
                            SyncError::Server {
                                status: resp.status,
                                attempts: attempt,
                                detail: self.detail(&resp),
                            },
                            header_secs(&resp, "retry-after").map(Duration::from_secs),
                        ),
                        _ => return Err(self.refused(&resp, call)),
                    }
                }
                // Far more than any answer of the API: something else answered.
                Err(http::Error::BodyTooLarge(max)) => {
                    return Err(Failed::Stop(SyncError::Answer(format!(
                        "the answer from {} is too large (over {} MiB), which Northflank's API \
                         never sends: check NORTHFLANK_API_URL",
                        self.api.base,
                        max >> 20
                    ))));
                }
                Err(e) => {
                    let unreachable = SyncError::Unreachable {
                        url: self.api.base.to_string(),
                        attempts: attempt,
                        detail: e.to_string(),
                    };
                    let transient = matches!(
                        e,
                        http::Error::Timeout | http::Error::Closed(_) | http::Error::Refused
                    );
                    if !transient {
                        return Err(Failed::Stop(unreachable));
                    }
                    (unreachable, None)
                }
            };
            if attempt >= attempts {
                return Err(Failed::Stop(last));
            }
            let backoff = self
                .api
                .opts
                .backoff
                .saturating_mul(1 << (attempt - 1).min(16));
            std::thread::sleep(backoff.max(wait.unwrap_or_default()).min(MAX_WAIT));
        }
    }

    /// A 4xx (or a 3xx, 1xx…) answer as the failure it means.
    fn refused(&self, resp: &http::Response, call: Call) -> Failed {
        let token_from = self.api.token_from.to_string();
        let scope = self.scope.describe();
        Failed::Stop(match (resp.status, call) {
            (401, _) => SyncError::Rejected {
                token_from,
                detail: self.detail(resp),
            },
            (403, _) => SyncError::Forbidden {
                token_from,
                what: if call == Call::List {
                    "the registry credentials"
                } else {
                    "the secrets of the registry credentials"
                },
                permission: if call == Call::List {
                    "Account > Credentials > General > Read"
                } else {
                    "Account > Credentials > General > Read Encrypted"
                },
                scope,
                detail: self.detail(resp),
                hint: match self.scope {
                    Scope::Account => {
                        ", or pass --team ID (an organisation's token reads a team's credentials)"
                    }
                    Scope::Team(_) => ", and access to the team",
                },
            },
            (429, _) => SyncError::RateLimited {
                retry_after: self.retry_after(resp),
                detail: self.detail(resp),
            },
            // Only Northflank's own 404 (its error body) says the credential is gone: a
            // proxy's page must not remove copies.
            (404, Call::Get(_)) if self.error_message(resp).is_some() => {
                return Failed::Gone(format!(
                    "Northflank no longer has it, since it was listed{}",
                    self.detail(resp)
                ));
            }
            (404, Call::List) if matches!(self.scope, Scope::Team(_)) => {
                SyncError::Config(format!(
                    "Northflank has no {scope} that this token can see{}: check --team (the team's id, \
                 not its name)",
                    self.detail(resp)
                ))
            }
            (_, Call::List) => SyncError::Answer(format!(
                "{} answered{} where Northflank's API answers with the list of registry \
                 credentials: check NORTHFLANK_API_URL",
                self.api.base,
                self.detail(resp)
            )),
            (_, Call::Get(id)) => SyncError::Answer(format!(
                "{} answered{} where Northflank's API answers with the registry credential {}: \
                 check NORTHFLANK_API_URL",
                self.api.base,
                self.detail(resp),
                one_line(id, 60)
            )),
        })
    }

    /// ` (HTTP 403: <message>)`, the message taken from an error body
    /// `{"error":{"message"}}` as one safe line without the token; ` (HTTP 403)` without one.
    fn detail(&self, resp: &http::Response) -> String {
        match self.error_message(resp).filter(|m| !m.is_empty()) {
            Some(m) => format!(" (HTTP {}: {m})", resp.status),
            None => format!(" (HTTP {})", resp.status),
        }
    }

    /// The message of Northflank's error body `{"error":{"status","message"}}`, as one safe
    /// line without the token (empty when it has none); `None` when the body is not one.
    fn error_message(&self, resp: &http::Response) -> Option<String> {
        #[derive(Deserialize)]
        struct Body {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            #[serde(default)]
            message: Option<String>,
        }
        let body = serde_json::from_slice::<Body>(&resp.body).ok()?;
        Some(
            body.error
                .message
                .map(|m| one_line(&scrub(&m, self.api.token.expose()), 200))
                .unwrap_or_default(),
        )
    }

    fn note_rate_limit(&mut self, resp: &http::Response) {
        if let Some(remaining) = header_secs(resp, "x-ratelimit-remaining") {
            self.remaining = Some(remaining);
            self.reset_at = header_secs(resp, "x-ratelimit-reset")
                .map(|s| Instant::now() + Duration::from_secs(s));
        }
    }

    /// The rate-limit error, when the last answer said no request is left in this window.
    fn out_of_requests(&self) -> Option<SyncError> {
        if self.remaining != Some(0) {
            return None;
        }
        let retry_after = self.reset_at.map(|at| {
            let left = at.saturating_duration_since(Instant::now());
            left.as_secs() + u64::from(left.subsec_nanos() > 0)
        });
        Some(SyncError::RateLimited {
            retry_after,
            detail: " (x-ratelimit-remaining: 0)".into(),
        })
    }

    /// Seconds to wait after a 429: `x-ratelimit-reset`, else `Retry-After`.
    fn retry_after(&self, resp: &http::Response) -> Option<u64> {
        header_secs(resp, "x-ratelimit-reset").or_else(|| header_secs(resp, "retry-after"))
    }
}

/// A header holding a whole number of seconds (or a count).
fn header_secs(resp: &http::Response, name: &str) -> Option<u64> {
    resp.header(name)?.trim().parse().ok()
}
