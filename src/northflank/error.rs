//! Why a sync could not run or finish, grouped by what the user does about it.
//!
//! Every message is one line that says what was wrong and what to do. Text that came from the
//! server is passed through [`one_line`] (control characters removed, bounded) and never
//! contains the token: the token never goes into a message, and [`scrub`] removes it from
//! anything the server echoes back.

use std::time::Duration;

/// A failed sync. The exit codes, for scripts ([`SyncError::exit_code`]):
///
/// | code | meaning | what to do |
/// |---|---|---|
/// | 1 | configuration: bad `--team`, a refused `NORTHFLANK_API_URL`, an unknown team | fix the flag or variable |
/// | 2 | the token: none found, unreadable login file, empty or over 64 KiB on stdin, rejected (401), missing permission (403) | give a valid token with the named permission |
/// | 3 | Northflank unreachable or failing (timeouts, connection errors, 5xx) after the retries | retry later; check the network / status page |
/// | 4 | rate limited (429 or `x-ratelimit-remaining: 0`) | rerun after the time given |
/// | 5 | an answer that is not the documented API (bad JSON, unexpected status, over the size limit), to the list or to one get | check `NORTHFLANK_API_URL`; report it |
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No usable token: none anywhere, an unreadable or malformed login file, an unknown
    /// context, an empty token. The text names the place and the fix.
    #[error("{0}")]
    Token(String),
    /// 401: the token is expired, revoked or mistyped.
    #[error(
        "Northflank rejected the token from {token_from}{detail}: it is expired, revoked or mistyped; \
         create an API token (Team or Organisation settings > API > Tokens) and pass it with --token-stdin, \
         NORTHFLANK_API_TOKEN or `northflank login`"
    )]
    Rejected { token_from: String, detail: String },
    /// 403: the token's role lacks a permission; `permission` is its name in Northflank's UI.
    #[error(
        "the token from {token_from} may not read {what} of {scope}{detail}: give its API role the permission \
         \"{permission}\"{hint}"
    )]
    Forbidden {
        token_from: String,
        what: &'static str,
        permission: &'static str,
        scope: String,
        detail: String,
        hint: &'static str,
    },
    /// 429, or the rate-limit headers said no request is left in this window.
    #[error("Northflank's API rate limit is reached{detail}: run sync again {}", retry_text(*.retry_after))]
    RateLimited {
        /// Seconds until the window resets (`x-ratelimit-reset`), when the server said.
        retry_after: Option<u64>,
        detail: String,
    },
    /// No answer: connection refused or reset, DNS, TLS, timeouts — after the retries.
    #[error("cannot reach the Northflank API at {url} ({detail}){}; check the network and NORTHFLANK_API_URL, then retry", attempts_text(*.attempts))]
    Unreachable {
        url: String,
        attempts: u32,
        detail: String,
    },
    /// 5xx after the retries.
    #[error("the Northflank API failed{detail}{}; retry later (status: https://status.northflank.com)", attempts_text(*.attempts))]
    Server {
        status: u16,
        attempts: u32,
        detail: String,
    },
    /// A flag or variable that cannot work: a bad team id, a refused API base, a team the
    /// token cannot see.
    #[error("{0}")]
    Config(String),
    /// The server answered something the documented API never does.
    #[error("{0}")]
    Answer(String),
}

impl SyncError {
    /// The process exit code: see the table on [`SyncError`].
    pub fn exit_code(&self) -> u8 {
        match self {
            SyncError::Config(_) => 1,
            SyncError::Token(_) | SyncError::Rejected { .. } | SyncError::Forbidden { .. } => 2,
            SyncError::Unreachable { .. } | SyncError::Server { .. } => 3,
            SyncError::RateLimited { .. } => 4,
            SyncError::Answer(_) => 5,
        }
    }

    /// A short stable word for `--json` output: `token`, `rate-limit`, …
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::Config(_) => "config",
            SyncError::Token(_) => "token",
            SyncError::Rejected { .. } => "token-rejected",
            SyncError::Forbidden { .. } => "permission",
            SyncError::Unreachable { .. } => "unreachable",
            SyncError::Server { .. } => "server",
            SyncError::RateLimited { .. } => "rate-limit",
            SyncError::Answer(_) => "answer",
        }
    }
}

fn attempts_text(attempts: u32) -> String {
    match attempts {
        0 | 1 => String::new(),
        n => format!(" after {n} attempts"),
    }
}

fn retry_text(seconds: Option<u64>) -> String {
    match seconds {
        None => "later (the default limit is 1,000 requests an hour)".to_string(),
        Some(s) => format!("in {}", human_duration(Duration::from_secs(s))),
    }
}

/// `45 s`, `12 min`, `1 h 5 min`: rounded up, so "retry in" is never too early.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s.div_ceil(60)),
        _ => {
            let m = s.div_ceil(60);
            match m % 60 {
                0 => format!("{} h", m / 60),
                r => format!("{} h {r} min", m / 60),
            }
        }
    }
}

/// Server-supplied text made safe for a one-line message: control characters and line
/// breaks become spaces, runs of spaces collapse, and at most `max` characters are kept.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut count = 0;
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if count > 0 {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= max {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// `text` with every occurrence of `secret` replaced, for server messages that might echo
/// what was sent. Secrets shorter than 8 characters are left alone: replacing them would
/// mangle ordinary words and reveal what the secret is.
pub fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < 8 {
        return text.to_string();
    }
    text.replace(secret, "REDACTED")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_per_class() {
        let s = String::new;
        let cases = [
            (SyncError::Config(s()), 1, "config"),
            (SyncError::Token(s()), 2, "token"),
            (
                SyncError::Rejected {
                    token_from: s(),
                    detail: s(),
                },
                2,
                "token-rejected",
            ),
            (
                SyncError::Forbidden {
                    token_from: s(),
                    what: "",
                    permission: "",
                    scope: s(),
                    detail: s(),
                    hint: "",
                },
                2,
                "permission",
            ),
            (
                SyncError::Unreachable {
                    url: s(),
                    attempts: 1,
                    detail: s(),
                },
                3,
                "unreachable",
            ),
            (
                SyncError::Server {
                    status: 500,
                    attempts: 3,
                    detail: s(),
                },
                3,
                "server",
            ),
            (
                SyncError::RateLimited {
                    retry_after: None,
                    detail: s(),
                },
                4,
                "rate-limit",
            ),
            (SyncError::Answer(s()), 5, "answer"),
        ];
        for (e, code, kind) in cases {
            assert_eq!((e.exit_code(), e.kind()), (code, kind), "{e:?}");
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = SyncError::RateLimited {
            retry_after: Some(754),
            detail: " (HTTP 429: Too many requests)".into(),
        };
        assert_eq!(
            e.to_string(),
            "Northflank's API rate limit is reached (HTTP 429: Too many requests): run sync again in 13 min"
        );
        let e = SyncError::Server {
            status: 503,
            attempts: 4,
            detail: " (HTTP 503: Service unavailable)".into(),
        };
        assert_eq!(
            e.to_string(),
            "the Northflank API failed (HTTP 503: Service unavailable) after 4 attempts; \
             retry later (status: https://status.northflank.com)"
        );
    }

    #[test]
    fn durations_round_up() {
        let cases = [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (61, "2 min"),
            (3600, "1 h"),
            (3601, "1 h 1 min"),
            (5400, "1 h 30 min"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::from_secs(secs)), want);
        }
        assert_eq!(human_duration(Duration::from_millis(1500)), "2 s");
    }

    #[test]
    fn server_text_is_one_safe_line() {
        let cases = [
            ("plain", 10, "plain"),
            ("a\nb\r\nc\u{1b}[31md", 20, "a b c [31md"),
            ("  lots   of\t\tspace  ", 20, "lots of space"),
            ("abcdefghij", 4, "abcd…"),
            ("", 5, ""),
            ("\u{0}\u{7f}", 5, ""),
        ];
        for (text, max, want) in cases {
            assert_eq!(one_line(text, max), want, "{text:?}");
        }
        assert_eq!(
            scrub("bad token eyJhbGciOi.x", "eyJhbGciOi.x"),
            "bad token REDACTED"
        );
        assert_eq!(scrub("a short one", "a"), "a short one");
    }
}
