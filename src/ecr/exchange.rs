//! One `GetAuthorizationToken` exchange: a signed AWS JSON 1.1 call, its answer decoded, and
//! every way it can fail told in one line that says what to do.
//!
//! Bounded by [`TIMEOUT`] in total, retries included: docker waits on `get`, and a hung
//! endpoint must become an error, never a hang. Throttling, 5xx answers and refused
//! connections are retried (as the AWS SDKs' standard retry mode does) while the budget lasts;
//! rejected keys are not. No message ever holds the secret access key, the signature or the
//! token, and none is the not-found line: a failed exchange must not make docker carry on
//! anonymously.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::Value;

use super::Registry;
use super::endpoint::{Endpoint, EndpointError, Source};
use super::sigv4;
use crate::http;
use crate::secret::Secret;

/// The whole exchange, retries included, ends within this.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The user name a registry token is served with.
pub const USERNAME: &str = "AWS";

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const SERVICE: &str = "ecr";
/// ECR's answer is a few KiB (one token and its expiry).
const MAX_ANSWER: u64 = 256 * 1024;
/// The SDKs' standard retry mode: three attempts.
const ATTEMPTS: u32 = 3;
/// First back-off; doubled per retry, with jitter.
const BACKOFF: Duration = Duration::from_millis(250);
/// A retry is not started with less than this left of the budget.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);
/// Server text quoted in a message is cut to this many characters.
const MAX_QUOTE: usize = 300;

/// A registry token, as ECR hands it out for the key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The password to serve with [`USERNAME`]: `authorizationToken` decoded, `AWS:` removed.
    pub token: Secret,
    /// When ECR stops accepting it, in Unix seconds (`expiresAt`, rounded down).
    pub expires_at: i64,
}

/// Why a key pair was refused, each with its own advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `UnrecognizedClientException`, `InvalidClientTokenId`: no such (active) access key.
    UnknownKey,
    /// `InvalidSignatureException`, `SignatureDoesNotMatch`: the secret does not match the id.
    WrongSecret,
    /// `Signature expired` / `not yet current`, `RequestExpired`: this machine's clock is off.
    Clock,
    /// `AccessDeniedException`: the key's IAM user may not call `ecr:GetAuthorizationToken`.
    NotAllowed,
    /// `Credential should be scoped to …`: the endpoint serves another region (or is not ECR).
    Scope,
    /// Any other 4xx answer.
    Other,
}

/// What ECR answered when it refused a key pair, and for which registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub registry: String,
    pub endpoint: String,
    pub key_id: String,
    pub status: u16,
    /// The error type, e.g. `UnrecognizedClientException`.
    pub code: String,
    /// ECR's message, one line (empty where it would be many).
    pub detail: String,
}

/// A failed exchange. Each renders as one line saying what happened and what to do; none
/// holds the secret access key, the signature or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("{}", rejected(*reason, refusal))]
    Rejected {
        reason: Rejection,
        refusal: Box<Refusal>,
    },
    #[error(
        "Amazon ECR is throttling GetAuthorizationToken for {registry} ({code}): try again in a \
         few seconds; if many machines share this key pair, give them keys of their own"
    )]
    Throttled { registry: String, code: String },
    #[error(
        "cannot reach Amazon ECR at {endpoint} ({detail}): check the network, proxy and DNS{}",
        hint_variable(*.from)
    )]
    Unreachable {
        endpoint: String,
        from: Source,
        detail: String,
    },
    #[error(
        "Amazon ECR at {endpoint} did not answer within {} s: check the network and try again{}",
        TIMEOUT.as_secs(), hint_variable(*.from)
    )]
    TimedOut { endpoint: String, from: Source },
    #[error(
        "Amazon ECR at {endpoint} failed with HTTP {status}{}{}: try again in a minute (AWS \
         outages: https://health.aws.amazon.com)",
        code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
        request_id.as_deref().map(|r| format!(", request id {r}")).unwrap_or_default()
    )]
    Server {
        endpoint: String,
        status: u16,
        code: Option<String>,
        request_id: Option<String>,
    },
    #[error(
        "the answer of {endpoint} is not an ECR authorization token ({detail}): {}",
        match from {
            Source::Region => "try again; if it persists, report it".to_string(),
            Source::Variable(var) => format!("check that {var} points at Amazon ECR"),
        }
    )]
    Malformed {
        endpoint: String,
        from: Source,
        detail: String,
    },
}

impl ExchangeError {
    /// Whether trying again later may work without changing anything (throttling, outages,
    /// network trouble) — the cases where a token still cached may be served instead.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ExchangeError::Throttled { .. }
                | ExchangeError::Unreachable { .. }
                | ExchangeError::TimedOut { .. }
                | ExchangeError::Server { .. }
        )
    }
}

fn rejected(reason: Rejection, refusal: &Refusal) -> String {
    let Refusal {
        registry,
        endpoint,
        key_id,
        status,
        code,
        detail,
    } = refusal;
    let save_again = "save the current key pair again (docker-credential-northflank add … \
                      --provider ecr --username ACCESS_KEY_ID --password-stdin)";
    match reason {
        Rejection::UnknownKey => format!(
            "Amazon ECR does not know the access key id {key_id} saved for {registry} ({code}): \
             it was deleted, deactivated or mistyped; create an access key for the IAM user and \
             {save_again}"
        ),
        Rejection::WrongSecret => format!(
            "Amazon ECR rejected the signature made with access key {key_id} for {registry} \
             ({code}): the saved secret access key is not the one of this access key id; \
             {save_again}"
        ),
        Rejection::Clock => format!(
            "Amazon ECR refused the request for {registry} because this machine's clock is off \
             ({detail}): set the clock right (NTP) and try again"
        ),
        Rejection::NotAllowed => format!(
            "the IAM user of access key {key_id} may not get a token for {registry} ({code}: \
             {detail}): attach a policy that allows ecr:GetAuthorizationToken (and pulls), e.g. \
             AmazonEC2ContainerRegistryReadOnly"
        ),
        Rejection::Scope => format!(
            "Amazon ECR at {endpoint} does not serve {registry}'s region ({detail}): point the \
             endpoint variable (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL) at that region, or unset it"
        ),
        Rejection::Other => format!(
            "Amazon ECR refused GetAuthorizationToken for {registry} with access key {key_id} \
             (HTTP {status} {code}{}): check the saved key pair",
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        ),
    }
}

fn hint_variable(from: Source) -> String {
    match from {
        Source::Region => String::new(),
        Source::Variable(var) => format!(" (the endpoint is set by {var})"),
    }
}

/// Exchanges the access key pair for a registry token with `GetAuthorizationToken`.
///
/// `now` is the time the request is signed with (the wall clock, outside tests); the whole
/// call, retries included, is bounded by [`TIMEOUT`].
pub fn exchange(
    reg: &Registry,
    endpoint: &Endpoint,
    key_id: &str,
    secret_key: &Secret,
    now: SystemTime,
) -> Result<Token, ExchangeError> {
    exchange_until(
        reg,
        endpoint,
        key_id,
        secret_key,
        now,
        Instant::now() + TIMEOUT,
    )
}

/// [`exchange`], ending by `deadline` instead: a `get` that waited for another one's
/// exchange has only what is left of its own [`TIMEOUT`]. A deadline already past is a
/// timeout, with no request sent.
pub fn exchange_until(
    reg: &Registry,
    endpoint: &Endpoint,
    key_id: &str,
    secret_key: &Secret,
    now: SystemTime,
    deadline: Instant,
) -> Result<Token, ExchangeError> {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        let at = now + started.elapsed();
        let result = attempt_once(reg, endpoint, key_id, secret_key, at, deadline);
        match result {
            Err(e) if retryable(&e) && attempt + 1 < ATTEMPTS => {
                let pause = backoff(attempt);
                if Instant::now() + pause + MIN_ATTEMPT > deadline {
                    return Err(e);
                }
                std::thread::sleep(pause);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Throttling, 5xx and connection failures; a timeout has used the budget up already.
fn retryable(e: &ExchangeError) -> bool {
    matches!(
        e,
        ExchangeError::Throttled { .. }
            | ExchangeError::Server { .. }
            | ExchangeError::Unreachable { .. }
    )
}

/// `BACKOFF · 2^attempt`, between half and all of it ("equal jitter"), so parallel clients
/// that were throttled together do not come back together.
fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF * 2u32.pow(attempt);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    full / 2 + full.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

/// What messages need to know about the call.
struct Call<'a> {
    registry: String,
    endpoint: &'a Endpoint,
    key_id: &'a str,
    /// Never quoted back: a server could echo the secret or the signature.
    hidden: [&'a str; 2],
}

impl Call<'_> {
    fn endpoint(&self) -> String {
        self.endpoint.url().to_string()
    }

    /// Server text fit for a message: one line, printable, bounded, nothing of `hidden`.
    fn quote(&self, text: &str) -> String {
        let mut s: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for h in self.hidden {
            if !h.is_empty() {
                s = s.replace(h, "…");
            }
        }
        if s.chars().count() > MAX_QUOTE {
            s = s.chars().take(MAX_QUOTE).collect::<String>() + "…";
        }
        s
    }

    fn malformed(&self, detail: &str) -> ExchangeError {
        ExchangeError::Malformed {
            endpoint: self.endpoint(),
            from: self.endpoint.source(),
            detail: detail.to_string(),
        }
    }
}

fn attempt_once(
    reg: &Registry,
    endpoint: &Endpoint,
    key_id: &str,
    secret_key: &Secret,
    at: SystemTime,
    deadline: Instant,
) -> Result<Token, ExchangeError> {
    let body = b"{}";
    let creds = sigv4::Credentials {
        access_key_id: key_id,
        secret_access_key: secret_key,
        session_token: None,
    };
    let signed_headers = [
        ("Content-Type", CONTENT_TYPE),
        ("Host", endpoint.authority()),
        ("X-Amz-Target", TARGET),
    ];
    let request = sigv4::Request {
        method: "POST",
        path: endpoint.path(),
        query: "",
        headers: &signed_headers,
        body,
    };
    let scope = sigv4::Scope {
        region: &reg.region,
        service: SERVICE,
    };
    let signed = sigv4::sign(&request, &creds, &scope, at);
    let signature = signed
        .authorization
        .rsplit("Signature=")
        .next()
        .unwrap_or_default();
    let call = Call {
        registry: reg.host(),
        endpoint,
        key_id,
        hidden: [secret_key.expose(), signature],
    };
    // The Authorization value travels as the transport's `auth`: never shown in an error, and
    // only ever sent to this origin.
    let authorization = Secret::new(signed.authorization.clone());
    let headers: Vec<(&str, &str)> = signed_headers
        .iter()
        .copied()
        .chain(signed.headers(&creds))
        .filter(|(name, _)| *name != "Authorization")
        .collect();
    let reply = send(endpoint, &headers, &authorization, body, deadline, &call)?;
    let now_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    interpret(reply.status, &reply.headers, &reply.body, &call, now_secs)
}

/// An HTTP answer, whatever its status.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn send(
    endpoint: &Endpoint,
    headers: &[(&str, &str)],
    authorization: &Secret,
    body: &[u8],
    deadline: Instant,
    call: &Call,
) -> Result<Reply, ExchangeError> {
    let unreachable = |e: http::Error| match e {
        http::Error::Timeout => ExchangeError::TimedOut {
            endpoint: call.endpoint(),
            from: endpoint.source(),
        },
        e => ExchangeError::Unreachable {
            endpoint: call.endpoint(),
            from: endpoint.source(),
            detail: call.quote(&e.to_string()),
        },
    };
    // The deadline is given to `send_by`, so the time spent here (reading the trusted
    // certificates) counts too.
    let client = http::Client::new(&http::Options {
        timeout: TIMEOUT,
        trust: http::Trust::default(),
        redirects: http::Redirects::Refuse,
        allow_http: http::AllowHttp::LoopbackOnly,
    })
    .map_err(unreachable)?;
    let response = client
        .send_by(
            &http::Request {
                method: http::Method::Post,
                url: endpoint.url(),
                headers,
                auth: Some(authorization),
                body: Some(body),
                max_body: MAX_ANSWER,
            },
            deadline,
        )
        .map_err(|e| match e {
            http::Error::BodyTooLarge(_) => call.malformed(&e.to_string()),
            e => unreachable(e),
        })?;
    Ok(Reply {
        status: response.status,
        headers: response.headers,
        body: response.body,
    })
}

/// Turns ECR's answer into a token or an error. AWS JSON 1.1: success is 200 with
/// `{"authorizationData":[{"authorizationToken","expiresAt","proxyEndpoint"}]}`; an error
/// names its type in `__type` (or the `x-amzn-ErrorType` header), with `message`.
fn interpret(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    call: &Call,
    now_secs: i64,
) -> Result<Token, ExchangeError> {
    if (200..300).contains(&status) {
        return decode_token(body, call, now_secs);
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let code = header("x-amzn-ErrorType")
        .or_else(|| json.get("__type").and_then(Value::as_str))
        .or_else(|| json.get("code").and_then(Value::as_str))
        .map(error_code)
        .filter(|c| !c.is_empty());
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| json.get(*k).and_then(Value::as_str))
        .map(|m| call.quote(m))
        .unwrap_or_default();
    let request_id = header("x-amzn-RequestId").map(|r| call.quote(r));
    let code_text = code.clone().unwrap_or_else(|| format!("HTTP {status}"));
    if status == 429 || code.as_deref().is_some_and(is_throttling) {
        return Err(ExchangeError::Throttled {
            registry: call.registry.clone(),
            code: code_text,
        });
    }
    if status >= 500 {
        return Err(ExchangeError::Server {
            endpoint: call.endpoint(),
            status,
            code,
            request_id,
        });
    }
    if code.is_none() && !(400..500).contains(&status) {
        return Err(call.malformed(&format!("HTTP {status}")));
    }
    let reason = rejection(code.as_deref().unwrap_or_default(), &message);
    Err(ExchangeError::Rejected {
        reason,
        refusal: Box::new(Refusal {
            registry: call.registry.clone(),
            endpoint: call.endpoint(),
            key_id: call.key_id.to_string(),
            status,
            code: code_text,
            // AWS's signature-mismatch text is the whole canonical request: not for one line.
            detail: if reason == Rejection::WrongSecret {
                String::new()
            } else {
                message
            },
        }),
    })
}

/// `aws.protocols#ThrottlingException:http://…` → `ThrottlingException`, as the Smithy
/// JSON protocols say clients must read it.
fn error_code(raw: &str) -> String {
    let no_uri = raw.split(':').next().unwrap_or_default();
    no_uri
        .rsplit('#')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The error codes the AWS SDKs treat as throttling.
fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "RequestThrottled"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "EC2ThrottledException"
    )
}

fn rejection(code: &str, message: &str) -> Rejection {
    let clock = message.starts_with("Signature expired")
        || message.starts_with("Signature not yet current");
    let scope = message.starts_with("Credential should be scoped");
    match code {
        "RequestExpired" | "RequestTimeTooSkewed" | "RequestInTheFuture" => Rejection::Clock,
        "InvalidSignatureException" | "SignatureDoesNotMatch" if clock => Rejection::Clock,
        "InvalidSignatureException" | "SignatureDoesNotMatch" if scope => Rejection::Scope,
        "InvalidSignatureException" | "SignatureDoesNotMatch" => Rejection::WrongSecret,
        "UnrecognizedClientException" | "InvalidClientTokenId" | "InvalidAccessKeyId" => {
            Rejection::UnknownKey
        }
        "AccessDeniedException" | "AccessDenied" | "NotAuthorized" => Rejection::NotAllowed,
        _ => Rejection::Other,
    }
}

fn decode_token(body: &[u8], call: &Call, now_secs: i64) -> Result<Token, ExchangeError> {
    let json: Value = serde_json::from_slice(body).map_err(|_| call.malformed("not JSON"))?;
    let data = json
        .get("authorizationData")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .ok_or_else(|| call.malformed("no authorizationData"))?;
    let encoded = data
        .get("authorizationToken")
        .and_then(Value::as_str)
        .ok_or_else(|| call.malformed("no authorizationToken"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| call.malformed("authorizationToken is not base64 text"))?;
    let token = decoded
        .strip_prefix("AWS:")
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| call.malformed("authorizationToken is not AWS:<token>"))?;
    let expires_at = data
        .get("expiresAt")
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite() && *t > 0.0 && *t < 1e13)
        .ok_or_else(|| call.malformed("expiresAt is missing or not a time"))?
        .floor() as i64;
    if expires_at <= now_secs {
        return Err(call.malformed(&format!(
            "the token expired already: expiresAt {expires_at}, now {now_secs}"
        )));
    }
    Ok(Token {
        token: Secret::new(token),
        expires_at,
    })
}

#[cfg(test)]
mod tests;
