//! JSON text through serde_json, with the extra `\u` escapes its reader expects.
//!
//! serde_json already escapes what JSON requires the way Go does (`\"`, `\\`, `\n`, `\r`,
//! `\t`, `\b`, `\f`, other controls as lower-case `\u00xx`, everything else raw). Two readers
//! want more: docker's and podman's config files are written by Go's encoder, which also
//! escapes `<`, `>`, `&`, U+2028 and U+2029 ([`go_html`]); and the Kubernetes outputs keep
//! the escapes they have always had ([`crate::kube`]). [`to_string`] adds those to serde_json's
//! output, compact or indented. The protocol's `get` answer does not come through here: it is
//! written by hand on the hot path ([`crate::protocol::codec`]).

use std::fmt::Write as _;
use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};

/// How to lay the document out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One line, no spaces: `{"a":1}`.
    Compact,
    /// One member a line, indented by this string at each level, `": "` between key and value.
    Indented(&'static str),
}

/// Appends `s` as a JSON string, by hand (the `get` answer and the YAML writers use it; no
/// crate reproduces Go's escapes exactly, and this is on the hot path): `"` `\` and the short escapes, control characters,
/// U+2028/2029 and whatever `also` selects as lower-case `\u00xx`, everything else as is.
pub fn push_json_string(out: &mut String, s: &str, also: impl Fn(char) -> bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' || also(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// What Go's `encoding/json` escapes beyond JSON's rules, with HTML escaping on (its default).
pub fn go_html(c: char) -> bool {
    matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}')
}

/// `value` as JSON text laid out as `layout`, with every character `escape` selects written
/// as `\uXXXX` (lower-case hex; only ever asked of characters of the Basic Multilingual Plane).
pub fn to_string<T: Serialize + ?Sized>(
    value: &T,
    layout: Layout,
    escape: fn(char) -> bool,
) -> String {
    let mut out = Vec::new();
    let result = match layout {
        Layout::Compact => write(&mut out, value, Escaping(CompactFormatter, escape)),
        Layout::Indented(indent) => write(
            &mut out,
            value,
            Escaping(PrettyFormatter::with_indent(indent.as_bytes()), escape),
        ),
    };
    // Writing into memory fails only if a `Serialize` impl does (a map with non-string keys);
    // every type serialized here is plain data.
    result.expect("BUG: plain data always serializes to JSON");
    String::from_utf8(out).expect("BUG: serde_json writes UTF-8")
}

fn write<T: Serialize + ?Sized, F: Formatter>(
    out: &mut Vec<u8>,
    value: &T,
    f: F,
) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(out, f))
}

/// A formatter that lays out like `F` and escapes what the predicate selects.
struct Escaping<F>(F, fn(char) -> bool);

/// The formatter calls that carry layout, passed on as they are.
macro_rules! layout {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        }
    )*};
}

impl<F: Formatter> Formatter for Escaping<F> {
    layout! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        s: &str,
    ) -> io::Result<()> {
        let mut rest = s;
        while let Some(at) = rest.find(self.1) {
            w.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().expect("BUG: found a char there");
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        e: CharEscape,
    ) -> io::Result<()> {
        self.0.write_char_escape(w, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every escape Go's `json.Marshal` makes, against the same string written by Go 1.22+
    /// (`json.Marshal("<a&b>\u2028\u2029\x01\b\f\n\"\\/é\x7f")`).
    #[test]
    fn go_escapes_exactly() {
        let s = "<a&b>\u{2028}\u{2029}\u{1}\u{8}\u{c}\n\"\\/é\u{7f}";
        assert_eq!(
            to_string(s, Layout::Compact, go_html),
            r#""\u003ca\u0026b\u003e\u2028\u2029\u0001\b\f\n\"\\/é"#.to_string() + "\u{7f}\""
        );
    }

    #[test]
    fn lays_out_compact_or_indented() {
        let v = json!({"a": {"b": [1, "x"], "e": {}, "l": []}});
        assert_eq!(
            to_string(&v, Layout::Compact, |_| false),
            r#"{"a":{"b":[1,"x"],"e":{},"l":[]}}"#
        );
        assert_eq!(
            to_string(&v, Layout::Indented("\t"), |_| false),
            "{\n\t\"a\": {\n\t\t\"b\": [\n\t\t\t1,\n\t\t\t\"x\"\n\t\t],\n\t\t\"e\": {},\n\t\t\"l\": []\n\t}\n}"
        );
        assert_eq!(
            to_string(&json!({}), Layout::Indented("  "), |_| false),
            "{}"
        );
    }
}
