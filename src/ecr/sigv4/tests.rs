//! The published AWS Signature Version 4 test suite, run through [`sign`].
//!
//! The vectors in `src/ecr/testdata/sigv4/` are AWS's `aws-sig-v4-test-suite` (credentials
//! `AKIDEXAMPLE`, time `20150830T123600Z`, region `us-east-1`, service `service`), copied
//! unchanged from the copy botocore vendors (see `testdata/sigv4/SOURCE.md`). Each case is an
//! HTTP request (`.req`) and the canonical request (`.creq`), string to sign (`.sts`) and
//! `Authorization` header (`.authz`) AWS computed for it; all three are compared here.

use super::*;

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SCOPE: Scope = Scope {
    region: "us-east-1",
    service: "service",
};
/// 2015-08-30T12:36:00Z, the suite's signing time.
const AT_SECS: u64 = 1_440_938_160;
/// The session token of `get-vanilla-with-session-token` (its `.req` leaves the header out;
/// the value is the one in its `.creq`).
const VANILLA_SESSION_TOKEN: &str =
    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";

struct Vector {
    name: &'static str,
    req: &'static str,
    creq: &'static str,
    sts: &'static str,
    authz: &'static str,
}

macro_rules! vectors {
    ($($name:literal),* $(,)?) => {
        [$(Vector {
            name: $name,
            req: include_str!(concat!("../testdata/sigv4/", $name, ".req")),
            creq: include_str!(concat!("../testdata/sigv4/", $name, ".creq")),
            sts: include_str!(concat!("../testdata/sigv4/", $name, ".sts")),
            authz: include_str!(concat!("../testdata/sigv4/", $name, ".authz")),
        }),*]
    };
}

const VECTORS: [Vector; 33] = vectors![
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-order-value",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
    "post-sts-header-before",
    "get-relative",
    "get-relative-relative",
    "get-slash",
    "get-slash-dot-slash",
    "get-slash-pointless-dot",
    "get-slashes",
    "get-space",
    "get-special-character",
];

/// A `.req` file taken apart: request line, headers (a line starting with whitespace
/// continues the previous value), blank line, body.
struct Parsed<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: Vec<(&'a str, String)>,
    body: &'a str,
}

fn parse(req: &str) -> Parsed<'_> {
    let (head, body) = req.split_once("\n\n").unwrap_or((req, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let target = rest.strip_suffix(" HTTP/1.1").expect("HTTP/1.1");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(&str, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("continuation after a header");
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name, value.to_string()));
        }
    }
    Parsed {
        method,
        path,
        query,
        headers,
        body,
    }
}

fn at() -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_secs(AT_SECS)
}

#[test]
fn published_test_suite() {
    let secret = Secret::new(SECRET);
    for v in &VECTORS {
        let p = parse(v.req);
        // The suite writes X-Amz-Date (and a session token) into the request; `sign` adds
        // them itself, from the time and the credentials.
        let mut token = (v.name == "get-vanilla-with-session-token")
            .then(|| Secret::new(VANILLA_SESSION_TOKEN));
        let mut headers = Vec::new();
        for (name, value) in &p.headers {
            match name.to_ascii_lowercase().as_str() {
                "x-amz-date" => assert_eq!(value.trim(), amz_date(at()), "{}", v.name),
                "x-amz-security-token" => token = Some(Secret::new(value.trim())),
                _ => headers.push((*name, value.as_str())),
            }
        }
        let creds = Credentials {
            access_key_id: KEY_ID,
            secret_access_key: &secret,
            session_token: token.as_ref(),
        };
        let req = Request {
            method: p.method,
            path: p.path,
            query: p.query,
            headers: &headers,
            body: p.body.as_bytes(),
        };
        let signed = sign(&req, &creds, &SCOPE, at());
        assert_eq!(signed.canonical_request, v.creq, "{}: .creq", v.name);
        assert_eq!(signed.string_to_sign, v.sts, "{}: .sts", v.name);
        assert_eq!(signed.authorization, v.authz, "{}: .authz", v.name);
        assert_eq!(signed.amz_date, "20150830T123600Z");

        // Header order does not matter, except among repeats of one name (their values are
        // joined in the order sent): the suite's requests list headers sorted already.
        let mut names: Vec<String> = headers.iter().map(|h| h.0.to_ascii_lowercase()).collect();
        names.sort();
        names.dedup();
        if names.len() == headers.len() {
            let backwards: Vec<(&str, &str)> = headers.iter().rev().copied().collect();
            let reversed = sign(
                &Request {
                    headers: &backwards,
                    ..req
                },
                &creds,
                &SCOPE,
                at(),
            );
            assert_eq!(
                reversed.authorization, v.authz,
                "{}: reversed headers",
                v.name
            );
        }
    }
}

/// AWS's published example of the derived key ("Examples of how to derive a signing key for
/// Signature Version 4": 20120215, us-east-1, iam).
#[test]
fn derived_signing_key_matches_the_published_example() {
    let key = signing_key(&Secret::new(SECRET), "20120215", "us-east-1", "iam");
    assert_eq!(
        hex(&key),
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    );
}

#[test]
fn headers_to_send_carry_date_token_and_authorization() {
    let secret = Secret::new(SECRET);
    let token = Secret::new("session-token");
    let creds = Credentials {
        access_key_id: KEY_ID,
        secret_access_key: &secret,
        session_token: Some(&token),
    };
    let req = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &[("Host", "example.amazonaws.com")],
        body: b"{}",
    };
    let signed = sign(&req, &creds, &SCOPE, at());
    let names: Vec<&str> = signed.headers(&creds).iter().map(|h| h.0).collect();
    assert_eq!(
        names,
        ["X-Amz-Date", "X-Amz-Security-Token", "Authorization"]
    );
    assert!(
        signed
            .authorization
            .contains("SignedHeaders=host;x-amz-date;x-amz-security-token,")
    );
    // Debug never shows the signature, let alone the secret.
    let debug = format!("{signed:?}");
    assert!(!debug.contains("Signature="), "{debug}");
    assert!(!debug.contains(SECRET), "{debug}");
}

#[test]
fn a_different_secret_or_scope_changes_the_signature() {
    let req = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &[("Host", "example.amazonaws.com")],
        body: b"{}",
    };
    let sig = |secret: &str, scope: &Scope| {
        let secret = Secret::new(secret);
        let creds = Credentials {
            access_key_id: KEY_ID,
            secret_access_key: &secret,
            session_token: None,
        };
        sign(&req, &creds, scope, at()).authorization
    };
    let base = sig(SECRET, &SCOPE);
    assert_ne!(base, sig("another-secret", &SCOPE));
    let ecr = Scope {
        region: "us-east-1",
        service: "ecr",
    };
    assert_ne!(base, sig(SECRET, &ecr));
}

#[test]
fn amz_date_formats_utc() {
    let t = |s: u64| amz_date(UNIX_EPOCH + std::time::Duration::from_secs(s));
    assert_eq!(t(0), "19700101T000000Z");
    assert_eq!(t(951_782_400), "20000229T000000Z"); // a leap day
    assert_eq!(t(1_709_251_199), "20240229T235959Z");
    assert_eq!(t(4_102_444_800), "21000101T000000Z");
    assert_eq!(
        amz_date(UNIX_EPOCH - std::time::Duration::from_secs(5)),
        t(0)
    );
}

#[test]
fn path_and_query_canonical_forms() {
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri("/a/b/.."), "/a/");
    assert_eq!(canonical_uri("/a/./b"), "/a/b");
    assert_eq!(canonical_uri("/a%20b"), "/a%2520b"); // encoded once more, as AWS expects
    assert_eq!(canonical_query(""), "");
    assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
    assert_eq!(canonical_query("k"), "k=");
    assert_eq!(canonical_query("a=%zz"), "a=%25zz");
    assert_eq!(canonical_query("q=a+b c"), "q=a%2Bb%20c");
}
