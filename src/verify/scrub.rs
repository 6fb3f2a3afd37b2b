//! Keeping the secret out of everything `verify` prints.
//!
//! A hostile or careless server can echo what it was sent in any shape: the password, the
//! base64 of `user:password` from the Basic header (or of the password alone, at any offset
//! inside other base64), url-safe or padded or not, percent-encoded, or cut short. So the
//! [`Scrubber`] knows every such form and removes any run of at least [`WINDOW`] characters
//! that occurs inside one of them — a truncated copy included — plus shorter forms when they
//! appear whole. Over-redacting a harmless word is the accepted price.
//!
//! The rest of `verify` adds to this by never printing a URL a server chose after seeing the
//! credentials (only its origin) and by passing every text of its answer through here.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The shortest copy of part of a secret that is removed wherever it appears. Six characters
/// of a password, or of its base64 (4.5 bytes), are too much to print.
pub(super) const WINDOW: usize = 6;

/// What the text of a removed secret becomes.
const REDACTED: &str = "REDACTED";

/// RFC 3986 unreserved characters stay as they are (what most encoders do).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Default)]
pub(super) struct Scrubber {
    /// Every `WINDOW`-character piece of every long form.
    windows: HashSet<[char; WINDOW]>,
    /// Forms shorter than `WINDOW` (but at least 3 characters), removed when whole.
    whole: Vec<Vec<char>>,
}

impl Scrubber {
    /// A scrubber for `secret`, sent as itself and (with `username`) in a Basic header.
    pub(super) fn new(username: &str, secret: &str) -> Scrubber {
        let mut s = Scrubber::default();
        s.add(secret);
        s.add_base64(format!("{username}:{secret}").as_bytes());
        s
    }

    /// Adds a secret (also a token obtained along the way) in all its forms.
    pub(super) fn add(&mut self, secret: &str) {
        self.add_form(secret);
        for set in [NON_ALPHANUMERIC, COMPONENT] {
            let upper = utf8_percent_encode(secret, set).to_string();
            self.add_form(&upper.replace("%20", "+"));
            self.add_form(&lower_hex(&upper));
            self.add_form(&upper);
        }
        self.add_base64(secret.as_bytes());
    }

    /// The base64 of `data` in both alphabets, with and without padding, and the part of it
    /// that stays the same wherever `data` sits inside a longer encoded text (base64 works in
    /// 3-byte groups, so there are three alignments).
    fn add_base64(&mut self, data: &[u8]) {
        for (padded, bare) in [(STANDARD, STANDARD_NO_PAD), (URL_SAFE, URL_SAFE_NO_PAD)] {
            self.add_form(&padded.encode(data));
            for skip in 0..3.min(data.len()) {
                let tail = &data[skip..];
                self.add_form(&bare.encode(&tail[..tail.len() / 3 * 3]));
            }
            self.add_form(&bare.encode(data));
        }
    }

    fn add_form(&mut self, form: &str) {
        let chars: Vec<char> = form.chars().collect();
        if chars.len() >= WINDOW {
            for w in chars.windows(WINDOW) {
                self.windows
                    .insert(w.try_into().expect("BUG: windows are WINDOW long"));
            }
        } else if chars.len() >= 3 && !self.whole.contains(&chars) {
            self.whole.push(chars);
        }
    }

    /// `text` with every run that may be (part of) a secret replaced by `REDACTED`.
    pub(super) fn scrub(&self, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut hidden = vec![false; chars.len()];
        if chars.len() >= WINDOW {
            for (i, w) in chars.windows(WINDOW).enumerate() {
                let w: [char; WINDOW] = w.try_into().expect("BUG: windows are WINDOW long");
                if self.windows.contains(&w) {
                    hidden[i..i + WINDOW].fill(true);
                }
            }
        }
        for form in &self.whole {
            for (i, w) in chars.windows(form.len()).enumerate() {
                if w == form.as_slice() {
                    hidden[i..i + form.len()].fill(true);
                }
            }
        }
        let mut out = String::with_capacity(text.len());
        for (i, c) in chars.iter().enumerate() {
            if !hidden[i] {
                out.push(*c);
            } else if i == 0 || !hidden[i - 1] {
                out.push_str(REDACTED);
            }
        }
        out
    }
}

/// `%2F` → `%2f`: some encoders write lower-case hex.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let end = (i + 3).min(rest.len());
        out.push_str(&rest[i..end].to_ascii_lowercase());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A short message from an error body (`{"errors":[{"message":…}]}`, `{"details":…}`,
/// OAuth's `error_description`, …) as `: message`, or empty: scrubbed, control characters
/// replaced, cut to 200 characters, so a server's words cannot turn our one line into
/// something else.
pub(super) fn server_message(body: &[u8], scrubber: &Scrubber) -> String {
    let Some(msg) = error_message(body) else {
        return String::new();
    };
    let msg = one_line(&scrubber.scrub(&msg));
    if msg.is_empty() {
        msg
    } else {
        format!(": {msg}")
    }
}

fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let s = |v: Option<&serde_json::Value>| v.and_then(|x| x.as_str()).map(str::to_string);
    s(v.pointer("/errors/0/message"))
        .or_else(|| s(v.get("details")))
        .or_else(|| s(v.get("message")))
        .or_else(|| s(v.get("error_description")))
        .or_else(|| s(v.get("error")))
}

/// Control characters replaced by spaces, trimmed, at most 200 characters.
pub(super) fn one_line(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(clean.trim(), 200)
}

pub(super) fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max_chars).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "alice";
    const PW: &str = "s3cret/Pa55 word+x";

    fn b64(d: &[u8]) -> [String; 4] {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].map(|e| e.encode(d))
    }

    /// What a server may echo: the forms the scrubber knows whole.
    fn forms() -> Vec<String> {
        let mut v = vec![PW.to_string()];
        v.extend(b64(PW.as_bytes()));
        v.extend(b64(format!("{USER}:{PW}").as_bytes()));
        v.push(utf8_percent_encode(PW, NON_ALPHANUMERIC).to_string());
        v.push(lower_hex(
            &utf8_percent_encode(PW, NON_ALPHANUMERIC).to_string(),
        ));
        v.push(
            utf8_percent_encode(PW, COMPONENT)
                .to_string()
                .replace("%20", "+"),
        );
        v
    }

    #[test]
    fn every_form_and_every_long_piece_of_it_is_removed() {
        let s = Scrubber::new(USER, PW);
        for form in forms() {
            let text = format!("server said [{form}] ok");
            assert_eq!(s.scrub(&text), "server said [REDACTED] ok", "form {form:?}");
            // Truncated copies: every piece of WINDOW characters or more, anywhere.
            let chars: Vec<char> = form.chars().collect();
            for len in WINDOW..=chars.len() {
                for start in [0, chars.len() - len, (chars.len() - len) / 2] {
                    let piece: String = chars[start..start + len].iter().collect();
                    let out = s.scrub(&format!("<{piece}>"));
                    assert_eq!(out, "<REDACTED>", "piece {piece:?} of {form:?}");
                }
            }
        }
    }

    #[test]
    fn the_password_inside_other_base64_is_removed_at_every_alignment() {
        let s = Scrubber::new(USER, PW);
        for prefix in ["x", "xy", "xyz", "token:", "{\"p\":\""] {
            for encoded in b64(format!("{prefix}{PW}").as_bytes()) {
                let out = s.scrub(&format!("[{encoded}]"));
                // Only the characters that mix in the prefix or the last partial group stay:
                // at most 4 on either side (less than one byte of the password each).
                let (before, after) = out
                    .trim_matches(['[', ']'])
                    .split_once(REDACTED)
                    .unwrap_or_else(|| panic!("{prefix:?}: {encoded} -> {out}"));
                let prefix_chars = prefix.len().div_ceil(3) * 4;
                assert!(
                    before.len() <= prefix_chars && after.len() <= 4,
                    "{encoded} -> {out}"
                );
            }
        }
    }

    #[test]
    fn other_text_stays() {
        let s = Scrubber::new(USER, PW);
        let text = "incorrect username or password for alice (code 401)";
        assert_eq!(s.scrub(text), text);
        assert_eq!(s.scrub(""), "");
        assert_eq!(s.scrub("é"), "é");
    }

    #[test]
    fn short_secrets_are_removed_when_whole() {
        let s = Scrubber::new("u", "hunt");
        assert_eq!(
            s.scrub("bad pw hunt, try again"),
            "bad pw REDACTED, try again"
        );
        let s = Scrubber::new("u", "hunter2");
        assert_eq!(
            s.scrub("bad pw hunter2\nsecond line"),
            "bad pw REDACTED\nsecond line"
        );
        assert_eq!(s.scrub("got Basic dTpodW50ZXIy"), "got Basic REDACTED");
    }

    #[test]
    fn added_tokens_are_removed_too() {
        let mut s = Scrubber::new(USER, PW);
        s.add("tok-0123456789");
        assert_eq!(s.scrub("bad token tok-012345"), "bad token REDACTED");
    }

    #[test]
    fn server_messages_are_scrubbed_one_line() {
        let s = Scrubber::new("u", "hunter2");
        assert_eq!(
            server_message(
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                &s
            ),
            ": authentication required"
        );
        assert_eq!(
            server_message(br#"{"details":"incorrect username or password"}"#, &s),
            ": incorrect username or password"
        );
        assert_eq!(
            server_message(br#"{"error_description":"bad hunter2\nx"}"#, &s),
            ": bad REDACTED x"
        );
        assert_eq!(server_message(b"not json", &s), "");
        assert_eq!(one_line(&"x".repeat(500)).chars().count(), 201);
    }
}
