//! `WWW-Authenticate` (RFC 9110 §11.6.1): which schemes a registry offers and their parameters.
//!
//! Our own small parser rather than a crate: the maintained parsers follow the RFC grammar
//! strictly (`http-auth`) or are abandoned (`www-authenticate`, hyper 0.10), while registries
//! in the wild send unquoted URLs as values (`realm=https://…`), forget commas between
//! parameters, and put several challenges in one header. This one reads all of that, never
//! fails, and is table-tested below.

use crate::http::Response;

/// One challenge of a `WWW-Authenticate` header: the scheme (lower-case) and its parameters
/// (names lower-case, values unquoted and unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    pub(super) scheme: String,
    pub(super) params: Vec<(String, String)>,
}

impl Challenge {
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every challenge of every `WWW-Authenticate` header of an answer, in order.
pub(super) fn all_challenges(resp: &Response) -> Vec<Challenge> {
    resp.header_all("www-authenticate")
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
pub(super) fn parse_challenges(header: &str) -> Vec<Challenge> {
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
}
