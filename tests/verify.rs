//! `verify` against real servers on 127.0.0.1: Debian's `docker-registry` (distribution) with
//! htpasswd auth over TLS with a CA made here by `openssl`, and small servers of our own for the
//! Bearer token flow, redirects, timeouts and things that are not registries.
//!
//! Outside programs: `docker-registry`, `openssl`, `htpasswd`, and `docker` (CLI and daemon) for
//! the certs.d comparison, which also needs root to write `/etc/docker/certs.d`. When one is
//! missing the test fails under `CI=true` and otherwise prints `SKIPPED: …` to stderr and
//! returns.

#![cfg(feature = "network")]

mod common;
mod servers;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use common::{Helper, assert_contains, assert_lacks, assert_ok, project_env, stderr, stdout};
use docker_credential_northflank::secret::Secret;
use docker_credential_northflank::verify::{
    Accepted, AuthUsed, CertsDirs, Failure, Options, TlsProblem, verify,
};
use servers::basic_auth as basic;
use servers::mock_http::{Mock, Reply, Silent, reply};
use servers::pki::Pki;
use servers::registry::Registry;
use servers::{free_port, have_programs};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-Pa55word";

fn secret() -> Secret {
    Secret::new(PASSWORD)
}

/// `verify` of USER with PASSWORD at `registry`.
fn check(registry: &str, options: &Options) -> Result<Accepted, Failure> {
    verify(registry, USER, &secret(), options)
}

fn opts() -> Options {
    Options {
        timeout: Duration::from_secs(10),
        ..Options::default()
    }
}

/// Every failure message is one line and never contains the secret.
fn check_message(f: &Failure) {
    let text = f.to_string();
    assert!(!text.contains(PASSWORD), "secret in message: {text}");
    assert!(
        !format!("{f:?}").contains(PASSWORD),
        "secret in Debug: {f:?}"
    );
    assert!(!text.contains('\n'), "message is not one line: {text}");
}

/// The kind of a TLS failure; panics on any other failure.
fn tls_problem(err: &Failure) -> TlsProblem {
    match err {
        Failure::Tls { problem, .. } => *problem,
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Debian's docker-registry with htpasswd auth over TLS, certificates made with openssl

/// Everything a TLS registry needs.
fn tools() -> Vec<&'static str> {
    [servers::registry::PROGRAMS, servers::pki::PROGRAMS].concat()
}

/// `docker-registry` over TLS with `(cert, key)`, whose one user is USER with PASSWORD.
fn tls_registry(cert: &Path, key: &Path) -> Registry {
    Registry::serve(&[(USER, PASSWORD)], Some((cert, key)))
}

/// A PKI and a registry whose certificate `cert` makes from it; `None` (skipped, or a
/// failure under CI) without the programs.
fn registry_with(
    test: &str,
    cert: impl FnOnce(&Pki) -> (PathBuf, PathBuf),
) -> Option<(Pki, Registry)> {
    if !have_programs(test, &tools()) {
        return None;
    }
    let pki = Pki::new();
    let (cert, key) = cert(&pki);
    let reg = tls_registry(&cert, &key);
    Some((pki, reg))
}

/// A registry with a certificate for 127.0.0.1 signed by the PKI's CA.
fn good_registry(test: &str) -> Option<(Pki, Registry)> {
    registry_with(test, |pki| pki.server_cert("server", "leaf"))
}

/// A TLS failure of that kind (exit 4) whose one-line message says `says`, without the secret.
fn assert_tls_failure(err: &Failure, problem: TlsProblem, says: &str) {
    assert_eq!(tls_problem(err), problem);
    assert_eq!(err.exit_code(), 4);
    assert_contains(&err.to_string(), says);
    check_message(err);
}

fn with_ca(pki: &Pki) -> Options {
    Options {
        ca_cert: Some(pki.path("ca.crt")),
        ..opts()
    }
}

#[test]
fn registry_accepts_right_credentials() {
    let Some((pki, reg)) = good_registry("registry_accepts_right_credentials") else {
        return;
    };
    let ok = check(&reg.host(), &with_ca(&pki)).expect("accepted");
    assert_eq!(ok.auth, AuthUsed::Basic);
    assert_eq!(ok.endpoint, format!("https://127.0.0.1:{}/v2/", reg.port()));
    assert_lacks(&ok.to_string(), PASSWORD);

    // The same registry by its other names: localhost (in the SAN), an explicit scheme and path.
    for name in [
        format!("localhost:{}", reg.port()),
        format!("https://127.0.0.1:{}/", reg.port()),
        format!("HTTPS://LOCALHOST:{}/v2/", reg.port()),
    ] {
        let ok = check(&name, &with_ca(&pki)).expect(&name);
        assert_eq!(ok.auth, AuthUsed::Basic, "{name}");
    }

    // The CA given as SSL_CERT_FILE instead of --ca-cert works the same.
    let env_style = Options {
        ssl_cert_file: Some(pki.path("ca.crt")),
        ..opts()
    };
    let ok = check(&reg.host(), &env_style).expect("accepted via SSL_CERT_FILE");
    assert_eq!(ok.auth, AuthUsed::Basic);
}

#[test]
fn registry_rejects_wrong_password_and_unknown_user() {
    let Some((pki, reg)) = good_registry("registry_rejects_wrong_password_and_unknown_user") else {
        return;
    };
    for (user, pw) in [(USER, "wrong-password"), ("mallory", PASSWORD), (USER, "")] {
        let err = verify(&reg.host(), user, &Secret::new(pw), &with_ca(&pki))
            .expect_err("must be rejected");
        assert!(
            matches!(err, Failure::Rejected { .. }),
            "{user}/{pw}: {err:?}"
        );
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert_contains(&text, "rejected the credentials");
        assert!(
            text.contains("read:packages") && text.contains("read_registry"),
            "{text}"
        );
        if !pw.is_empty() {
            assert!(!text.contains(pw), "secret in message: {text}");
        }
        check_message(&err);
    }
}

#[test]
fn registry_with_unknown_ca_is_a_tls_failure() {
    let Some((pki, reg)) = good_registry("registry_with_unknown_ca_is_a_tls_failure") else {
        return;
    };
    // Mozilla's roots only, then a CA that did not sign the server's certificate.
    for options in [
        opts(),
        Options {
            ca_cert: Some(pki.path("other-ca.crt")),
            ..opts()
        },
    ] {
        let err = check(&reg.host(), &options).expect_err("unknown issuer");
        assert_tls_failure(&err, TlsProblem::UnknownIssuer, "--ca-cert");
    }
}

#[test]
fn registry_certificate_for_another_name_is_a_tls_failure() {
    let Some((pki, reg)) = registry_with("registry_certificate_for_another_name", |pki| {
        pki.server_cert("other", "leaf_other")
    }) else {
        return;
    };
    let err = check(&reg.host(), &with_ca(&pki)).expect_err("name mismatch");
    assert_tls_failure(
        &err,
        TlsProblem::NameMismatch,
        "not valid for this host name",
    );
}

#[test]
fn registry_with_expired_certificate_is_a_tls_failure() {
    let Some((pki, reg)) = registry_with("registry_with_expired_certificate", Pki::expired_cert)
    else {
        return;
    };
    let err = check(&reg.host(), &with_ca(&pki)).expect_err("expired");
    assert_tls_failure(&err, TlsProblem::Expired, "expired");
}

#[test]
fn plain_http_to_a_tls_registry_is_not_a_registry_answer() {
    let Some((pki, reg)) = good_registry("plain_http_to_a_tls_registry") else {
        return;
    };
    // Go answers plain HTTP on a TLS port with "400 Client sent an HTTP request to an HTTPS server".
    let err =
        check(&format!("http://{}", reg.host()), &with_ca(&pki)).expect_err("http to https port");
    assert_eq!(err.exit_code(), 5, "{err:?}");
    check_message(&err);
}

#[test]
fn closed_port_is_unreachable() {
    let port = free_port(); // bound and released: nothing listens there now
    for registry in [
        format!("127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}"),
    ] {
        let err = check(&registry, &opts()).expect_err("closed port");
        assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 3);
        assert_contains(&err.to_string(), "connection refused");
        check_message(&err);
    }
}

/// What a registry answers to `/v2/` when it lets the client in.
fn registry_200() -> Reply {
    reply(
        200,
        &[("Docker-Distribution-API-Version", "registry/2.0")],
        "{}",
    )
}

// ---------------------------------------------------------------------------------------------
// Servers of our own (servers::mock_http): plain HTTP/1.1 on 127.0.0.1, one request per
// connection.

/// What the token flow's registry sends: an unsupported challenge in its own header, then a
/// header with Basic and Bearer (Bearer is preferred), with a quoted service holding a comma
/// and escaped quotes.
const SERVICE: &str = "registry.test, with \"quotes\"";
const SCOPE: &str = "registry:catalog:*";

/// A token service (`/token`) and a registry that trusts its tokens.
/// alice/PASSWORD gets `tok-alice` (as `token`); bob/PASSWORD gets `tok-bob` (as
/// `access_token`), which the registry refuses, like a token without the read scope.
fn token_setup(realm_override: Option<String>) -> (Mock, Mock) {
    let tokens = Mock::start(|req| {
        if req.path() != "/token"
            || req.query("service") != vec![SERVICE.to_string()]
            || req.query("scope") != vec![SCOPE.to_string()]
        {
            return reply(400, &[], r#"{"details":"bad token request"}"#);
        }
        let auth = req.header("authorization").unwrap_or("");
        if auth == basic(USER, PASSWORD) {
            reply(
                200,
                &[("Content-Type", "application/json")],
                r#"{"token":"tok-alice","expires_in":300}"#,
            )
        } else if auth == basic("bob", PASSWORD) {
            reply(
                200,
                &[("Content-Type", "application/json")],
                r#"{"access_token":"tok-bob"}"#,
            )
        } else {
            reply(
                401,
                &[("Content-Type", "application/json")],
                r#"{"details":"incorrect username or password"}"#,
            )
        }
    });
    let realm = realm_override.unwrap_or_else(|| format!("{}/token", tokens.url()));
    let challenge = format!(
        "Basic realm=\"basic-realm\", Bearer realm=\"{realm}\",service=\"registry.test, with \\\"quotes\\\"\",scope=\"{SCOPE}\""
    );
    let registry = Mock::start(move |req| {
        if req.path() != "/v2/" {
            return reply(404, &[], "");
        }
        match req.header("authorization") {
            Some("Bearer tok-alice") => reply(
                200,
                &[
                    ("Docker-Distribution-API-Version", "registry/2.0"),
                    ("Content-Type", "application/json"),
                ],
                "{}",
            ),
            _ => reply(
                401,
                &[
                    ("WWW-Authenticate", "Negotiate"),
                    ("WWW-Authenticate", &challenge),
                    ("Content-Type", "application/json"),
                ],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            ),
        }
    });
    (tokens, registry)
}

fn assert_no_secret_in_urls(mocks: &[&Mock]) {
    for m in mocks {
        for r in m.requests() {
            assert!(!r.target.contains(PASSWORD), "secret in URL {}", r.target);
            assert!(!r.target.contains(USER), "username in URL {}", r.target);
        }
    }
}

#[test]
fn bearer_flow_accepts_and_sends_service_and_scope() {
    let (tokens, registry) = token_setup(None);
    let ok = check(&registry.url(), &opts()).expect("accepted");
    assert_eq!(
        ok.auth,
        AuthUsed::Bearer {
            realm: format!("{}/token", tokens.url())
        }
    );
    let treqs = tokens.requests();
    assert_eq!(treqs.len(), 1);
    assert_eq!(
        treqs[0].header("authorization"),
        Some(basic(USER, PASSWORD).as_str())
    );
    assert_eq!(treqs[0].query("service"), vec![SERVICE.to_string()]);
    assert_eq!(treqs[0].query("scope"), vec![SCOPE.to_string()]);
    let rreqs = registry.requests();
    assert_eq!(rreqs.len(), 2);
    assert_eq!(
        rreqs[0].header("authorization"),
        None,
        "first /v2/ is anonymous"
    );
    assert_eq!(rreqs[1].header("authorization"), Some("Bearer tok-alice"));
    assert_no_secret_in_urls(&[&tokens, &registry]);
}

#[test]
fn bearer_flow_realm_answering_401_is_rejected() {
    let (tokens, registry) = token_setup(None);
    let err = verify(&registry.url(), USER, &Secret::new("not-it"), &opts()).expect_err("rejected");
    match &err {
        Failure::Rejected { endpoint, detail } => {
            assert_eq!(endpoint, &format!("{}/token", tokens.url()));
            assert!(
                detail.contains("401") && detail.contains("incorrect username or password"),
                "{detail}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(err.exit_code(), 2);
    assert_lacks(&err.to_string(), "not-it");
    // The registry was asked once (anonymously) and never got the password.
    let rreqs = registry.requests();
    assert_eq!(rreqs.len(), 1);
    assert_eq!(rreqs[0].header("authorization"), None);
}

#[test]
fn bearer_token_refused_by_registry_is_rejected_with_scope_hint() {
    let (tokens, registry) = token_setup(None);
    let err = verify(&registry.url(), "bob", &secret(), &opts()).expect_err("rejected");
    assert!(matches!(err, Failure::Rejected { .. }), "{err:?}");
    let text = err.to_string();
    assert_contains(&text, "token from the token service was refused");
    assert_contains(&text, "read:packages");
    check_message(&err);
    assert_eq!(tokens.requests().len(), 1);
    assert_eq!(
        registry.requests()[1].header("authorization"),
        Some("Bearer tok-bob")
    );
}

#[test]
fn bearer_realm_over_plain_http_elsewhere_is_refused_before_sending() {
    // A loopback registry pointing at a non-loopback http realm: refused without connecting.
    let (_tokens, registry) = token_setup(Some("http://tokens.example/token".into()));
    let err = check(&registry.url(), &opts()).expect_err("refused");
    assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
    assert_contains(&err.to_string(), "--insecure-http");
    assert_eq!(err.exit_code(), 6);
    // A realm that is not an http(s) URL at all.
    let (_tokens, registry) = token_setup(Some("ftp://127.0.0.1/token".into()));
    let err = check(&registry.url(), &opts()).expect_err("bad realm");
    assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
}

#[test]
fn token_answer_without_token_or_too_large_is_a_protocol_failure() {
    let big = format!("{{\"token\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    for body in [
        r#"{"nothing":"here"}"#.to_string(),
        "<html>oops</html>".to_string(),
        big,
    ] {
        let tokens =
            Mock::start(move |_| reply(200, &[("Content-Type", "application/json")], &body));
        let challenge = format!("Bearer realm=\"{}/token\"", tokens.url());
        let registry = Mock::start(move |_| reply(401, &[("WWW-Authenticate", &challenge)], ""));
        let err = check(&registry.url(), &opts()).expect_err("no token");
        assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 6);
        check_message(&err);
        // Without a token, the registry is never asked a second time.
        assert_eq!(registry.requests().len(), 1);
    }
}

#[test]
fn redirect_to_another_host_drops_the_credentials() {
    let elsewhere = Mock::start(|_| reply(401, &[("WWW-Authenticate", "Basic realm=\"x\"")], ""));
    let target = format!("{}/v2/", elsewhere.url());
    let registry = Mock::start(move |req| match req.header("authorization") {
        None => reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""),
        Some(_) => reply(307, &[("Location", &target)], ""),
    });
    let err = check(&registry.url(), &opts()).expect_err("rejected");
    assert!(matches!(err, Failure::Rejected { .. }), "{err:?}");
    let seen = elsewhere.requests();
    assert_eq!(seen.len(), 1, "the redirect was followed");
    assert_eq!(
        seen[0].header("authorization"),
        None,
        "credentials must not cross hosts"
    );
}

#[test]
fn redirect_on_the_same_host_keeps_the_credentials() {
    let expected = basic(USER, PASSWORD);
    let registry = Mock::start(move |req| match (req.path(), req.header("authorization")) {
        (_, None) => reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""),
        ("/v2/", Some(_)) => reply(301, &[("Location", "/v2/moved/")], ""),
        ("/v2/moved/", Some(a)) if a == expected => reply(200, &[], "{}"),
        _ => reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""),
    });
    let ok = check(&registry.url(), &opts()).expect("accepted");
    assert_eq!(ok.auth, AuthUsed::Basic);
    assert_eq!(registry.requests().len(), 3);
}

#[test]
fn redirect_loop_is_bounded() {
    let registry = Mock::start(|_| reply(302, &[("Location", "/v2/")], ""));
    let err = check(&registry.url(), &opts()).expect_err("loop");
    assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
    assert_contains(&err.to_string(), "redirects");
    assert_eq!(
        registry.requests().len(),
        6,
        "the first request and 5 redirects"
    );
}

#[test]
fn not_a_registry_answers() {
    type Case = (u16, Vec<(&'static str, &'static str)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            404,
            vec![("Content-Type", "text/html")],
            "<html>Not Found</html>",
        ),
        (
            200,
            vec![("Content-Type", "text/html; charset=utf-8")],
            "<html>Welcome</html>",
        ),
        (401, vec![], "no challenge here"),
        (400, vec![], ""),
    ];
    for (status, headers, body) in cases {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let body = body.to_string();
        let server = Mock::start(move |_| Reply {
            status,
            headers: headers.clone(),
            body: body.clone().into_bytes(),
        });
        let err = check(&server.url(), &opts()).expect_err("not a registry");
        assert!(
            matches!(err, Failure::NotARegistry { .. }),
            "{status}: {err:?}"
        );
        assert_eq!(err.exit_code(), 5);
        assert_contains(&err.to_string(), "is not a Docker registry");
        check_message(&err);
        // The credentials were never sent to it.
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.header("authorization").is_none())
        );
    }
}

#[test]
fn other_answers_have_their_own_outcomes() {
    // Open registry: accepted, but says the credentials were not checked.
    let open = Mock::start(|_| registry_200());
    let ok = check(&open.url(), &opts()).expect("open registry");
    assert_eq!(ok.auth, AuthUsed::NoneNeeded);
    assert_contains(&ok.to_string(), "could not be checked");

    // Only an unsupported scheme.
    let nego = Mock::start(|_| {
        reply(
            401,
            &[
                ("WWW-Authenticate", "Negotiate"),
                ("WWW-Authenticate", "NTLM"),
            ],
            "",
        )
    });
    let err = check(&nego.url(), &opts()).expect_err("unsupported");
    assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
    assert_contains(&err.to_string(), "negotiate, ntlm");

    // Server error: reported as unreachable (try later), not as wrong credentials.
    let down = Mock::start(|_| reply(503, &[], "maintenance"));
    let err = check(&down.url(), &opts()).expect_err("5xx");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert_contains(&err.to_string(), "503");
}

#[test]
fn silent_server_hits_the_timeout() {
    // Accepts connections and never answers. The timeout is a bound, not a measurement.
    let silent = Silent::start();
    let options = Options {
        timeout: Duration::from_secs(1),
        ..opts()
    };
    let err = check(&format!("http://127.0.0.1:{}", silent.port()), &options).expect_err("timeout");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert_contains(&err.to_string(), "no answer within");
}

// The CLI: `add --verify` and `verify NAME|HOST` through the binary.

#[test]
fn cli_add_verify_saves_only_accepted_credentials_and_verify_checks_saved_ones() {
    let Some((pki, reg)) = good_registry("cli_add_verify") else {
        return;
    };
    let h = Helper::new();
    let ca = pki.path("ca.crt");
    let ca = ca.to_str().unwrap();
    let host = reg.host();
    // `add --verify` of USER with `pw`, and `more` arguments.
    let add = |name: &str, pw: &str, more: &[&str]| {
        let mut args = vec![
            "add",
            name,
            "--provider",
            "custom",
            "--registry",
            &host,
            "--username",
            USER,
            "--password-stdin",
            "--verify",
        ];
        args.extend_from_slice(more);
        h.run(&args, pw.as_bytes())
    };
    let verify_as = |what: &str, project: Option<&str>| {
        h.run_env(
            &["verify", what, "--ca-cert", ca],
            b"",
            &project_env(project),
        )
    };
    let in_p1 = ["--project", "p1", "--ca-cert", ca];
    // Refused by the registry: exit 2, nothing saved, no secret in the message.
    let out = add("wrong-one", "not-the-password", &in_p1);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("rejected") && !err.contains("not-the-password"),
        "{err}"
    );
    assert!(!h.store_dir().join("registries").exists(), "nothing saved");
    // Wrong CA: exit 4 (TLS).
    let out = add("no-ca", PASSWORD, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // Accepted: saved.
    assert_ok(&add("right-one", PASSWORD, &in_p1), "add --verify");
    // verify NAME and verify HOST (in the project that sees it) succeed; elsewhere HOST finds nothing.
    let out = verify_as("right-one", None);
    assert_ok(&out, "verify NAME");
    assert_contains(&stdout(&out), "right-one");
    assert_ok(&verify_as(&host, Some("p1")), "verify HOST");
    let out = verify_as(&host, Some("p2"));
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&stderr(&out), "no credential for");
    // The registry changes its mind (password rotated elsewhere): verify says rejected.
    h.add(
        "stale",
        "custom",
        Some(&host),
        USER,
        "old-password",
        &["p2"],
    );
    assert_eq!(verify_as("stale", None).status.code(), Some(2));
}

#[test]
fn loopback_registry_without_scheme_falls_back_to_plain_http_like_docker() {
    // A plain-HTTP registry on 127.0.0.1 with Basic auth, as `docker-registry` runs by default.
    let server = Mock::start(|req| {
        let authed = req
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("authorization") && *v == basic(USER, PASSWORD));
        if authed {
            reply(
                200,
                &[("Docker-Distribution-Api-Version", "registry/2.0")],
                "{}",
            )
        } else {
            reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], "")
        }
    });
    let host = format!("127.0.0.1:{}", server.port());
    let ok = check(&host, &opts()).expect("accepted over http");
    assert_eq!(ok.auth, AuthUsed::Basic);
    assert_eq!(ok.endpoint, format!("http://{host}/v2/"));
    // A wrong password over the fallback is a clear rejection, not the https handshake error.
    let err = verify(&host, USER, &Secret::new("nope"), &opts()).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    // Every request went over http: the https attempt never reached the handler.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.target.starts_with("/v2/"))
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 10.5: a server that echoes the secret, in every form, never gets it printed.

/// Every shape a server could echo the secret in: plain, base64 of the password and of
/// `user:password` (standard and url-safe, with and without padding), percent-encoded.
fn secret_forms() -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut forms = vec![PASSWORD.to_string()];
    for data in [PASSWORD.to_string(), format!("{USER}:{PASSWORD}")] {
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            forms.push(engine.encode(data.as_bytes()));
        }
    }
    let percent: String = PASSWORD
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    forms.push(percent);
    forms
}

/// No piece of 6 characters or more of any form of the secret is in `text`.
fn assert_no_secret_form(text: &str) {
    for form in secret_forms() {
        let chars: Vec<char> = form.chars().collect();
        for piece in chars.windows(6) {
            let piece: String = piece.iter().collect();
            assert!(!text.contains(&piece), "{piece:?} of {form:?} in: {text}");
        }
    }
}

/// Each way of echoing: the whole form, a truncated copy, and the password inside other base64.
fn echoes() -> Vec<String> {
    let mut out = Vec::new();
    for form in secret_forms() {
        let cut: String = form.chars().take(form.chars().count() * 2 / 3).collect();
        out.push(form);
        out.push(cut);
    }
    out.push(base64::engine::general_purpose::STANDARD.encode(format!("token:{PASSWORD}:x")));
    out
}

#[test]
fn a_registry_echoing_the_secret_in_any_form_never_gets_it_printed() {
    for echo in echoes() {
        let body =
            format!(r#"{{"errors":[{{"code":"DENIED","message":"denied for {echo} (really)"}}]}}"#);
        let registry = Mock::start(move |req| match req.header("authorization") {
            None => reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""),
            Some(_) => reply(401, &[("Content-Type", "application/json")], &body),
        });
        let err = check(&registry.url(), &opts()).expect_err("rejected");
        assert_eq!(err.exit_code(), 2, "{err}");
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("denied for") && text.contains("REDACTED"),
            "{text}"
        );
        assert_no_secret_form(&text);
    }
}

#[test]
fn a_token_service_echoing_the_secret_never_gets_it_printed() {
    for echo in echoes() {
        let body = format!(r#"{{"details":"no such user {echo}"}}"#);
        let tokens = Mock::start(move |_| reply(401, &[], &body));
        let challenge = format!("Bearer realm=\"{}/token\",service=\"s\"", tokens.url());
        let registry = Mock::start(move |_| reply(401, &[("WWW-Authenticate", &challenge)], ""));
        let err = check(&registry.url(), &opts()).expect_err("rejected");
        assert_eq!(err.exit_code(), 2, "{err}");
        assert_no_secret_form(&format!("{err} {err:?}"));
    }
}

#[test]
fn a_redirect_to_a_url_carrying_the_secret_is_never_printed() {
    let dead = free_port(); // nothing listens there
    let locations = [
        // Somewhere unreachable, the secret in the path and the query.
        format!("http://127.0.0.1:{dead}/v2/{PASSWORD}/?auth={PASSWORD}"),
        // Plain http elsewhere: refused before connecting, and the URL still not shown.
        format!("http://registry.invalid/{PASSWORD}/v2/"),
        // The base64 of the credentials in a same-origin path that then loops.
        format!(
            "/v2/{}/",
            base64::engine::general_purpose::URL_SAFE.encode(format!("{USER}:{PASSWORD}"))
        ),
    ];
    for location in locations {
        let loc = location.clone();
        let registry = Mock::start(move |req| match req.header("authorization") {
            None => reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""),
            Some(_) => reply(302, &[("Location", &loc)], ""),
        });
        let err = check(&registry.url(), &opts()).expect_err(&location);
        let text = format!("{err} {err:?}");
        assert_no_secret_form(&text);
        assert_lacks(&text, "/v2/s3cret");
        check_message(&err);
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 10.11: the loopback fallback reports what plain http answered; a 200 from elsewhere is
// not an acceptance.

#[test]
fn loopback_fallback_reports_what_plain_http_answered() {
    let options = Options {
        timeout: Duration::from_secs(1),
        ..opts()
    };
    // A server error over http: unreachable with its status, not a TLS failure.
    let server = Mock::start_http_only(|_| reply(500, &[], "boom"));
    let err = check(&format!("127.0.0.1:{}", server.port()), &options).expect_err("500");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert_contains(&err.to_string(), "HTTP 500");
    assert_contains(&err.to_string(), "http://127.0.0.1");

    // A token service that answers without a token: the protocol failure, exit 6.
    let tokens = Mock::start_http_only(|_| reply(200, &[], r#"{"nothing":"here"}"#));
    let challenge = format!("Bearer realm=\"{}/token\"", tokens.url());
    let registry =
        Mock::start_http_only(move |_| reply(401, &[("WWW-Authenticate", &challenge)], ""));
    let err = check(&format!("127.0.0.1:{}", registry.port()), &options).expect_err("no token");
    assert_eq!(err.exit_code(), 6, "{err:?}");
    assert_contains(&err.to_string(), "without a token");

    // A registry that never answers over http: the timeout, exit 3.
    let hang = Mock::start_http_only(|_| {
        std::thread::sleep(Duration::from_millis(1500));
        reply(200, &[], "")
    });
    let err = check(&format!("127.0.0.1:{}", hang.port()), &options).expect_err("hang");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert_contains(&err.to_string(), "no answer within");
    drop(hang);
}

#[test]
fn a_200_from_another_server_after_a_redirect_is_not_accepted() {
    let elsewhere = Mock::start(|_| registry_200());
    let target = format!("{}/v2/", elsewhere.url());
    let registry = Mock::start(move |req| match req.header("authorization") {
        None => reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""),
        Some(_) => reply(307, &[("Location", &target)], ""),
    });
    let err = check(&registry.url(), &opts()).expect_err("not accepted");
    assert_eq!(err.exit_code(), 6, "{err:?}");
    assert_contains(&err.to_string(), "could not be checked");
    assert_eq!(elsewhere.requests()[0].header("authorization"), None);

    // The same through a token service that redirects to one handing out tokens to anyone.
    let anyone = Mock::start(|_| reply(200, &[], r#"{"token":"anonymous-token"}"#));
    let handout = format!("{}/token", anyone.url());
    let tokens = Mock::start(move |_| reply(302, &[("Location", &handout)], ""));
    let challenge = format!("Bearer realm=\"{}/token\"", tokens.url());
    let registry = Mock::start(move |req| match req.header("authorization") {
        Some("Bearer anonymous-token") => reply(200, &[], "{}"),
        _ => reply(401, &[("WWW-Authenticate", &challenge)], ""),
    });
    let err = check(&registry.url(), &opts()).expect_err("not accepted");
    assert_eq!(err.exit_code(), 6, "{err:?}");
    assert_contains(&err.to_string(), "could not be checked");
    assert_eq!(
        registry.requests().len(),
        1,
        "the anonymous token was never used"
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 13.4: an identity token (username `<token>`) through docker's OAuth2 refresh grant.

const IDENTITY_TOKEN: &str = "Rt9x-Qm2Zp/Lk7+Wv4=eyJ0";

/// A token service that takes only docker's refresh grant for IDENTITY_TOKEN and a registry
/// that takes only the access token it issues.
fn identity_setup() -> (Mock, Mock) {
    let tokens = Mock::start(|req| {
        let fields = req.form();
        let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let well_formed = req.method == "POST"
            && req.path() == "/oauth/token"
            && req.header("content-type") == Some("application/x-www-form-urlencoded")
            && req.header("authorization").is_none()
            && field("grant_type") == Some("refresh_token")
            && field("client_id") == Some("docker")
            && field("service") == Some("registry.test")
            && field("scope") == Some("repository:a/b:pull registry:catalog:*");
        if !well_formed {
            return reply(400, &[], r#"{"error":"invalid_request"}"#);
        }
        if field("refresh_token") == Some(IDENTITY_TOKEN) {
            reply(
                200,
                &[("Content-Type", "application/json")],
                r#"{"access_token":"acc-1","expires_in":300,"refresh_token":"next"}"#,
            )
        } else {
            reply(
                400,
                &[("Content-Type", "application/json")],
                r#"{"error":"invalid_grant","error_description":"refresh token expired"}"#,
            )
        }
    });
    let challenge = format!(
        "Bearer realm=\"{}/oauth/token\",service=\"registry.test\",scope=\"repository:a/b:pull registry:catalog:*\"",
        tokens.url()
    );
    let registry = Mock::start(move |req| match req.header("authorization") {
        Some("Bearer acc-1") => registry_200(),
        _ => reply(401, &[("WWW-Authenticate", &challenge)], ""),
    });
    (tokens, registry)
}

#[test]
fn identity_token_goes_through_the_refresh_grant() {
    let (tokens, registry) = identity_setup();
    let ok = verify(
        &registry.url(),
        "<token>",
        &Secret::new(IDENTITY_TOKEN),
        &opts(),
    )
    .expect("accepted");
    assert_eq!(
        ok.auth,
        AuthUsed::IdentityToken {
            realm: format!("{}/oauth/token", tokens.url())
        }
    );
    assert_contains(&ok.to_string(), "identity token");
    let seen = tokens.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        !seen[0].target.contains("Tok3n"),
        "the token never goes in a URL"
    );
    assert_eq!(
        registry.requests()[1].header("authorization"),
        Some("Bearer acc-1")
    );

    // An expired identity token: rejected (exit 2), with the service's reason.
    let err = verify(
        &registry.url(),
        "<token>",
        &Secret::new("stale-token"),
        &opts(),
    )
    .expect_err("rejected");
    assert_eq!(err.exit_code(), 2, "{err:?}");
    assert_contains(&err.to_string(), "refresh token expired");
    assert_eq!(
        registry.requests().len(),
        3,
        "the registry saw no second token"
    );

    // A registry with Basic auth only cannot take an identity token: said so, exit 6.
    let basic = Mock::start(|_| reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""));
    let err = verify(
        &basic.url(),
        "<token>",
        &Secret::new(IDENTITY_TOKEN),
        &opts(),
    )
    .expect_err("unusable");
    assert_eq!(err.exit_code(), 6, "{err:?}");
    assert_contains(&err.to_string(), "identity token");
    assert_eq!(basic.requests().len(), 1, "nothing was sent to it");
}

// ---------------------------------------------------------------------------------------------
// Issue 13.3: trust what docker and podman trust.

#[test]
fn self_signed_certificate_from_docker_s_recipe_is_accepted_when_trusted() {
    if !have_programs("self_signed_certificate_from_docker_s_recipe", &tools()) {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.docker_recipe("domain", "IP:127.0.0.1,DNS:localhost");
    let reg = tls_registry(&cert, &key);
    let trusting = Options {
        ca_cert: Some(cert.clone()),
        ..opts()
    };
    let ok = check(&reg.host(), &trusting).expect("accepted");
    assert_eq!(ok.auth, AuthUsed::Basic);
    // Still refused by a machine that does not trust it, and still checked for the password.
    let err = check(&reg.host(), &opts()).expect_err("untrusted");
    assert_eq!(tls_problem(&err), TlsProblem::UnknownIssuer);
    let err = verify(&reg.host(), USER, &Secret::new("wrong"), &trusting).expect_err("wrong pw");
    assert_eq!(err.exit_code(), 2, "{err:?}");
    drop(reg);

    // Trusted, but for another name: the name is still checked.
    let (cert, key) = pki.docker_recipe("othername", "DNS:myregistry.domain.com");
    let reg = tls_registry(&cert, &key);
    let trusting = Options {
        ca_cert: Some(cert.clone()),
        ..opts()
    };
    let err = check(&reg.host(), &trusting).expect_err("name");
    assert_eq!(tls_problem(&err), TlsProblem::NameMismatch);
    drop(reg);

    // Trusted, but expired: the dates are still checked.
    let (cert, key) = pki.expired_self_signed();
    let reg = tls_registry(&cert, &key);
    let trusting = Options {
        ca_cert: Some(cert.clone()),
        ..opts()
    };
    let err = check(&reg.host(), &trusting).expect_err("expired");
    assert_eq!(tls_problem(&err), TlsProblem::Expired);
}

#[test]
fn containers_certs_d_folders_are_read_first_found() {
    let Some((pki, reg)) = good_registry("containers_certs_d_folders_are_read_first_found") else {
        return;
    };
    let dirs = tempfile::tempdir().unwrap();
    let user = dirs.path().join("user-certs.d");
    let host_dir = user.join(reg.host());
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::copy(pki.path("ca.crt"), host_dir.join("registry-ca.crt")).unwrap();
    let with_dirs = |containers: Vec<PathBuf>| Options {
        certs_dirs: CertsDirs {
            docker: vec![],
            containers,
        },
        ..opts()
    };
    let ok = check(
        &reg.host(),
        &with_dirs(vec![user.clone(), dirs.path().join("etc")]),
    )
    .expect("trusted through the user's certs.d");
    assert_eq!(ok.auth, AuthUsed::Basic);
    // containers uses the first folder that exists: an empty one before it hides it.
    let empty = dirs.path().join("empty");
    std::fs::create_dir_all(empty.join(reg.host())).unwrap();
    let err = check(&reg.host(), &with_dirs(vec![empty, user])).expect_err("hidden");
    assert_eq!(tls_problem(&err), TlsProblem::UnknownIssuer);
}

/// Removes a folder made under /etc/docker/certs.d when the test ends, however it ends.
struct CertsDir(PathBuf);

impl Drop for CertsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn docker_login(host: &str, password: &str) -> std::process::Output {
    let config = tempfile::tempdir().unwrap();
    // A config that already holds auths: docker then keeps the file store instead of
    // detecting a desktop keychain helper (which needs D-Bus and X11 here).
    std::fs::write(
        config.path().join("config.json"),
        r#"{"auths":{"placeholder.invalid":{}}}"#,
    )
    .unwrap();
    let mut cmd = std::process::Command::new("docker");
    cmd.env("DOCKER_CONFIG", config.path()).args([
        "login",
        host,
        "--username",
        USER,
        "--password-stdin",
    ]);
    common::run_with_stdin(cmd, password.as_bytes())
}

/// The certificate where docker looks, `/etc/docker/certs.d/127.0.0.1:PORT/`, made both ways
/// (signed by a CA, and Docker's self-signed recipe): `verify` with no `--ca-cert` accepts,
/// and so does `docker login` to the same registry. (The daemon treats 127.0.0.0/8 as an
/// insecure registry and does not verify its certificate at all, so its login shows that the
/// registry and credentials work for docker, not which certificates it trusts; the second
/// half, without the folder, shows the folder is what `verify` trusted.)
#[test]
fn docker_certs_d_is_trusted_and_agrees_with_docker_login() {
    let test = "docker_certs_d_is_trusted_and_agrees_with_docker_login";
    if !have_programs(test, &tools()) || !servers::have_docker_daemon(test) {
        return;
    }
    let root = Path::new("/etc/docker/certs.d");
    if std::fs::create_dir_all(root).is_err() {
        servers::skip(
            test,
            &format!("cannot create {} (needs root)", root.display()),
        );
        return;
    }
    let pki = Pki::new();
    let (signed, signed_key) = pki.server_cert("server", "leaf");
    let (recipe, recipe_key) = pki.docker_recipe("domain", "IP:127.0.0.1,DNS:localhost");
    for (cert, key, trusted) in [
        (&signed, &signed_key, pki.path("ca.crt")),
        (&recipe, &recipe_key, recipe.clone()),
    ] {
        let reg = tls_registry(cert, key);
        let dir = CertsDir(root.join(reg.host()));
        std::fs::create_dir_all(&dir.0).unwrap();
        std::fs::copy(&trusted, dir.0.join("ca.crt")).unwrap();

        let ok = check(&reg.host(), &opts()).expect("trusted via certs.d");
        assert_eq!(ok.auth, AuthUsed::Basic);
        assert_eq!(ok.endpoint, format!("https://{}/v2/", reg.host()));
        let login = docker_login(&reg.host(), PASSWORD);
        assert!(
            login.status.success(),
            "docker login disagrees: {}",
            String::from_utf8_lossy(&login.stderr)
        );
        // Both refuse a wrong password.
        let err = verify(&reg.host(), USER, &Secret::new("wrong"), &opts()).expect_err("wrong");
        assert_eq!(err.exit_code(), 2, "{err:?}");
        assert!(!docker_login(&reg.host(), "wrong").status.success());

        drop(dir);
        let err = check(&reg.host(), &opts()).expect_err("folder gone");
        assert_eq!(tls_problem(&err), TlsProblem::UnknownIssuer);
    }
}
