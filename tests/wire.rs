//! The protocol in-process: golden answers and the project rules for writes (SPEC §2, §4).
//! The same code path as the binary (`protocol::run`), without a process start per case; the
//! few cases that need a real process (argv, exit codes, stdin handling) are in `protocol.rs`.

mod common;
use common::*;

const NF: &str = "credentials not found in native keychain\n";

/// `shared` (unrestricted) and `p1-cred` (restricted to p1) for ghcr.io, as in issue 10.
fn shared_and_p1() -> Wire {
    let w = Wire::new();
    w.login("ghcr.io", "shared-user", "shared-secret", None);
    w.login("ghcr.io", "p1-user", "p1-secret", Some("p1"));
    assert_eq!(
        w.saved(),
        [
            ("login-ghcr-io".into(), "shared-user".into(), vec![]),
            (
                "login-ghcr-io-2".into(),
                "p1-user".into(),
                vec!["p1".to_string()]
            )
        ]
    );
    w.notes();
    w
}

#[test]
fn a_logout_in_one_project_never_touches_what_another_gets() {
    let w = shared_and_p1();
    // docker logout with credsStore: four erases, all one registry here.
    for server in ["ghcr.io", "ghcr.io", "http://ghcr.io", "https://ghcr.io"] {
        assert_eq!(
            w.call("erase", server.as_bytes(), Some("p1")),
            (0, String::new())
        );
    }
    assert_eq!(
        w.saved(),
        [("login-ghcr-io".into(), "shared-user".into(), vec![])]
    );
    let notes = w.notes();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("left \"login-ghcr-io\" alone")),
        "{notes:?}"
    );
    for project in [None, Some("p1"), Some("p2")] {
        assert_eq!(
            w.call("get", b"ghcr.io", project),
            (0, get_answer("ghcr.io", "shared-user", "shared-secret")),
            "{project:?}"
        );
    }
    // Only with no project does a logout remove the shared credential.
    assert_eq!(w.call("erase", b"ghcr.io", None), (0, String::new()));
    assert!(w.saved().is_empty());
}

#[test]
fn a_login_in_a_project_never_changes_or_creates_what_others_get() {
    let w = Wire::new();
    w.login("ghcr.io", "shared-user", "shared-secret", None);
    // In p1, with only the shared one saved: a new credential for p1 alone.
    w.login("ghcr.io", "p1-user", "p1-secret", Some("p1"));
    assert_eq!(
        w.call("get", b"ghcr.io", Some("p1")),
        (0, get_answer("ghcr.io", "p1-user", "p1-secret"))
    );
    for project in [None, Some("p2")] {
        assert_eq!(
            w.call("get", b"ghcr.io", project),
            (0, get_answer("ghcr.io", "shared-user", "shared-secret"))
        );
    }
    // Again in p1: p1's own credential is updated, nothing else.
    w.login("https://GHCR.io/v2/", "p1-user2", "p1-rotated", Some("p1"));
    assert_eq!(
        w.saved(),
        [
            ("login-ghcr-io".into(), "shared-user".into(), vec![]),
            (
                "login-ghcr-io-2".into(),
                "p1-user2".into(),
                vec!["p1".to_string()]
            )
        ]
    );
    // In a project with nothing saved and no shared credential: restricted to it alone, so
    // no other project (and no unset one) silently uses it.
    w.login("quay.io", "p2-user", "p2-secret", Some("p2"));
    assert_eq!(w.call("get", b"quay.io", None), (1, NF.into()));
    assert_eq!(w.call("get", b"quay.io", Some("p3")), (1, NF.into()));
    assert_eq!(
        w.call("list", b"", None).1,
        "{\"ghcr.io\":\"shared-user\"}\n"
    );
    assert_eq!(
        w.call("list", b"", Some("p2")).1,
        "{\"ghcr.io\":\"shared-user\",\"quay.io\":\"p2-user\"}\n"
    );
}

#[test]
fn a_credential_shared_by_several_projects_is_changed_by_none_of_their_logins() {
    let w = Wire::new();
    w.login("ghcr.io", "u", "s", None);
    let store = w.store();
    let id = store.find("login-ghcr-io").unwrap().unwrap().id.clone();
    store
        .write(|tx| {
            tx.update(&id, |c| {
                c.restrictions =
                    docker_credential_northflank::policy::Restrictions::to_projects(vec![
                        "p1".into(),
                        "p2".into(),
                    ])
            })
        })
        .unwrap();
    let before = w.saved();
    let json = br#"{"ServerURL":"ghcr.io","Username":"x","Secret":"y"}"#;
    let (code, out) = w.call("store", json, Some("p1"));
    assert_eq!(code, 1);
    assert!(out.contains("is shared with projects p1,p2"), "{out}");
    assert_eq!(out.lines().count(), 1);
    assert_eq!(w.call("erase", b"ghcr.io", Some("p2")), (0, String::new()));
    assert_eq!(w.saved(), before);
    assert_eq!(
        w.call("get", b"ghcr.io", Some("p2")),
        (0, get_answer("ghcr.io", "u", "s"))
    );
}

#[test]
fn a_malformed_project_writes_nothing() {
    let w = shared_and_p1();
    let before = w.saved();
    for bad in ["p1 ", "p1,p2", "é"] {
        let json = br#"{"ServerURL":"ghcr.io","Username":"x","Secret":"y"}"#;
        let (code, out) = w.call("store", json, Some(bad));
        assert_eq!(code, 1, "{bad:?}");
        assert!(out.contains("is not a project id"), "{out}");
        assert_eq!(w.call("erase", b"ghcr.io", Some(bad)), (0, String::new()));
        // Reads fail closed: only the unrestricted credential.
        assert_eq!(
            w.call("get", b"ghcr.io", Some(bad)),
            (0, get_answer("ghcr.io", "shared-user", "shared-secret"))
        );
    }
    assert_eq!(w.saved(), before);
}

#[test]
fn golden_answers() {
    let w = Wire::new();
    w.login("ghcr.io", "<token>", "a&b<c>\u{2028}\u{1b}\"\\", None);
    assert_eq!(
        w.call("get", b"https://GHCR.io/v2/", None),
        (
            0,
            "{\"ServerURL\":\"https://GHCR.io/v2/\",\"Username\":\"\\u003ctoken\\u003e\",\"Secret\":\"a\\u0026b\\u003cc\\u003e\\u2028\\u001b\\\"\\\\\"}\n"
                .into()
        )
    );
    assert_eq!(
        w.call("list", b"ignored", None),
        (0, "{\"ghcr.io\":\"\\u003ctoken\\u003e\"}\n".into())
    );
    assert_eq!(
        w.call("get", b"", None),
        (1, "no credentials server URL\n".into())
    );
    assert_eq!(
        w.call("erase", b" \n", None),
        (1, "no credentials server URL\n".into())
    );
    assert_eq!(
        w.call("store", br#"{"ServerURL":"","Username":"u"}"#, None),
        (1, "no credentials server URL\n".into())
    );
    assert_eq!(
        w.call("store", br#"{"ServerURL":"x.io","Username":""}"#, None),
        (1, "no credentials username\n".into())
    );
    assert_eq!(w.call("get", b"ghcr.io.evil.com", None), (1, NF.into()));
    assert_eq!(
        w.call("erase", b"never-saved.example.com", None),
        (0, String::new())
    );
    let (code, out) = w.call("version", b"", None);
    assert_eq!(code, 0);
    assert!(out.starts_with(
        "docker-credential-northflank (github.com/northflank/docker-credential-northflank) v"
    ));
}
