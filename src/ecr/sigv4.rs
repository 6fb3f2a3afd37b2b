//! AWS Signature Version 4, header form (`Authorization: AWS4-HMAC-SHA256 …`), written out
//! by hand from AWS's description of the algorithm.
//!
//! Why by hand: the one call that needs it (`GetAuthorizationToken`) sits on the `get` path,
//! which must stay as lean as starting a process (SPEC §8). An AWS SDK brings an async runtime,
//! a credential-provider chain that reads files and the instance metadata service, and
//! hundreds of crates; the algorithm itself is four SHA-256/HMAC steps over strings. The
//! published test suite (`testdata/sigv4/`, run by the tests below) pins every step.
//!
//! General on purpose — any method, path, query, headers and payload — so the published
//! vectors test the same code ECR uses rather than a special case of it.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// The only algorithm this module speaks.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The key pair (and, for temporary credentials, the session token) a request is signed with.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a Secret,
    /// Sent and signed as `X-Amz-Security-Token` when present.
    pub session_token: Option<&'a Secret>,
}

/// Where the signature is valid: region and service name, e.g. `us-east-1` / `ecr`.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// The parts of an HTTP request that are signed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path exactly as it goes on the wire (`/` at least).
    pub path: &'a str,
    /// The query string without `?`, exactly as it goes on the wire (may be empty).
    pub query: &'a str,
    /// Every header to sign, `Host` included, in any case and order; a name given more than
    /// once is signed as its values joined by `,`, as HTTP folds them. Never `X-Amz-Date` or
    /// `X-Amz-Security-Token`: [`sign`] adds those itself.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// What [`sign`] produces: the headers to add to the request, and the intermediate strings
/// (no secret in them) that tests and the test server compare.
#[derive(Clone)]
pub struct Signed {
    /// The `X-Amz-Date` header value, `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    /// The `Authorization` header value.
    pub authorization: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

impl Signed {
    /// The headers to add to the request, in the order AWS's own SDKs send them.
    pub fn headers<'a>(&'a self, creds: &Credentials<'a>) -> Vec<(&'static str, &'a str)> {
        let mut out = vec![("X-Amz-Date", self.amz_date.as_str())];
        if let Some(token) = creds.session_token {
            out.push(("X-Amz-Security-Token", token.expose()));
        }
        out.push(("Authorization", self.authorization.as_str()));
        out
    }
}

/// The signature is a bearer credential for a few minutes: keep it out of `Debug`.
impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("amz_date", &self.amz_date)
            .field("authorization", &"REDACTED")
            .finish_non_exhaustive()
    }
}

/// Signs `req` for `scope` at time `at`.
pub fn sign(req: &Request, creds: &Credentials, scope: &Scope, at: SystemTime) -> Signed {
    let amz_date = amz_date(at);
    let date = &amz_date[..8];
    let mut headers: Vec<(&str, &str)> = req.headers.to_vec();
    headers.push(("x-amz-date", &amz_date));
    if let Some(token) = creds.session_token {
        headers.push(("x-amz-security-token", token.expose()));
    }
    let (canonical_headers, signed_headers) = canonical_headers(&headers);
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        hex(&Sha256::digest(req.body)),
    );
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(creds.secret_access_key, date, scope.region, scope.service);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key_id
    );
    Signed {
        amz_date,
        authorization,
        canonical_request,
        string_to_sign,
    }
}

/// The derived signing key: HMAC chained over date, region, service and `aws4_request`,
/// starting from `AWS4` + the secret access key.
pub fn signing_key(secret: &Secret, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_secret = format!("AWS4{}", secret.expose());
    let k_date = hmac(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// `YYYYMMDDTHHMMSSZ` in UTC. Times before 1970 sign as 1970 (no real clock is there).
pub fn amz_date(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d, hh, mm, ss) = crate::credential::utc(secs);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// Lower-cased names, sorted; values trimmed with inner runs of whitespace collapsed to one
/// space; repeated names joined by `,` in the order given.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => merged.push((name, value)),
        }
    }
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical = merged
        .iter()
        .map(|(n, v)| format!("{n}:{v}\n"))
        .collect::<String>();
    let signed = merged
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// The path with `.`/`..` segments resolved and empty segments dropped (every service but S3
/// normalises), then URI-encoded once more — so a `%20` on the wire is signed as `%2520`, as
/// AWS expects.
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut out = String::from("/");
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        uri_encode_into(seg.as_bytes(), &mut out);
    }
    if trailing && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// Each `name=value` pair percent-decoded then encoded the one canonical way, sorted by name
/// then value; a pair without `=` has an empty value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k)),
                uri_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn uri_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    uri_encode_into(bytes, &mut out);
    out
}

/// RFC 3986 unreserved characters stay, every other byte is `%XX` (upper-case hex).
fn uri_encode_into(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(DIGITS[usize::from(b >> 4)] as char);
            out.push(DIGITS[usize::from(b & 15)] as char);
        }
    }
}

/// `%XX` to its byte; a `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (bytes[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
