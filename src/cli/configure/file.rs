//! One config file (docker's `config.json`, containers' `auth.json`): read it safely, parse it
//! keeping every key in order, render it the way docker writes it, and write it back.
//!
//! Why re-render instead of editing bytes in place: docker itself rewrites `config.json` on
//! every `docker login` (`configfile.SaveToWriter`: `json.MarshalIndent(cfg, "", "\t")`, no
//! final newline) and podman rewrites `auth.json` the same way (containers/image
//! `modifyJSON`), so the file's layout is theirs, not the user's. [`render`] produces exactly
//! that layout — tab indentation, `": "`, Go's HTML-safe escaping of `<`, `>`, `&`, U+2028
//! and U+2029 — while keeping what docker would drop: every key, in the file's order, with its
//! value. Two things of the file's own are kept as well: its line endings (a CRLF file stays
//! CRLF) and whether it ends with a newline.
//!
//! Duplicate keys: Go's decoder, which both tools use, keeps the **last** value of a key it
//! sees twice in an object, except that two top-level members for one map-typed field (two
//! `auths`, two `credHelpers`) are merged. So [`ConfigFile::helpers`] holds the last value of
//! each `credHelpers` key (what the tools use), [`ConfigFile::members`] every member as
//! written, and a file with a repeated top-level key is refused rather than half-merged.
//! Written back, a repeated key appears once, where it first appeared, with the value the
//! tools use — what the tools' own next save does too.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, Metadata};
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fsutil::{self, Follow, Keep};
use crate::jsonfmt;

/// The top-level key this command edits.
pub(super) const SECTION: &str = "credHelpers";

/// Largest config file read. Docker's and podman's hold a few entries; a bigger "config"
/// is something else (or `/dev/zero` behind a link, which [`fsutil::read_bounded`] refuses
/// anyway, being no regular file).
const MAX_CONFIG: u64 = 4 * 1024 * 1024;

/// One member of a JSON object: key and value.
pub(super) type Member = (String, Value);

/// A config file as read.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// `credHelpers` as the tools see it: for a key written twice, the last value. Values
    /// that are not strings show as `?`.
    pub helpers: BTreeMap<String, String>,
    /// `credHelpers` as written, in order, duplicates included.
    pub(super) members: Vec<Member>,
    /// The whole document, every key in the file's order.
    pub(super) doc: Map<String, Value>,
    /// The file's own line endings and final newline, kept when it is written back.
    pub(super) ends: LineEnds,
    /// The text as read, to tell whether rendering it changes its layout.
    pub(super) text: String,
    /// Mode and owner to give the new file.
    pub(super) meta: Option<Metadata>,
}

impl ConfigFile {
    /// An empty document, for a file that does not exist yet (laid out as docker creates one).
    pub(super) fn empty() -> ConfigFile {
        ConfigFile {
            helpers: BTreeMap::new(),
            members: Vec::new(),
            doc: Map::new(),
            ends: LineEnds::DOCKER,
            text: String::new(),
            meta: None,
        }
    }

    /// Whether writing `doc` back would change more than the members we edit: another
    /// indentation, escapes, duplicates, line layout. Shown in `--dry-run`.
    pub(super) fn is_relaid(&self) -> bool {
        !self.text.is_empty() && render(&self.doc, self.ends) != self.text
    }
}

/// How a file ends its lines, and whether its last line has an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LineEnds {
    pub(super) crlf: bool,
    pub(super) final_newline: bool,
}

impl LineEnds {
    /// What `docker login` writes: LF, no newline after the closing brace.
    pub(super) const DOCKER: LineEnds = LineEnds {
        crlf: false,
        final_newline: false,
    };

    fn of(text: &str) -> LineEnds {
        LineEnds {
            crlf: text.contains("\r\n"),
            final_newline: text.ends_with('\n'),
        }
    }
}

/// Reads and checks a config file; `None` if it does not exist. Errors name the file and the
/// fix (callers add what that means for them). A FIFO, a device or a directory at the path is an error, never a hang or an endless
/// read.
pub fn read(path: &Path) -> Result<Option<ConfigFile>> {
    let shown = path.display();
    let bytes = match fsutil::read_bounded(path, MAX_CONFIG, Follow::Yes) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(e) => {
            let fix = e
                .fix(path)
                .unwrap_or_else(|| "fix its permissions or move it away".to_string());
            return Err(Error::BadInput(format!(
                "cannot read {shown}: it {e}; {fix}"
            )));
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::BadInput(format!("{shown} is not UTF-8 text: fix it or move it away"))
    })?;
    let meta = fs::metadata(path).ok();
    if text.trim().is_empty() {
        // Docker reads an empty file as an empty config.
        return Ok(Some(ConfigFile {
            text,
            meta,
            ..ConfigFile::empty()
        }));
    }
    let (doc, members) = parse(&text).map_err(|why| Error::BadInput(format!("{shown} {why}")))?;
    let helpers = members
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("?").to_string()))
        .collect();
    Ok(Some(ConfigFile {
        helpers,
        members,
        doc,
        ends: LineEnds::of(&text),
        text,
        meta,
    }))
}

/// The document, and the members of its `credHelpers` with duplicates. The error completes
/// "PATH …" and says what to do. serde_json's messages give a position, never content (the
/// file may hold secrets).
fn parse(text: &str) -> Result<(Map<String, Value>, Vec<Member>), String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("is not valid JSON ({e}): fix it or move it away"))?;
    let Value::Object(doc) = value else {
        return Err("is not a JSON object: fix it or move it away".into());
    };
    match doc.get(SECTION) {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => {
            return Err(format!(
                "has a \"{SECTION}\" that is not an object: fix it by hand"
            ));
        }
    }
    // The text is valid JSON, so these two parses fail only on the shapes they look for.
    if let Some(key) = repeated_top_key(text.as_bytes()) {
        return Err(format!(
            "has the top-level key {key:?} twice: docker merges the two, this command would not; \
             merge them by hand"
        ));
    }
    let sections: Sections = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok((doc, sections.helpers.map(|m| m.0).unwrap_or_default()))
}

/// The first top-level key a JSON object text writes twice. serde_json keeps only the last
/// one, where docker (Go) merges two objects under one key: callers refuse such a file rather
/// than silently drop half of it.
pub fn repeated_top_key(text: &[u8]) -> Option<String> {
    let top: Members<IgnoredAny> = serde_json::from_slice(text).ok()?;
    top.repeated().map(str::to_string)
}

/// The one section read member by member.
#[derive(serde::Deserialize)]
struct Sections {
    #[serde(rename = "credHelpers")]
    helpers: Option<Members<Value>>,
}

/// An object's members in file order, duplicates included (a [`Map`] keeps one per key).
struct Members<T>(Vec<(String, T)>);

impl<T> Members<T> {
    fn repeated(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::new();
        self.0
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| !seen.insert(*k))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Members<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Each<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Each<T> {
            type Value = Members<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Each(PhantomData))
    }
}

/// `doc` as docker writes a config file (Go's `json.MarshalIndent(cfg, "", "\t")`), with the
/// file's own line ends.
pub(super) fn render(doc: &Map<String, Value>, ends: LineEnds) -> String {
    let mut text = jsonfmt::to_string(doc, jsonfmt::Layout::Indented("\t"), jsonfmt::go_html);
    if ends.final_newline {
        text.push('\n');
    }
    if ends.crlf {
        // A rendered document has line breaks only between tokens: strings escape theirs.
        text = text.replace('\n', "\r\n");
    }
    text
}

/// Replaces the file at `path` with `text`: atomically, through a symlink to its target (a
/// dotfiles link stays a link, as docker keeps it), with the old file's mode and owner, or
/// 0600 and a 0700 folder for a new one, as docker creates them.
pub(super) fn write(path: &Path, text: &str, old: Option<&Metadata>) -> io::Result<()> {
    let target = resolve_link(path)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        fsutil::private_dir(dir)
            .map_err(|e| io::Error::other(format!("{}: {e}", dir.display())))?;
    }
    let keep = old.map_or(Keep::Private, Keep::Like);
    fsutil::write_atomic(&target, text.as_bytes(), keep)
}

/// Where a write to `path` lands: the file a symlink points to (even a dangling one, as
/// docker allows), else `path` itself.
fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(path) {
            Ok(target) => Ok(target),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let to = fs::read_link(path)?;
                Ok(path.parent().map_or(to.clone(), |dir| dir.join(&to)))
            }
            Err(e) => Err(e),
        },
        _ => Ok(path.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Map<String, Value> {
        parse(text).unwrap().0
    }

    #[test]
    fn renders_as_go_marshal_indent_with_tabs() {
        let d = doc(
            r#"{"auths":{"a":{"auth":"x"}},"e":{},"l":[],"p":["x",1,true,null],"s":"<a&b>\u2028\u2029\u0001\b\f\n\"\\/é"}"#,
        );
        assert_eq!(
            render(&d, LineEnds::DOCKER),
            "{\n\t\"auths\": {\n\t\t\"a\": {\n\t\t\t\"auth\": \"x\"\n\t\t}\n\t},\n\t\"e\": {},\n\t\"l\": [],\n\t\"p\": [\n\t\t\"x\",\n\t\t1,\n\t\ttrue,\n\t\tnull\n\t],\n\t\"s\": \"\\u003ca\\u0026b\\u003e\\u2028\\u2029\\u0001\\b\\f\\n\\\"\\\\/é\"\n}"
        );
        assert_eq!(render(&Map::new(), LineEnds::DOCKER), "{}");
    }

    #[test]
    fn keeps_key_order_and_the_files_line_endings() {
        let text = "{\r\n  \"z\": 1,\r\n  \"a\": 2\r\n}\r\n";
        let (d, _) = parse(text).unwrap();
        let ends = LineEnds::of(text);
        assert_eq!(render(&d, ends), "{\r\n\t\"z\": 1,\r\n\t\"a\": 2\r\n}\r\n");
    }

    #[test]
    fn duplicates_are_seen_and_the_last_value_is_the_effective_one() {
        let (d, members) =
            parse(r#"{"credHelpers":{"h":"northflank","x":"a","h":"other"}}"#).unwrap();
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["h", "x", "h"]);
        assert_eq!(d["credHelpers"]["h"], "other");
        let err = parse(r#"{"auths":{"a":{}},"auths":{"b":{}}}"#).unwrap_err();
        assert!(err.contains("\"auths\" twice"), "{err}");
    }

    #[test]
    fn refuses_what_is_not_a_config_object() {
        for (text, want) in [
            ("{\"a\":", "is not valid JSON (EOF while parsing"),
            ("[]", "is not a JSON object"),
            (
                "{\"credHelpers\": []}",
                "\"credHelpers\" that is not an object",
            ),
            ("{\"a\":1} x", "is not valid JSON (trailing characters"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        assert!(parse("{\"credHelpers\": null}").unwrap().1.is_empty());
    }
}
