//! Where the Northflank API token and the API base come from (SPEC §9).
//!
//! The token, first found: `--token-stdin`, `--context NAME`, `NORTHFLANK_API_TOKEN`, the
//! current context of the official Northflank CLI's login file `~/.northflank/config.json`.
//! Never from argv (a token there is visible to every user through `ps`), never printed,
//! never saved. The API base: `NORTHFLANK_API_URL`, else the `host` of the context the token
//! came from, else `https://api.northflank.com`; plain `http://` only for loopback addresses,
//! refused before any connection is made, because the token would travel in the clear.
//!
//! Discovery reads the environment through an [`Env`] value, so tests never change the
//! process environment.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{SyncError, one_line};
use crate::fsutil::{self, Follow};
use crate::http;
use crate::secret::Secret;

/// The variable that holds a token (CI secrets).
pub const TOKEN_ENV: &str = "NORTHFLANK_API_TOKEN";
/// The variable that overrides the API base (a proxy, a test server).
pub const URL_ENV: &str = "NORTHFLANK_API_URL";
/// Northflank's API, as its own CLI and js-client use it.
pub const DEFAULT_BASE: &str = "https://api.northflank.com";
/// The official CLI's login file, relative to the home folder.
pub const LOGIN_FILE: &str = ".northflank/config.json";
/// A login file holds a few contexts; anything this large is not one.
const LOGIN_FILE_MAX: u64 = 1 << 20;

/// What discovery reads from the process: two variables and the home folder.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub api_token: Option<OsString>,
    pub api_url: Option<OsString>,
    pub home: Option<PathBuf>,
}

impl Env {
    /// The process's own environment: the variables, `HOME` (else the OS's home folder).
    pub fn from_process() -> Env {
        let nonempty = |v: OsString| (!v.is_empty()).then_some(v);
        Env {
            api_token: std::env::var_os(TOKEN_ENV),
            api_url: std::env::var_os(URL_ENV),
            home: std::env::var_os("HOME")
                .and_then(nonempty)
                .map(PathBuf::from)
                .or_else(std::env::home_dir),
        }
    }

    fn login_file(&self) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(LOGIN_FILE))
    }
}

/// Where the token came from, for messages ("the token from NORTHFLANK_API_TOKEN was
/// rejected"). Never holds the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFrom {
    Stdin,
    Env,
    /// A context of the login file; `current` when it was the file's current context.
    Context {
        name: String,
        file: PathBuf,
        current: bool,
    },
}

impl fmt::Display for TokenFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFrom::Stdin => f.write_str("--token-stdin"),
            TokenFrom::Env => f.write_str(TOKEN_ENV),
            TokenFrom::Context {
                name,
                file,
                current,
            } => {
                let which = if *current {
                    "current context"
                } else {
                    "context"
                };
                write!(f, "the {which} {name:?} of {}", file.display())
            }
        }
    }
}

/// The token to send and the API to send it to.
#[derive(Debug, Clone)]
pub struct Found {
    pub token: Secret,
    pub from: TokenFrom,
    pub base: Base,
}

/// An API base URL that passed the checks: `http://` or `https://`, no user info, query or
/// fragment, plain http only to a loopback host. No trailing slash, and no trailing `/v1`
/// (request paths start with `/v1/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    url: String,
    http: bool,
}

impl Base {
    /// Checks `text`, which came from `from` (a variable or a login file, for messages).
    pub fn parse(text: &str, from: &str) -> Result<Base, SyncError> {
        let bad = |why: &str| {
            SyncError::Config(format!(
                "the API base {:?} from {from} {why}",
                crate::host::redacted(&one_line(text, 200))
            ))
        };
        let t = text.trim();
        let url = http::Url::parse(t).map_err(|e| bad(&format!("is {e}")))?;
        if t.contains(['?', '#']) {
            return Err(bad(
                "has a query or fragment; give only scheme, host and port",
            ));
        }
        let http = url.scheme() == "http";
        if http && !http::is_loopback_host(url.host()) {
            return Err(bad(
                "uses plain http://, which would send the token unencrypted: use https:// \
                 (plain http is accepted only for loopback addresses: 127.0.0.0/8, ::1, localhost)",
            ));
        }
        let path = url.path_and_query().trim_end_matches('/');
        let path = path
            .strip_suffix("/v1")
            .unwrap_or(path)
            .trim_end_matches('/');
        Ok(Base {
            url: format!("{}{path}", url.origin()),
            http,
        })
    }

    /// The base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Whether this is plain http (then necessarily to a loopback host).
    pub fn is_http(&self) -> bool {
        self.http
    }
}

impl Default for Base {
    fn default() -> Self {
        Base {
            url: DEFAULT_BASE.to_string(),
            http: false,
        }
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Finds the token and the API base. `stdin` is what `--token-stdin` read (the CLI reads it
/// with a bound), `context` the value of `--context`.
pub fn discover(
    stdin: Option<&[u8]>,
    context: Option<&str>,
    env: &Env,
) -> Result<Found, SyncError> {
    let (token, from, host) = match (stdin, context) {
        (Some(_), Some(_)) => {
            return Err(SyncError::Config(
                "--token-stdin and --context are two ways to give the token: use one".into(),
            ));
        }
        (Some(bytes), None) => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                SyncError::Token("the token read by --token-stdin is not UTF-8 text".into())
            })?;
            (checked(text, &TokenFrom::Stdin)?, TokenFrom::Stdin, None)
        }
        (None, Some(name)) => from_login_file(env, Some(name))?,
        (None, None) => match &env.api_token {
            Some(raw) => {
                let text = raw.to_str().ok_or_else(|| {
                    SyncError::Token(format!(
                        "{TOKEN_ENV} is not valid UTF-8: set it to the API token"
                    ))
                })?;
                (checked(text, &TokenFrom::Env)?, TokenFrom::Env, None)
            }
            None => from_login_file(env, None)?,
        },
    };
    let base = match (&env.api_url, host) {
        (Some(url), _) if !url.is_empty() => Base::parse(&url.to_string_lossy(), URL_ENV)?,
        (_, Some((host, file))) => {
            Base::parse(&host, &format!("the login file {}", file.display()))?
        }
        _ => Base::default(),
    };
    Ok(Found { token, from, base })
}

/// The login file as the official CLI writes it (js-client `ApiClientFileContextProvider`):
/// `{"current": NAME, "contexts": [{"name", "token", "host", …}], …}`. Other fields are
/// ignored.
#[derive(Deserialize)]
struct LoginFile {
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    contexts: Vec<Context>,
}

#[derive(Deserialize)]
struct Context {
    name: String,
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default)]
    host: Option<String>,
}

type FromFile = (Secret, TokenFrom, Option<(String, PathBuf)>);

/// The token of the context `wanted` (else of the current one) of the login file, with the
/// context's host.
fn from_login_file(env: &Env, wanted: Option<&str>) -> Result<FromFile, SyncError> {
    let Some(path) = env.login_file() else {
        return Err(no_token(
            "there is no home folder (HOME) for a Northflank CLI login file",
        ));
    };
    let Some(file) = read_login_file(&path)? else {
        return Err(match wanted {
            Some(name) => SyncError::Token(format!(
                "--context {name:?} needs the Northflank CLI's login file {}, which does not exist: \
                 run `northflank login --name {name}` first",
                path.display()
            )),
            None => no_token(&format!("{} does not exist", path.display())),
        });
    };
    let name = match (wanted, file.current.as_deref()) {
        (Some(name), _) => name,
        (None, Some(current)) if !current.is_empty() => current,
        (None, _) => {
            return Err(no_token(&format!(
                "{} names no current context (`northflank context use NAME` sets one)",
                path.display()
            )));
        }
    };
    let Some(ctx) = file.contexts.iter().find(|c| c.name == name) else {
        let known: Vec<String> = file
            .contexts
            .iter()
            .map(|c| format!("{:?}", c.name))
            .collect();
        let known = if known.is_empty() {
            "it has none".to_string()
        } else {
            format!("known: {}", known.join(", "))
        };
        let which = if wanted.is_some() { "" } else { "current " };
        return Err(SyncError::Token(format!(
            "the {which}context {:?} is not in {} ({known}): pass --context with one of those, or run \
             `northflank login --name {}`",
            one_line(name, 60),
            path.display(),
            one_line(name, 60),
        )));
    };
    let from = TokenFrom::Context {
        name: ctx.name.clone(),
        file: path.clone(),
        current: wanted.is_none(),
    };
    let token = match &ctx.token {
        Some(t) => checked(t.expose(), &from)?,
        None => {
            return Err(SyncError::Token(format!(
                "{from} has no token: run `northflank login` again"
            )));
        }
    };
    let host = ctx
        .host
        .clone()
        .filter(|h| !h.trim().is_empty())
        .map(|h| (h, path));
    Ok((token, from, host))
}

fn read_login_file(path: &Path) -> Result<Option<LoginFile>, SyncError> {
    let bytes = match fsutil::read_bounded(path, LOGIN_FILE_MAX, Follow::Yes) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            let fix = e.fix(path).map(|f| format!(": {f}")).unwrap_or_default();
            return Err(SyncError::Token(format!(
                "the Northflank CLI login file {} {e}{fix}",
                path.display()
            )));
        }
    };
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    // Only the position of a JSON error is shown: serde's text can quote the file's values,
    // and one of them is a token.
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        SyncError::Token(format!(
            "the Northflank CLI login file {} is not valid (JSON {} at line {}, column {}): \
             run `northflank login` again, or pass the token with --token-stdin or {TOKEN_ENV}",
            path.display(),
            match e.classify() {
                serde_json::error::Category::Data => "of the wrong shape",
                _ => "syntax error",
            },
            e.line(),
            e.column()
        ))
    })
}

/// The token, trimmed, if it can go into an `Authorization` header: not empty, printable
/// ASCII only (a JWT is; a CR or LF would split the header).
fn checked(text: &str, from: &TokenFrom) -> Result<Secret, SyncError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(SyncError::Token(format!(
            "the token from {from} is empty: give the API token itself"
        )));
    }
    if !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SyncError::Token(format!(
            "the token from {from} contains spaces, control or non-ASCII characters: \
             give the API token alone (no `Bearer ` prefix, one line)"
        )));
    }
    Ok(Secret::new(t))
}

fn no_token(why: &str) -> SyncError {
    SyncError::Token(format!(
        "no Northflank API token: pipe one to --token-stdin, name a login context with --context NAME, \
         set {TOKEN_ENV}, or run `northflank login` ({why})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Home {
        dir: tempfile::TempDir,
    }

    impl Home {
        fn new(login_file: Option<&str>) -> Home {
            let dir = tempfile::tempdir().unwrap();
            if let Some(text) = login_file {
                std::fs::create_dir(dir.path().join(".northflank")).unwrap();
                std::fs::write(dir.path().join(LOGIN_FILE), text).unwrap();
            }
            Home { dir }
        }

        fn env(&self, token: Option<&str>, url: Option<&str>) -> Env {
            Env {
                api_token: token.map(OsString::from),
                api_url: url.map(OsString::from),
                home: Some(self.dir.path().to_path_buf()),
            }
        }

        fn file(&self) -> PathBuf {
            self.dir.path().join(LOGIN_FILE)
        }
    }

    const LOGIN: &str = r#"{
	"current": "work",
	"contexts": [
		{"name": "work", "token": "tok-work", "host": "https://api.northflank.com", "project": "p1"},
		{"name": "local", "token": "tok-local", "host": "http://127.0.0.1:8080/"},
		{"name": "empty", "token": ""},
		{"name": "nohost", "token": "tok-nohost"}
	],
	"lastUpdateCheck": "2026-01-01T00:00:00.000Z"
}"#;

    fn found(
        stdin: Option<&[u8]>,
        ctx: Option<&str>,
        env: &Env,
    ) -> Result<(String, TokenFrom, String), String> {
        discover(stdin, ctx, env)
            .map(|f| (f.token.expose().to_string(), f.from, f.base.to_string()))
            .map_err(|e| {
                assert_eq!(
                    e.exit_code(),
                    if matches!(e, SyncError::Config(_)) {
                        1
                    } else {
                        2
                    }
                );
                e.to_string()
            })
    }

    #[test]
    fn first_found_wins() {
        let home = Home::new(Some(LOGIN));
        let file = home.file();
        let ctx = |name: &str, current| TokenFrom::Context {
            name: name.into(),
            file: file.clone(),
            current,
        };
        let all = home.env(Some("tok-env"), None);
        assert_eq!(
            found(Some(b"tok-stdin\n"), None, &all),
            Ok(("tok-stdin".into(), TokenFrom::Stdin, DEFAULT_BASE.into()))
        );
        assert_eq!(
            found(None, Some("local"), &all),
            Ok((
                "tok-local".into(),
                ctx("local", false),
                "http://127.0.0.1:8080".into()
            ))
        );
        assert_eq!(
            found(None, None, &all),
            Ok(("tok-env".into(), TokenFrom::Env, DEFAULT_BASE.into()))
        );
        let no_env = home.env(None, None);
        assert_eq!(
            found(None, None, &no_env),
            Ok(("tok-work".into(), ctx("work", true), DEFAULT_BASE.into()))
        );
        assert_eq!(
            found(None, Some("nohost"), &no_env),
            Ok((
                "tok-nohost".into(),
                ctx("nohost", false),
                DEFAULT_BASE.into()
            ))
        );
    }

    #[test]
    fn api_url_overrides_the_context_host() {
        let home = Home::new(Some(LOGIN));
        let env = home.env(None, Some("https://nf.example.com:8443/v1/"));
        let (_, _, base) = found(None, Some("local"), &env).unwrap();
        assert_eq!(base, "https://nf.example.com:8443");
        // An empty variable is no override.
        let env = home.env(None, Some(""));
        let (_, _, base) = found(None, Some("local"), &env).unwrap();
        assert_eq!(base, "http://127.0.0.1:8080");
    }

    #[test]
    fn no_token_names_the_four_ways() {
        for home in [Home::new(None), Home::new(Some(r#"{"contexts":[]}"#))] {
            let err = found(None, None, &home.env(None, None)).unwrap_err();
            for way in [
                "--token-stdin",
                "--context NAME",
                TOKEN_ENV,
                "northflank login",
            ] {
                assert!(err.contains(way), "{err}");
            }
        }
        let err = found(None, None, &Env::default()).unwrap_err();
        assert!(
            err.contains("no Northflank API token") && err.contains("HOME"),
            "{err}"
        );
    }

    #[test]
    fn login_file_errors() {
        let home = Home::new(Some(LOGIN));
        let env = home.env(None, None);
        let err = found(None, Some("nope"), &env).unwrap_err();
        assert!(
            err.contains(r#"context "nope" is not in"#)
                && err.contains(r#"known: "work", "local", "empty", "nohost""#),
            "{err}"
        );
        let err = found(None, Some("empty"), &env).unwrap_err();
        assert!(err.contains("is empty"), "{err}");

        let dangling = Home::new(Some(
            r#"{"current":"gone","contexts":[{"name":"a","token":"t"}]}"#,
        ));
        let err = found(None, None, &dangling.env(None, None)).unwrap_err();
        assert!(err.contains(r#"current context "gone" is not in"#), "{err}");

        let missing = Home::new(None);
        let err = found(None, Some("work"), &missing.env(None, None)).unwrap_err();
        assert!(err.contains("northflank login --name work"), "{err}");

        let no_token = Home::new(Some(r#"{"current":"a","contexts":[{"name":"a"}]}"#));
        let err = found(None, None, &no_token.env(None, None)).unwrap_err();
        assert!(err.contains("has no token"), "{err}");
    }

    #[test]
    fn malformed_login_files_never_quote_values() {
        let cases = [
            r#"{"current":"a","contexts":[{"name":"a","token":12345678901}]}"#,
            r#"{"current":"a","contexts":{"name":"a"}}"#,
            r#"{"current":"a", "contexts": [{"name":"a","token":"secret-tok"#,
            "not json at all",
        ];
        for text in cases {
            let home = Home::new(Some(text));
            let err = found(None, None, &home.env(None, None)).unwrap_err();
            assert!(
                err.contains("is not valid (JSON") && err.contains("line 1"),
                "{err}"
            );
            assert!(
                !err.contains("12345678901") && !err.contains("secret-tok"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_login_file_that_is_a_folder_or_fifo_is_an_error_not_a_hang() {
        let home = Home::new(None);
        std::fs::create_dir_all(home.file()).unwrap();
        let err = found(None, None, &home.env(None, None)).unwrap_err();
        assert!(err.contains("is a directory, not a regular file"), "{err}");
        #[cfg(unix)]
        {
            let home = Home::new(None);
            std::fs::create_dir(home.dir.path().join(".northflank")).unwrap();
            rustix::fs::mkfifoat(
                rustix::fs::CWD,
                home.file(),
                rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            )
            .unwrap();
            let err = found(None, None, &home.env(None, None)).unwrap_err();
            assert!(err.contains("is a FIFO"), "{err}");
        }
    }

    #[test]
    fn bad_tokens_are_refused_without_showing_them() {
        let home = Home::new(None);
        let cases: &[(&[u8], &str)] = &[
            (b"", "is empty"),
            (b" \n", "is empty"),
            (b"Bearer abc.def", "no `Bearer ` prefix"),
            (b"abc\r\nX-Evil: 1", "control"),
            (b"t\xc3\xa9st", "non-ASCII"),
            (b"\xff\xfe", "not UTF-8"),
        ];
        for (bytes, want) in cases {
            let err = found(Some(bytes), None, &home.env(None, None)).unwrap_err();
            assert!(err.contains(want), "{bytes:?}: {err}");
            assert!(!err.contains("abc") && !err.contains("X-Evil"), "{err}");
        }
        let err = found(None, None, &home.env(Some(""), None)).unwrap_err();
        assert!(err.contains("NORTHFLANK_API_TOKEN is empty"), "{err}");
        let err = found(Some(b"t"), Some("work"), &home.env(None, None)).unwrap_err();
        assert!(err.contains("use one"), "{err}");
    }

    #[test]
    fn bases() {
        let ok = [
            (
                "https://api.northflank.com",
                "https://api.northflank.com",
                false,
            ),
            (
                "https://api.northflank.com/",
                "https://api.northflank.com",
                false,
            ),
            (
                "https://api.northflank.com/v1",
                "https://api.northflank.com",
                false,
            ),
            (
                "HTTPS://Proxy.example.com:443/northflank/",
                "https://proxy.example.com/northflank",
                false,
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080", true),
            ("http://127.9.9.9", "http://127.9.9.9", true),
            ("http://localhost:1234/", "http://localhost:1234", true),
            ("http://LOCALHOST", "http://localhost", true),
            ("http://[::1]:8080", "http://[::1]:8080", true),
        ];
        for (text, want, http) in ok {
            let b = Base::parse(text, "test").unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((b.as_str(), b.is_http()), (want, http), "{text}");
        }
        let bad = [
            ("http://api.northflank.com", "plain http://"),
            ("http://10.0.0.1:8080", "plain http://"),
            ("http://128.0.0.1", "plain http://"),
            ("http://localhost.evil.com", "plain http://"),
            ("http://[::2]:80", "plain http://"),
            ("http://127.0.0.1.nip.io", "plain http://"),
            ("api.northflank.com", "absolute http:// or https:// URL"),
            ("ftp://api.northflank.com", "only http:// and https://"),
            (
                "https://user:pw@api.northflank.com",
                "user name or password",
            ),
            ("https://api.northflank.com/?x=1", "query"),
            ("https:// api.northflank.com", "not a usable URL"),
            ("https://", "not a usable URL"),
        ];
        for (text, want) in bad {
            let e = Base::parse(text, "NORTHFLANK_API_URL").unwrap_err();
            assert_eq!(e.exit_code(), 1);
            let msg = e.to_string();
            assert!(
                msg.contains(want) && msg.contains("NORTHFLANK_API_URL"),
                "{text}: {msg}"
            );
            assert!(!msg.contains("pw@"), "{msg}");
        }
    }

    #[test]
    fn context_hosts_are_checked_too() {
        let home = Home::new(Some(
            r#"{"current":"a","contexts":[{"name":"a","token":"t","host":"http://nf.example.com"}]}"#,
        ));
        let err = found(None, None, &home.env(None, None)).unwrap_err();
        assert!(
            err.contains("plain http://") && err.contains("login file"),
            "{err}"
        );
    }
}
