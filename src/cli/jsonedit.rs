//! In-place edits of one string map (`credHelpers`) inside a JSON config file, keeping every
//! other byte of the file as it was.
//!
//! Why not parse, change and re-serialise: `~/.docker/config.json` belongs to the user and to
//! docker. Re-serialising would re-indent it, re-order keys, and rewrite numbers and escapes in
//! entries we have no business touching, and the `--dry-run` diff would show all of it. Editing
//! spans keeps the diff to the lines we mean to change. The text is validated by `serde_json`
//! first, so the scanner here only has to find spans in a document known to be valid JSON; new
//! text copies the file's own indentation and separators, or docker's tab indentation for a
//! new file.

/// A member of a JSON object: byte offsets of its key string and its value.
#[derive(Debug, Clone)]
struct Member {
    key: String,
    key_start: usize,
    key_end: usize,
    value_start: usize,
    value_end: usize,
}

/// An object: the offsets of its braces and its members in order.
#[derive(Debug, Clone)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

struct Scanner<'a> {
    text: &'a str,
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", b as char, self.i))
        }
    }

    fn string(&mut self) -> Result<(), String> {
        self.expect(b'"')?;
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some(b'\\') => self.i += 2,
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => self.i += 1,
            }
        }
    }

    fn value(&mut self) -> Result<(), String> {
        match self.peek() {
            Some(b'{') => self.object().map(drop),
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.value()?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(format!("bad array at byte {}", self.i)),
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(_) => {
                let start = self.i;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.i += 1;
                }
                if self.i == start {
                    Err(format!("expected a value at byte {start}"))
                } else {
                    Ok(())
                }
            }
            None => Err("unexpected end".into()),
        }
    }

    fn object(&mut self) -> Result<Object, String> {
        let open = self.i;
        self.expect(b'{')?;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Object {
                open,
                close: self.i - 1,
                members,
            });
        }
        loop {
            self.ws();
            let key_start = self.i;
            self.string()?;
            let key_end = self.i;
            let key: String = serde_json::from_str(&self.text[key_start..key_end])
                .map_err(|e| format!("bad key at byte {key_start}: {e}"))?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let value_start = self.i;
            self.value()?;
            members.push(Member {
                key,
                key_start,
                key_end,
                value_start,
                value_end: self.i,
            });
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Object {
                        open,
                        close: self.i - 1,
                        members,
                    });
                }
                _ => return Err(format!("bad object at byte {}", self.i)),
            }
        }
    }
}

/// Parses a top-level object. Callers validate with `serde_json` first; this only finds spans.
fn top_object(text: &str) -> Result<Object, String> {
    let mut s = Scanner { text, i: 0 };
    s.ws();
    s.object()
}

/// The changes to make to one map of string values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Keys to set to a string value (added at the end, or replaced in place).
    pub set: Vec<(String, String)>,
    /// Keys to remove (every occurrence). The map itself goes when it ends up empty.
    pub remove: Vec<String>,
}

/// One replacement of `text[start..end]`.
type Splice = (usize, usize, String);

/// Applies `changes` to the string map at top-level key `section` of the JSON object `text`
/// (empty text counts as `{}`). Returns the new text; bytes outside the edited members are
/// unchanged. Errors say what is wrong with the file's shape.
pub fn edit(text: &str, section: &str, changes: &Changes) -> Result<String, String> {
    if changes.set.is_empty() && changes.remove.is_empty() {
        return Ok(text.to_string());
    }
    if text.trim().is_empty() {
        if changes.set.is_empty() {
            return Ok(text.to_string());
        }
        let body = render_map(&changes.set, Some(("\t", "\t")), ": ");
        return Ok(format!("{{\n\t{}: {body}\n}}\n", quote(section)));
    }
    let top = top_object(text)?;
    let style = Style::of(text, &top);
    let mut splices: Vec<Splice> = Vec::new();
    match top.members.iter().rposition(|m| m.key == section) {
        Some(idx) => {
            let m = &top.members[idx];
            let raw = &text[m.value_start..m.value_end];
            if raw == "null" {
                if !changes.set.is_empty() {
                    let indent = line_indent(text, m.key_start);
                    let body = render_map(&changes.set, style.nested(&indent), &style.colon);
                    splices.push((m.value_start, m.value_end, body));
                }
            } else if raw.starts_with('{') {
                let mut s = Scanner {
                    text,
                    i: m.value_start,
                };
                let map = s.object()?;
                edit_map(text, &map, &top, idx, changes, &style, &mut splices)?;
            } else {
                return Err(format!("\"{section}\" is not an object"));
            }
        }
        None if changes.set.is_empty() => {}
        None => {
            let body = render_map(&changes.set, style.nested(&style.indent), &style.colon);
            let member = format!("{}{}{body}", quote(section), style.colon);
            splices.push(insert_member(text, &top, &style, &member));
        }
    }
    Ok(apply(text, splices))
}

/// Edits the members of `map` (the value of `top.members[idx]`).
fn edit_map(
    text: &str,
    map: &Object,
    top: &Object,
    idx: usize,
    changes: &Changes,
    style: &Style,
    splices: &mut Vec<Splice>,
) -> Result<(), String> {
    let removed: Vec<bool> = map
        .members
        .iter()
        .map(|m| changes.remove.contains(&m.key))
        .collect();
    let mut adds = Vec::new();
    for (key, value) in &changes.set {
        match map.members.iter().rposition(|m| &m.key == key) {
            Some(i) if !removed[i] => {
                let m = &map.members[i];
                splices.push((m.value_start, m.value_end, quote(value)));
            }
            _ => adds.push((key.clone(), value.clone())),
        }
    }
    let kept = removed.iter().filter(|r| !**r).count();
    if kept == 0 && adds.is_empty() {
        // Nothing left: drop the whole map rather than leave `"credHelpers": {}` behind.
        splices.extend(removal_splices(top, &[idx]));
        return Ok(());
    }
    let gone: Vec<usize> = (0..removed.len()).filter(|&i| removed[i]).collect();
    splices.extend(removal_splices(map, &gone));
    if adds.is_empty() {
        return Ok(());
    }
    if let Some(last) = removed.iter().rposition(|r| !r) {
        // Copy the separator and key/value spacing of the existing members.
        let first = &map.members[0];
        let sep = &text[map.open + 1..first.key_start];
        let colon = &text[first.key_end..first.value_start];
        let mut ins = String::new();
        for (k, v) in &adds {
            ins.push(',');
            ins.push_str(sep);
            ins.push_str(&format!("{}{colon}{}", quote(k), quote(v)));
        }
        let at = map.members[last].value_end;
        splices.push((at, at, ins));
    } else {
        // Empty map, or every member removed: rewrite the inside of the braces.
        let m = &top.members[idx];
        let indent = line_indent(text, m.key_start);
        let body = render_map(&adds, style.nested(&indent), &style.colon);
        splices.retain(|(s, _, _)| *s < map.open || *s > map.close);
        splices.push((map.open, map.close + 1, body));
    }
    Ok(())
}

/// How the file lays out members: separator after `{` (`"\n\t"`, `"\n  "` or `""`), the
/// indentation unit, and the text between key and value.
struct Style {
    indent: String,
    unit: Option<String>,
    colon: String,
}

impl Style {
    fn of(text: &str, top: &Object) -> Style {
        match top.members.first() {
            Some(first) => {
                let sep = &text[top.open + 1..first.key_start];
                let colon = text[first.key_end..first.value_start].to_string();
                match sep.rfind('\n') {
                    Some(nl) => {
                        let indent = sep[nl + 1..].to_string();
                        Style {
                            unit: Some(if indent.is_empty() {
                                "\t".to_string()
                            } else {
                                indent.clone()
                            }),
                            indent,
                            colon,
                        }
                    }
                    None => Style {
                        indent: String::new(),
                        unit: None,
                        colon,
                    },
                }
            }
            // `{}`: lay the new member out as docker would.
            None => Style {
                indent: "\t".to_string(),
                unit: Some("\t".to_string()),
                colon: ": ".to_string(),
            },
        }
    }

    /// `(indent of the map's closing brace, unit)` for a map whose key is indented by `indent`,
    /// or `None` for a compact (one-line) file.
    fn nested<'a>(&'a self, indent: &'a str) -> Option<(&'a str, &'a str)> {
        self.unit.as_deref().map(|u| (indent, u))
    }
}

/// Renders `{"k": "v", …}` laid out under `layout` (`(closing indent, unit)`), or compact.
fn render_map(entries: &[(String, String)], layout: Option<(&str, &str)>, colon: &str) -> String {
    let items: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}{colon}{}", quote(k), quote(v)))
        .collect();
    match layout {
        Some((indent, unit)) => format!(
            "{{\n{indent}{unit}{}\n{indent}}}",
            items.join(&format!(",\n{indent}{unit}"))
        ),
        None => format!("{{{}}}", items.join(",")),
    }
}

/// The splice that adds `member` as the last member of `top`.
fn insert_member(text: &str, top: &Object, style: &Style, member: &str) -> Splice {
    match top.members.last() {
        Some(last) => {
            let first = &top.members[0];
            let sep = &text[top.open + 1..first.key_start];
            (last.value_end, last.value_end, format!(",{sep}{member}"))
        }
        None => {
            let (open, close) = (top.open + 1, top.close);
            match &style.unit {
                Some(unit) => (open, close, format!("\n{unit}{member}\n")),
                None => (open, close, member.to_string()),
            }
        }
    }
}

/// Splices removing the members at `gone` (sorted indices) of `obj`, with their commas:
/// a member after another loses the text from the end of the previous value; a leading run
/// loses the text up to the first kept member's key.
fn removal_splices(obj: &Object, gone: &[usize]) -> Vec<Splice> {
    let m = &obj.members;
    let mut out = Vec::new();
    let leading = gone.iter().enumerate().take_while(|(n, i)| n == *i).count();
    if leading > 0 {
        match m.get(leading) {
            Some(kept) => out.push((m[0].key_start, kept.key_start, String::new())),
            // Every member goes: empty the braces.
            None => out.push((obj.open + 1, obj.close, String::new())),
        }
    }
    for &i in &gone[leading..] {
        out.push((m[i - 1].value_end, m[i].value_end, String::new()));
    }
    out
}

/// The whitespace at the start of the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[start..at]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("BUG: strings serialise")
}

fn apply(text: &str, mut splices: Vec<Splice>) -> String {
    splices.sort_by_key(|s| std::cmp::Reverse((s.0, s.1)));
    let mut out = text.to_string();
    for (start, end, with) in splices {
        out.replace_range(start..end, &with);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Changes {
        Changes {
            set: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            remove: vec![],
        }
    }

    fn remove(keys: &[&str]) -> Changes {
        Changes {
            set: vec![],
            remove: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn check(before: &str, changes: &Changes, after: &str) {
        let got = edit(before, "credHelpers", changes).unwrap();
        assert_eq!(got, after, "from {before:?}");
        serde_json::from_str::<serde_json::Value>(&got).expect("valid JSON");
    }

    #[test]
    fn adds_to_a_docker_written_file() {
        check(
            "{\n\t\"auths\": {\n\t\t\"quay.io\": {}\n\t}\n}",
            &set(&[("ghcr.io", "northflank")]),
            "{\n\t\"auths\": {\n\t\t\"quay.io\": {}\n\t},\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"northflank\"\n\t}\n}",
        );
        check(
            "{\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t},\n\t\"x\": 1\n}",
            &set(&[("ghcr.io", "northflank"), ("gcr.io", "northflank")]),
            "{\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"northflank\",\n\t\t\"ghcr.io\": \"northflank\"\n\t},\n\t\"x\": 1\n}",
        );
    }

    #[test]
    fn copies_unusual_layouts() {
        check(
            "{\"a\":1.50e3}",
            &set(&[("h", "northflank")]),
            "{\"a\":1.50e3,\"credHelpers\":{\"h\":\"northflank\"}}",
        );
        check(
            "{\n    \"a\" : [1,2],\n    \"credHelpers\" : {}\n}\n",
            &set(&[("h", "northflank")]),
            "{\n    \"a\" : [1,2],\n    \"credHelpers\" : {\n        \"h\" : \"northflank\"\n    }\n}\n",
        );
        check(
            "{}",
            &set(&[("h", "n")]),
            "{\n\t\"credHelpers\": {\n\t\t\"h\": \"n\"\n\t}\n}",
        );
        check(
            "",
            &set(&[("h", "n")]),
            "{\n\t\"credHelpers\": {\n\t\t\"h\": \"n\"\n\t}\n}\n",
        );
        check(
            "{\"credHelpers\": null}",
            &set(&[("h", "n")]),
            "{\"credHelpers\": {\"h\": \"n\"}}",
        );
    }

    #[test]
    fn removes_members_and_their_commas() {
        let before = "{\n  \"credHelpers\": {\n    \"a\": \"northflank\",\n    \"b\": \"gcloud\",\n    \"c\": \"northflank\"\n  },\n  \"z\": true\n}";
        check(
            before,
            &remove(&["a", "c"]),
            "{\n  \"credHelpers\": {\n    \"b\": \"gcloud\"\n  },\n  \"z\": true\n}",
        );
        check(
            before,
            &remove(&["a", "b"]),
            "{\n  \"credHelpers\": {\n    \"c\": \"northflank\"\n  },\n  \"z\": true\n}",
        );
        check(before, &remove(&["a", "b", "c"]), "{\n  \"z\": true\n}");
        check(
            "{\"y\":1,\"credHelpers\":{\"a\":\"n\"}}",
            &remove(&["a"]),
            "{\"y\":1}",
        );
        check("{\"credHelpers\":{\"a\":\"n\"}}", &remove(&["a"]), "{}");
        check("{\"y\":1}", &remove(&["a"]), "{\"y\":1}");
    }

    #[test]
    fn refuses_a_non_object_section() {
        let err = edit("{\"credHelpers\": []}", "credHelpers", &set(&[("a", "b")])).unwrap_err();
        assert!(err.contains("not an object"));
    }

    #[test]
    fn escaped_keys_and_strings_with_braces() {
        check(
            "{\"x\":\"}{\\\"\",\"credHelpers\":{\"a\\u0062\":\"n\"}}",
            &remove(&["ab"]),
            "{\"x\":\"}{\\\"\"}",
        );
    }
}
