//! The wire side of the credential-helper protocol: verbs, the JSON clients send and the
//! exact bytes Go's `credentials.Serve` answers with.
//!
//! Clients compare bytes, not meanings: the `get` answer is decoded case-sensitively by some
//! (the Rust `docker_credential` crate), and the not-found line is matched as a string. So the
//! output is written by hand here, escaped the way Go's `encoding/json` escapes (HTML-safe
//! `<>&`, U+2028/2029, `\b` `\f` short since Go 1.22, other controls as lower-case `\u00xx`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;
use crate::secret::Secret;

/// Largest stdin accepted. Go's scanner stops at 64 KiB lines; a GCR keyfile or a long token
/// can be bigger, so we take far more, but not without bound.
pub const MAX_INPUT: usize = 1024 * 1024;

/// One of the five protocol verbs, always the helper's only argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Store,
    Get,
    Erase,
    List,
    Version,
}

impl Verb {
    pub fn parse(arg: &str) -> Option<Verb> {
        Some(match arg {
            "store" => Verb::Store,
            "get" => Verb::Get,
            "erase" => Verb::Erase,
            "list" => Verb::List,
            // `credentials.Serve` answers `-v`/`--version` like `version`.
            "version" | "-v" | "--version" => Verb::Version,
            _ => return None,
        })
    }
}

/// What `store` receives: `{"ServerURL":…,"Username":…,"Secret":…}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub server_url: String,
    pub username: String,
    pub secret: Secret,
}

/// Turns `get`/`erase` stdin into the server string the way `Serve` does: lines joined, ends
/// trimmed. Unlike Go, a line break *inside* the string is kept, so that host validation can
/// refuse it instead of silently gluing two hosts together.
pub fn server_from_stdin(input: &[u8]) -> Result<String, Error> {
    let text = std::str::from_utf8(input).map_err(|_| {
        Error::BadInput(
            "the server address on stdin is not valid UTF-8; send a registry host such as ghcr.io"
                .into(),
        )
    })?;
    let server = text.trim();
    if server.is_empty() {
        return Err(Error::MissingServerUrl);
    }
    Ok(server.to_string())
}

/// `input` with every `\u` escape of a lone UTF-16 surrogate turned into `\ufffd`, as Go's
/// decoder reads it (Python's `json.dumps` writes such escapes for strings holding one, and
/// serde_json refuses them); `None` when there is none. Only called after a failed parse.
fn lone_surrogates_replaced(input: &[u8]) -> Option<Vec<u8>> {
    let unit = |at: usize| -> Option<u16> {
        let esc = input.get(at..at + 6)?;
        if esc[0] != b'\\' || esc[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&esc[2..]).ok()?, 16).ok()
    };
    let (mut out, mut i, mut in_string, mut changed) =
        (Vec::with_capacity(input.len()), 0, false, false);
    while i < input.len() {
        let b = input[i];
        if !in_string || b != b'\\' {
            in_string ^= b == b'"';
            out.push(b);
            i += 1;
            continue;
        }
        match unit(i) {
            Some(0xd800..=0xdbff) if matches!(unit(i + 6), Some(0xdc00..=0xdfff)) => {
                out.extend_from_slice(&input[i..i + 12]);
                i += 12;
            }
            Some(0xd800..=0xdfff) => {
                out.extend_from_slice(b"\\ufffd");
                changed = true;
                i += 6;
            }
            // Any other escape: both bytes as they are (so `\\` and `\"` never end a string).
            _ => {
                out.extend_from_slice(&input[i..(i + 2).min(input.len())]);
                i += 2;
            }
        }
    }
    changed.then_some(out)
}

/// Parses `store` input. Accepts what every client sends: Go's compact JSON with a trailing
/// newline, Python's spaced JSON with `\u` escapes and no newline. Like Go, field names match
/// case-insensitively, `null` counts as absent and bytes after the first JSON value are ignored.
pub fn parse_store(input: &[u8]) -> Result<Credentials, Error> {
    const HOW: &str = "send {\"ServerURL\":\"…\",\"Username\":\"…\",\"Secret\":\"…\"} on stdin";
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadInput(format!("no credentials on stdin: {HOW}")));
    }
    let first = |bytes: &[u8]| {
        serde_json::Deserializer::from_slice(bytes)
            .into_iter::<Value>()
            .next()
            .unwrap_or(Ok(Value::Null))
    };
    let value = first(input)
        .or_else(|e| match lone_surrogates_replaced(input) {
            Some(fixed) => first(&fixed),
            None => Err(e),
        })
        .map_err(|e| Error::BadInput(format!("invalid credentials JSON on stdin ({e}): {HOW}")))?;
    let Value::Object(map) = value else {
        return Err(Error::BadInput(format!(
            "credentials must be a JSON object, got {}: {HOW}",
            kind(&value)
        )));
    };
    let field = |name: &str| -> Result<String, Error> {
        // As Go decodes: every key that matches the field, exactly or ignoring case, sets it
        // in document order, so the last one wins.
        let found = map
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        match found {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(Error::BadInput(format!(
                "credentials field {name} must be a string, got {}: {HOW}",
                kind(other)
            ))),
        }
    };
    let creds = Credentials {
        server_url: field("ServerURL")?,
        username: field("Username")?,
        secret: Secret::new(field("Secret")?),
    };
    if creds.server_url.is_empty() {
        return Err(Error::MissingServerUrl);
    }
    if creds.username.is_empty() {
        return Err(Error::MissingUsername);
    }
    Ok(creds)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `get` answer: `{"ServerURL":…,"Username":…,"Secret":…}` + `\n`, in that order.
pub fn encode_get(server_url: &str, username: &str, secret: &Secret) -> String {
    let mut out =
        String::with_capacity(48 + server_url.len() + username.len() + secret.expose().len());
    out.push_str("{\"ServerURL\":");
    push_go_string(&mut out, server_url);
    out.push_str(",\"Username\":");
    push_go_string(&mut out, username);
    out.push_str(",\"Secret\":");
    push_go_string(&mut out, secret.expose());
    out.push_str("}\n");
    out
}

/// The `list` answer: server → username, keys sorted bytewise as Go sorts map keys; `{}` when
/// empty.
pub fn encode_list(entries: &BTreeMap<String, String>) -> String {
    let mut out = String::from("{");
    for (i, (server, username)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_go_string(&mut out, server);
        out.push(':');
        push_go_string(&mut out, username);
    }
    out.push_str("}\n");
    out
}

/// Appends `s` as a JSON string exactly as Go's `json.Encoder` (HTML escaping on) writes it.
pub fn push_go_string(out: &mut String, s: &str) {
    crate::jsonfmt::push_json_string(out, s, |c| matches!(c, '<' | '>' | '&'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(s: &str) -> String {
        let mut out = String::new();
        push_go_string(&mut out, s);
        out
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(go("<token>"), r#""\u003ctoken\u003e""#);
        assert_eq!(go("a&b"), r#""a\u0026b""#);
        assert_eq!(go("\u{2028}\u{2029}"), r#""\u2028\u2029""#);
        assert_eq!(go("\u{1b}\u{0}\u{1f}"), r#""\u001b\u0000\u001f""#);
        assert_eq!(go("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
        assert_eq!(go("q\"b\\"), r#""q\"b\\""#);
        assert_eq!(go("\u{7f}é😀/"), "\"\u{7f}é😀/\"");
    }

    #[test]
    fn get_answer_bytes() {
        assert_eq!(
            encode_get("ghcr.io", "<token>", &Secret::new("s")),
            "{\"ServerURL\":\"ghcr.io\",\"Username\":\"\\u003ctoken\\u003e\",\"Secret\":\"s\"}\n"
        );
    }

    #[test]
    fn list_answer_bytes() {
        assert_eq!(encode_list(&BTreeMap::new()), "{}\n");
        let m = BTreeMap::from([
            ("ghcr.io".to_string(), "bob".to_string()),
            (
                "https://index.docker.io/v1/".to_string(),
                "alice".to_string(),
            ),
            ("Z".to_string(), "z".to_string()),
        ]);
        assert_eq!(
            encode_list(&m),
            "{\"Z\":\"z\",\"ghcr.io\":\"bob\",\"https://index.docker.io/v1/\":\"alice\"}\n"
        );
    }

    #[test]
    fn store_input_shapes() {
        let go = br#"{"ServerURL":"ghcr.io","Username":"u","Secret":"p"}
"#;
        let py = br#"{"ServerURL": "ghcr.io", "Username": "\u00e9\ud83d\ude00", "Secret": "p"}"#;
        let c = parse_store(go).unwrap();
        assert_eq!(
            (
                c.server_url.as_str(),
                c.username.as_str(),
                c.secret.expose()
            ),
            ("ghcr.io", "u", "p")
        );
        assert_eq!(parse_store(py).unwrap().username, "é😀");
        let twice = br#"{"ServerURL":"x","Username":"first","USERNAME":"last"}"#;
        assert_eq!(parse_store(twice).unwrap().username, "last");
        let lower = br#"{"serverurl":"x","username":"u","secret":"","Extra":1} trailing"#;
        let c = parse_store(lower).unwrap();
        assert_eq!((c.server_url.as_str(), c.secret.expose()), ("x", ""));
    }

    #[test]
    fn store_input_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "no credentials on stdin"),
            (b"{", "invalid credentials JSON"),
            (b"[1]", "must be a JSON object, got an array"),
            (
                br#"{"ServerURL":"x","Username":5}"#,
                "Username must be a string, got a number",
            ),
            (
                br#"{"ServerURL":"","Username":"u"}"#,
                "no credentials server URL",
            ),
            (
                br#"{"ServerURL":"x","Username":null}"#,
                "no credentials username",
            ),
            (b"{\"ServerURL\":\"\xff\"}", "invalid credentials JSON"),
        ];
        for (input, want) in cases {
            let err = parse_store(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn lone_surrogates_decode_as_go_decodes_them() {
        let secret = |json_secret: &str| {
            let input =
                format!(r#"{{"ServerURL": "ex.com", "Username": "u", "Secret": "{json_secret}"}}"#);
            parse_store(input.as_bytes()).map(|c| c.secret.expose().to_string())
        };
        assert_eq!(secret(r"\ud800").unwrap(), "\u{fffd}");
        assert_eq!(secret(r"a\udc00b").unwrap(), "a\u{fffd}b");
        assert_eq!(secret(r"\ud800\u0041").unwrap(), "\u{fffd}A");
        assert_eq!(secret(r"\ud83d\ude00\ud800").unwrap(), "\u{1f600}\u{fffd}");
        assert_eq!(secret(r"\\ud800").unwrap(), "\\ud800");
        assert!(secret(r"\ud80").is_err(), "a short escape is still invalid");
    }

    #[test]
    fn server_string() {
        assert_eq!(server_from_stdin(b"ghcr.io\r\n").unwrap(), "ghcr.io");
        assert_eq!(server_from_stdin(b"a\nb").unwrap(), "a\nb");
        assert!(matches!(
            server_from_stdin(b" \n"),
            Err(Error::MissingServerUrl)
        ));
        assert!(matches!(
            server_from_stdin(b"\xff"),
            Err(Error::BadInput(_))
        ));
    }
}
