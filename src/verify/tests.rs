//! Unit tests of what needs no server: registry strings, exit codes, input checks.

use super::*;

#[test]
fn endpoint_for_maps_docker_hub_only() {
    let cases = [
        (
            "https://index.docker.io/v1/",
            "https://registry-1.docker.io/v2/",
        ),
        ("docker.io", "https://registry-1.docker.io/v2/"),
        ("index.docker.io", "https://registry-1.docker.io/v2/"),
        (
            "Registry.Hub.Docker.com",
            "https://registry-1.docker.io/v2/",
        ),
        ("registry-1.docker.io", "https://registry-1.docker.io/v2/"),
        ("ghcr.io", "https://ghcr.io/v2/"),
        ("GHCR.IO.", "https://ghcr.io/v2/"),
        ("https://ghcr.io/v2/foo?x=1", "https://ghcr.io/v2/"),
        ("gcr.io:443", "https://gcr.io/v2/"),
        (
            "gitlab.example.com:5050",
            "https://gitlab.example.com:5050/v2/",
        ),
        ("http://localhost:5000", "http://localhost:5000/v2/"),
        ("http://localhost:80", "http://localhost/v2/"),
        ("HTTPS://[::1]:5000/", "https://[::1]:5000/v2/"),
        ("[::1]", "https://[::1]/v2/"),
        ("127.0.0.1:5000", "https://127.0.0.1:5000/v2/"),
        // A port on a Hub name is some other server, not the Hub.
        ("docker.io:5000", "https://docker.io:5000/v2/"),
        // Refused input comes back as given (trimmed).
        (" ftp://x ", "ftp://x"),
        ("https://ghcr.io@evil.com", "https://ghcr.io@evil.com"),
    ];
    for (input, want) in cases {
        assert_eq!(endpoint_for(input), want, "input: {input:?}");
    }
}

#[test]
fn bad_registry_strings_are_bad_input() {
    for input in [
        "",
        " ",
        "ftp://ghcr.io",
        "https://user@ghcr.io",
        "ghcr.io:0",
        "ghcr.io:99999",
        "ghcr.io:",
        "ghcr.io:x",
        "gh cr.io",
        "ghcr.io\n",
        "a\0b",
        "[::1",
        "[zz]:5000",
        "bad$host",
        "..",
        ".ghcr.io",
        "https://",
        "host:5000:6000",
    ] {
        let err = Target::parse(input).expect_err(input);
        assert_eq!(err.exit_code(), 1, "input: {input:?}");
        assert!(!err.to_string().contains('\n'), "one line for {input:?}");
    }
}

#[test]
fn exit_codes_are_distinct_and_documented() {
    let e = || String::from("x");
    let all = [
        Failure::BadInput { detail: e() },
        Failure::Rejected {
            endpoint: e(),
            detail: e(),
        },
        Failure::Unreachable {
            endpoint: e(),
            detail: e(),
        },
        Failure::Tls {
            endpoint: e(),
            problem: TlsProblem::Expired,
            detail: e(),
        },
        Failure::NotARegistry {
            endpoint: e(),
            detail: e(),
        },
        Failure::Protocol {
            endpoint: e(),
            detail: e(),
        },
    ];
    let codes: Vec<u8> = all.iter().map(Failure::exit_code).collect();
    assert_eq!(codes, vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn plain_http_needs_loopback_or_consent() {
    let s = Secret::new("pw");
    let err = verify("http://registry.example", "u", &s, &Options::default()).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("--insecure-http"), "{err}");
    let err = verify("ghcr.io", "", &s, &Options::default()).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let err = verify("ghcr.io", "a:b", &s, &Options::default()).unwrap_err();
    assert_eq!(err.exit_code(), 1);
}
