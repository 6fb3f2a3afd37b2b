//! Text for a terminal: everything printed for people passes through [`printable`], and
//! notices go to stderr through [`warn`] and [`note`], which never panic.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// One line on stderr, prefixed with the program's name. Clients pass stderr to the user's
/// terminal and never parse it; a stderr that cannot be written is ignored.
pub fn warn(msg: &str) {
    note(&format!("docker-credential-northflank: {msg}"));
}

/// One line on stderr, as it is written (`warning: …`, `hint: …`).
pub fn note(msg: &str) {
    let mut s = printable(msg).into_owned();
    s.push('\n');
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// `text` with everything a terminal would act on escaped: control characters (C0, DEL,
/// C1), the line and paragraph separators, and the bidirectional controls that reorder what
/// is shown (`\u{202e}` and friends).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{061c}' | '\u{200e}' | '\u{200f}' // bidi marks
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_acts_on() {
        assert_eq!(printable("alice"), "alice");
        assert_eq!(printable("é ✓ 😀 …"), "é ✓ 😀 …");
        assert_eq!(printable("\x1b[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("a\nfailed b"), "a\\u{a}failed b");
        assert_eq!(printable("a\rb\u{7f}\u{9b}"), "a\\u{d}b\\u{7f}\\u{9b}");
        assert_eq!(printable("x\u{2028}y\u{2029}"), "x\\u{2028}y\\u{2029}");
        assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(
            printable("\u{2066}\u{2069}\u{200f}"),
            "\\u{2066}\\u{2069}\\u{200f}"
        );
    }
}
