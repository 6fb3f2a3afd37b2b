//! `configure --dry-run`: what would change in a config file, as a unified diff, with every
//! secret the file holds replaced first.
//!
//! The redaction works on the parsed document, not on lines: a docker config may keep base64
//! passwords in `auths`, tokens, `Authorization` headers, proxy URLs with a password, and any
//! of them could sit in a context line. Both sides are rendered from redacted copies, so the
//! diff cannot show a secret whatever the file's layout, and shows only what the edit changes
//! (the layout change, if any, is one note beside it).

use serde_json::{Map, Value};
use similar::TextDiff;

use super::file::{self, LineEnds, SECTION};

/// What stands in for a secret in the diff.
const REDACTED: &str = "REDACTED";

/// Members whose values are secrets, compared ignoring case as Go's decoder matches field
/// names: docker's `auths` entries (`auth`, `password`, `identitytoken`, `registrytoken`), an
/// `HttpHeaders` `Authorization`, and the usual names of tokens elsewhere.
const SECRET_KEYS: [&str; 9] = [
    "auth",
    "password",
    "identitytoken",
    "registrytoken",
    "authorization",
    "secret",
    "token",
    "access_token",
    "refresh_token",
];

/// Lines of context around each change.
const CONTEXT: usize = 2;

/// The diff from `before` to `after`, both redacted and rendered as docker writes them.
/// `before` is `None` for a file that does not exist yet.
pub fn diff(name: &str, before: Option<&Map<String, Value>>, after: &Map<String, Value>) -> String {
    let shown = |doc: &Map<String, Value>| {
        let mut text = file::render(&redacted(doc), LineEnds::DOCKER);
        text.push('\n');
        text
    };
    let (old, new) = (before.map(shown).unwrap_or_default(), shown(after));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(CONTEXT)
        .header(name, &format!("{name} (after)"))
        .to_string()
        .trim_end()
        .to_string()
}

/// A copy of `doc` with every secret replaced. `credHelpers` is left as it is: its values are
/// helper names and its keys hosts, the very lines the diff is about.
fn redacted(doc: &Map<String, Value>) -> Map<String, Value> {
    let mut copy = doc.clone();
    for (key, value) in copy.iter_mut() {
        if key != SECTION {
            redact(key, value);
        }
    }
    copy
}

fn redact(key: &str, value: &mut Value) {
    if SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) && !value.is_null() {
        *value = Value::String(REDACTED.into());
        return;
    }
    match value {
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| redact(k, v)),
        Value::Array(list) => list.iter_mut().for_each(|v| redact("", v)),
        Value::String(s) => {
            if let Some(clean) = without_password(s) {
                *s = clean;
            }
        }
        _ => {}
    }
}

/// `scheme://user:password@host…` with the password replaced (`proxies` URLs carry them).
fn without_password(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (user, _) = userinfo.split_once(':')?;
    Some(format!(
        "{scheme}://{user}:{REDACTED}{}",
        &rest[userinfo.len()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn shows_changes_with_two_lines_of_context() {
        let before = doc(serde_json::json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}));
        let mut after = before.clone();
        after.shift_remove("d");
        assert_eq!(
            diff("f", Some(&before), &after),
            "--- f\n+++ f (after)\n@@ -3,5 +3,4 @@\n \t\"b\": 2,\n \t\"c\": 3,\n-\t\"d\": 4,\n \t\"e\": 5,\n \t\"f\": 6"
        );
    }

    #[test]
    fn secrets_never_show_in_any_line() {
        let before = doc(serde_json::json!({
            "auths": {"a": {"auth": "c2VjcmV0", "Password": "pw", "identitytoken": {"x": "deep"}}},
            "HttpHeaders": {"Authorization": "Bearer tok"},
            "proxies": {"default": {"httpProxy": "http://u:prox-pw@proxy:3128/x"}},
            "credHelpers": {"token": "northflank"},
            "author": "me",
        }));
        let mut after = before.clone();
        after.insert("x".into(), Value::Bool(true));
        let text = diff("f", None, &after);
        for secret in ["c2VjcmV0", "\"pw\"", "deep", "Bearer", "prox-pw"] {
            assert!(!text.contains(secret), "{secret} in\n{text}");
        }
        for kept in [
            "\"author\": \"me\"",
            "\"token\": \"northflank\"",
            "http://u:REDACTED@proxy:3128/x",
        ] {
            assert!(text.contains(kept), "{kept} not in\n{text}");
        }
        assert_eq!(without_password("https://host/a@b"), None);
        assert_eq!(without_password("http://user@host"), None);
    }
}
