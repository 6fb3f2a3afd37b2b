//! `verify` against real servers on 127.0.0.1: Debian's `docker-registry` (distribution) with
//! htpasswd auth over TLS with a CA made here by `openssl`, and small servers of our own for the
//! Bearer token flow, redirects, timeouts and things that are not registries.
//!
//! Outside programs: `docker-registry`, `openssl`, `htpasswd`, and `docker` (CLI and daemon) for
//! the certs.d comparison, which also needs root to write `/etc/docker/certs.d`. When one is
//! missing the test fails under `CI=true` and otherwise prints `SKIPPED: …` to stderr and
//! returns.

#![cfg(feature = "network")]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use docker_credential_northflank::secret::Secret;
use docker_credential_northflank::verify::{
    AuthUsed, CertsDirs, Failure, Options, TlsProblem, endpoint_for, verify,
};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-Pa55word";

// ---------------------------------------------------------------------------------------------
// Outside programs

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    // PATH only: `Command::new(name)` searches the same list.
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `true` when every program is there. Missing under `CI=true`: the test fails. Elsewhere: a loud
/// SKIPPED line, and the caller returns.
fn have_programs(test: &str, names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| find_program(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "{test}: needs {} (Debian packages docker-registry, openssl, apache2-utils)",
        missing.join(", ")
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}; CI=true, so this is a failure");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
    false
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn secret() -> Secret {
    Secret::new(PASSWORD)
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

// ---------------------------------------------------------------------------------------------
// A CA and server certificates made with openssl

const OPENSSL_CNF: &str = r#"
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[leaf_other]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
[self_ca_san]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment
subjectAltName = IP:127.0.0.1,DNS:localhost
[ca]
default_ca = test_ca
[test_ca]
database = db/index.txt
new_certs_dir = db
serial = db/serial
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
"#;

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("openssl.cnf"), OPENSSL_CNF).expect("write cnf");
        let pki = Pki { dir };
        pki.make_ca("ca", "Test Registry CA");
        pki.make_ca("other-ca", "Some Other CA");
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.current_dir(self.dir.path());
        c
    }

    fn make_ca(&self, name: &str, cn: &str) {
        run(self
            .openssl()
            .args(words(
                "req -x509 -config openssl.cnf -extensions v3_ca -nodes -days 2",
            ))
            .args(words("-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"))
            .args(words(&format!("-keyout {name}.key -out {name}.crt")))
            .args(["-subj", &format!("/CN={cn}")]));
    }

    fn make_csr(&self, name: &str, cn: &str) {
        run(self
            .openssl()
            .args(words("req -new -config openssl.cnf -nodes"))
            .args(words("-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"))
            .args(words(&format!("-keyout {name}.key -out {name}.csr")))
            .args(["-subj", &format!("/CN={cn}")]));
    }

    /// A server certificate signed by `ca.crt`, valid now; `extensions` picks the names.
    /// Returns (certificate, key).
    fn server_cert(&self, name: &str, extensions: &str) -> (PathBuf, PathBuf) {
        self.make_csr(name, "test server");
        run(self
            .openssl()
            .args(words(
                "x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 2",
            ))
            .args(words(&format!(
                "-extfile openssl.cnf -extensions {extensions}"
            )))
            .args(words(&format!("-in {name}.csr -out {name}.crt"))));
        (
            self.path(&format!("{name}.crt")),
            self.path(&format!("{name}.key")),
        )
    }

    /// A server certificate for 127.0.0.1/localhost signed by `ca.crt` that expired in 2020.
    /// `openssl ca` is used because OpenSSL 3.0's `x509 -req` cannot set past dates.
    fn expired_cert(&self) -> (PathBuf, PathBuf) {
        self.make_csr("expired", "expired server");
        self.init_ca_db();
        run(self
            .openssl()
            .args(words(
                "ca -batch -config openssl.cnf -cert ca.crt -keyfile ca.key",
            ))
            .args(words(
                "-extensions leaf -notext -in expired.csr -out expired.crt",
            ))
            .args(words("-startdate 20200101000000Z -enddate 20200201000000Z")));
        (self.path("expired.crt"), self.path("expired.key"))
    }
}

impl Pki {
    /// `openssl ca`'s database, for certificates with chosen dates.
    fn init_ca_db(&self) {
        std::fs::create_dir_all(self.path("db")).expect("mkdir db");
        std::fs::write(self.path("db/index.txt"), "").expect("index");
        std::fs::write(self.path("db/serial"), "1000\n").expect("serial");
    }

    /// The recipe of Docker's "use self-signed certificates" page, word for word but for the
    /// names and a subject given on the command line: a self-signed certificate that is its
    /// own CA (OpenSSL's default configuration adds `CA:TRUE`). Returns (certificate, key).
    fn docker_recipe(&self, name: &str, san: &str) -> (PathBuf, PathBuf) {
        run(self
            .openssl()
            .args(words("req -newkey rsa:4096 -nodes -sha256"))
            .args(["-keyout", &format!("{name}.key")])
            .args(["-addext", &format!("subjectAltName = {san}")])
            .args(words("-x509 -days 365"))
            .args(["-out", &format!("{name}.crt")])
            .args(["-subj", "/CN=myregistry.domain.com"]));
        (
            self.path(&format!("{name}.crt")),
            self.path(&format!("{name}.key")),
        )
    }

    /// A self-signed CA certificate for 127.0.0.1 that expired in 2020.
    fn expired_self_signed(&self) -> (PathBuf, PathBuf) {
        self.make_csr("selfexp", "expired self-signed");
        self.init_ca_db();
        run(self
            .openssl()
            .args(words(
                "ca -batch -config openssl.cnf -selfsign -keyfile selfexp.key",
            ))
            .args(words(
                "-extensions self_ca_san -notext -in selfexp.csr -out selfexp.crt",
            ))
            .args(words("-startdate 20200101000000Z -enddate 20200201000000Z")));
        (self.path("selfexp.crt"), self.path("selfexp.key"))
    }
}

/// Command-line words (none of ours contain spaces).
fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

// ---------------------------------------------------------------------------------------------
// Debian's docker-registry with htpasswd auth over TLS

struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Start `docker-registry serve` on 127.0.0.1 with TLS (`cert`, `key`) and one htpasswd user.
    fn start(cert: &Path, key: &Path) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let htpasswd = run(Command::new("htpasswd").args(["-Bbn", USER, PASSWORD]));
        std::fs::write(dir.path().join("htpasswd"), htpasswd).expect("write htpasswd");
        std::fs::create_dir_all(dir.path().join("data")).expect("mkdir data");
        let port = free_port();
        // Distribution 2.8 (Debian 12): config version 0.1, as /etc/docker/registry/config.yml.
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {data}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: test-only-http-secret\n  tls:\n    certificate: {cert}\n    key: {key}\n\
             auth:\n  htpasswd:\n    realm: test-realm\n    path: {htpasswd}\n",
            data = dir.path().join("data").display(),
            cert = cert.display(),
            key = key.display(),
            htpasswd = dir.path().join("htpasswd").display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let log2 = log.try_clone().expect("clone log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .expect("spawn docker-registry");
        let mut reg = Registry {
            child,
            port,
            _dir: dir,
        };
        reg.wait_listening();
        reg
    }

    /// Wait until the port accepts connections. 30 s is only a safety bound for a stuck start.
    fn wait_listening(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._dir.path().join("registry.log"))
                    .unwrap_or_default();
                panic!("docker-registry exited with {status}: {log}");
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "docker-registry did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TOOLS: &[&str] = &["docker-registry", "openssl", "htpasswd"];

fn good_registry(test: &str) -> Option<(Pki, Registry)> {
    if !have_programs(test, TOOLS) {
        return None;
    }
    let pki = Pki::new();
    let (cert, key) = pki.server_cert("server", "leaf");
    let reg = Registry::start(&cert, &key);
    Some((pki, reg))
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
    let ok = verify(&reg.host(), USER, &secret(), &with_ca(&pki)).expect("accepted");
    assert_eq!(ok.auth, AuthUsed::Basic);
    assert_eq!(ok.endpoint, format!("https://127.0.0.1:{}/v2/", reg.port));
    assert!(!ok.to_string().contains(PASSWORD));

    // The same registry by its other names: localhost (in the SAN), an explicit scheme and path.
    for name in [
        format!("localhost:{}", reg.port),
        format!("https://127.0.0.1:{}/", reg.port),
        format!("HTTPS://LOCALHOST:{}/v2/", reg.port),
    ] {
        let ok = verify(&name, USER, &secret(), &with_ca(&pki)).expect(&name);
        assert_eq!(ok.auth, AuthUsed::Basic, "{name}");
    }

    // The CA given as SSL_CERT_FILE instead of --ca-cert works the same.
    let env_style = Options {
        ssl_cert_file: Some(pki.path("ca.crt")),
        ..opts()
    };
    let ok = verify(&reg.host(), USER, &secret(), &env_style).expect("accepted via SSL_CERT_FILE");
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
        assert!(text.contains("rejected the credentials"), "{text}");
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
        let err = verify(&reg.host(), USER, &secret(), &options).expect_err("unknown issuer");
        match &err {
            Failure::Tls { problem, .. } => assert_eq!(*problem, TlsProblem::UnknownIssuer),
            other => panic!("expected a TLS failure, got {other:?}"),
        }
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("--ca-cert"), "{err}");
        check_message(&err);
    }
}

#[test]
fn registry_certificate_for_another_name_is_a_tls_failure() {
    if !have_programs("registry_certificate_for_another_name", TOOLS) {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.server_cert("other", "leaf_other");
    let reg = Registry::start(&cert, &key);
    let err = verify(&reg.host(), USER, &secret(), &with_ca(&pki)).expect_err("name mismatch");
    match &err {
        Failure::Tls { problem, .. } => assert_eq!(*problem, TlsProblem::NameMismatch),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string().contains("not valid for this host name"),
        "{err}"
    );
    check_message(&err);
}

#[test]
fn registry_with_expired_certificate_is_a_tls_failure() {
    if !have_programs("registry_with_expired_certificate", TOOLS) {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.expired_cert();
    let reg = Registry::start(&cert, &key);
    let err = verify(&reg.host(), USER, &secret(), &with_ca(&pki)).expect_err("expired");
    match &err {
        Failure::Tls { problem, .. } => assert_eq!(*problem, TlsProblem::Expired),
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert_eq!(err.exit_code(), 4);
    assert!(err.to_string().contains("expired"), "{err}");
    check_message(&err);
}

#[test]
fn plain_http_to_a_tls_registry_is_not_a_registry_answer() {
    let Some((pki, reg)) = good_registry("plain_http_to_a_tls_registry") else {
        return;
    };
    // Go answers plain HTTP on a TLS port with "400 Client sent an HTTP request to an HTTPS server".
    let err = verify(
        &format!("http://{}", reg.host()),
        USER,
        &secret(),
        &with_ca(&pki),
    )
    .expect_err("http to https port");
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
        let err = verify(&registry, USER, &secret(), &opts()).expect_err("closed port");
        assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains("connection refused"), "{err}");
        check_message(&err);
    }
}

// ---------------------------------------------------------------------------------------------
// Servers of our own: plain HTTP/1.1 on 127.0.0.1, one request per connection.

#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Query parameters, percent-decoded.
    fn query(&self, name: &str) -> Vec<String> {
        let Some((_, q)) = self.target.split_once('?') else {
            return vec![];
        };
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
            .collect()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

type Handler = Box<dyn Fn(&Req) -> Reply + Send + Sync>;

struct Mock {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Req>>>,
    thread: Option<JoinHandle<()>>,
}

impl Mock {
    fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Mock {
        Mock::serve(false, handler)
    }

    /// A plain-HTTP server that answers a TLS ClientHello with `400 Bad Request`, as Go's and
    /// Python's do (so the https attempt sees "not TLS" rather than a closed connection).
    fn start_http_only(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Mock {
        Mock::serve(true, handler)
    }

    fn serve(answer_tls: bool, handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Mock {
        let handler: Handler = Box::new(handler);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let Some(req) = read_request(&mut conn, answer_tls) else {
                    continue;
                };
                requests2.lock().expect("lock").push(req.clone());
                let r = handler(&req);
                let mut head = format!("HTTP/1.1 {} Status\r\n", r.status);
                for (n, v) in &r.headers {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str(&format!(
                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
                    r.body.len()
                ));
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&r.body);
                let _ = conn.flush();
            }
        });
        Mock {
            port,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Req> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)); // wake accept()
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_request(conn: &mut TcpStream, answer_tls: bool) -> Option<Req> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        if buf.is_empty() && byte[0] == 0x16 {
            if answer_tls {
                // What Go's and Python's servers do with a ClientHello.
                let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
            }
            return None; // a TLS handshake: a plain-HTTP server fails it
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        target,
        headers,
        body,
    })
}

fn basic(user: &str, pw: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
    )
}

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
    let ok = verify(&registry.url(), USER, &secret(), &opts()).expect("accepted");
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
    assert!(!err.to_string().contains("not-it"));
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
    assert!(
        text.contains("token from the token service was refused"),
        "{text}"
    );
    assert!(text.contains("read:packages"), "{text}");
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
    let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("refused");
    assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("--insecure-http"), "{err}");
    assert_eq!(err.exit_code(), 6);
    // A realm that is not an http(s) URL at all.
    let (_tokens, registry) = token_setup(Some("ftp://127.0.0.1/token".into()));
    let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("bad realm");
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
        let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("no token");
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
    let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("rejected");
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
    let ok = verify(&registry.url(), USER, &secret(), &opts()).expect("accepted");
    assert_eq!(ok.auth, AuthUsed::Basic);
    assert_eq!(registry.requests().len(), 3);
}

#[test]
fn redirect_loop_is_bounded() {
    let registry = Mock::start(|_| reply(302, &[("Location", "/v2/")], ""));
    let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("loop");
    assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("redirects"), "{err}");
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
        let err = verify(&server.url(), USER, &secret(), &opts()).expect_err("not a registry");
        assert!(
            matches!(err, Failure::NotARegistry { .. }),
            "{status}: {err:?}"
        );
        assert_eq!(err.exit_code(), 5);
        assert!(
            err.to_string().contains("is not a Docker registry"),
            "{err}"
        );
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
    let open = Mock::start(|_| {
        reply(
            200,
            &[("Docker-Distribution-API-Version", "registry/2.0")],
            "{}",
        )
    });
    let ok = verify(&open.url(), USER, &secret(), &opts()).expect("open registry");
    assert_eq!(ok.auth, AuthUsed::NoneNeeded);
    assert!(ok.to_string().contains("could not be checked"), "{ok}");

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
    let err = verify(&nego.url(), USER, &secret(), &opts()).expect_err("unsupported");
    assert!(matches!(err, Failure::Protocol { .. }), "{err:?}");
    assert!(err.to_string().contains("negotiate, ntlm"), "{err}");

    // Server error: reported as unreachable (try later), not as wrong credentials.
    let down = Mock::start(|_| reply(503, &[], "maintenance"));
    let err = verify(&down.url(), USER, &secret(), &opts()).expect_err("5xx");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("503"), "{err}");
}

#[test]
fn silent_server_hits_the_timeout() {
    // Accepts connections and never answers. The timeout is a bound, not a measurement.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            held.push(conn);
        }
    });
    let options = Options {
        timeout: Duration::from_secs(1),
        ..opts()
    };
    let err = verify(
        &format!("http://127.0.0.1:{port}"),
        USER,
        &secret(),
        &options,
    )
    .expect_err("timeout");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("no answer within"), "{err}");
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, port));
    let _ = holder.join();
}

#[test]
fn endpoint_for_is_public_and_maps_the_hub() {
    assert_eq!(
        endpoint_for("https://index.docker.io/v1/"),
        "https://registry-1.docker.io/v2/"
    );
    assert_eq!(endpoint_for("ghcr.io"), "https://ghcr.io/v2/");
}

// The CLI: `add --verify` and `verify NAME|HOST` through the binary.

fn cli(store: &Path, args: &[&str], stdin: &str, project: Option<&str>) -> std::process::Output {
    use std::io::Write as _;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_docker-credential-northflank"));
    cmd.args(args)
        .env("NORTHFLANK_CONFIG_DIR", store)
        .env("NORTHFLANK_CREDENTIAL_BACKEND", "file")
        .env_remove("NORTHFLANK_PROJECT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = project {
        cmd.env("NORTHFLANK_PROJECT", p);
    }
    let mut child = cmd.spawn().expect("spawn helper");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait")
}

#[test]
fn cli_add_verify_saves_only_accepted_credentials_and_verify_checks_saved_ones() {
    let Some((pki, reg)) = good_registry("cli_add_verify") else {
        return;
    };
    let store = tempfile::tempdir().unwrap();
    let ca = pki.path("ca.crt");
    let ca = ca.to_str().unwrap();
    let host = reg.host();
    let add = |name: &str, pw: &str, project: &str| {
        let args = [
            "add",
            name,
            "--provider",
            "custom",
            "--registry",
            &host,
            "--username",
            USER,
            "--password-stdin",
            "--project",
            project,
            "--verify",
            "--ca-cert",
            ca,
        ];
        cli(store.path(), &args, pw, None)
    };
    // Refused by the registry: exit 2, nothing saved, no secret in the message.
    let out = add("wrong-one", "not-the-password", "p1");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rejected") && !err.contains("not-the-password"),
        "{err}"
    );
    assert!(!store.path().join("registries").exists(), "nothing saved");
    // Wrong CA: exit 4 (TLS).
    let args = [
        "add",
        "no-ca",
        "--provider",
        "custom",
        "--registry",
        &host,
        "--username",
        USER,
        "--password-stdin",
        "--verify",
    ];
    let out = cli(store.path(), &args, PASSWORD, None);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Accepted: saved.
    let out = add("right-one", PASSWORD, "p1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // verify NAME and verify HOST (in the project that sees it) succeed; elsewhere HOST finds nothing.
    let out = cli(
        store.path(),
        &["verify", "right-one", "--ca-cert", ca],
        "",
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("right-one"));
    let out = cli(
        store.path(),
        &["verify", &host, "--ca-cert", ca],
        "",
        Some("p1"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(
        store.path(),
        &["verify", &host, "--ca-cert", ca],
        "",
        Some("p2"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no credential for"));
    // The registry changes its mind (password rotated elsewhere): verify says rejected.
    let args = [
        "add",
        "stale",
        "--provider",
        "custom",
        "--registry",
        &host,
        "--username",
        USER,
        "--password-stdin",
        "--project",
        "p2",
    ];
    assert!(
        cli(store.path(), &args, "old-password", None)
            .status
            .success()
    );
    let out = cli(
        store.path(),
        &["verify", "stale", "--ca-cert", ca],
        "",
        None,
    );
    assert_eq!(out.status.code(), Some(2));
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
    let host = format!("127.0.0.1:{}", server.port);
    let ok = verify(&host, USER, &secret(), &opts()).expect("accepted over http");
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
        let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("rejected");
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
        let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("rejected");
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
        let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err(&location);
        let text = format!("{err} {err:?}");
        assert_no_secret_form(&text);
        assert!(!text.contains("/v2/s3cret"), "{text}");
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
    let err = verify(
        &format!("127.0.0.1:{}", server.port),
        USER,
        &secret(),
        &options,
    )
    .expect_err("500");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert!(err.to_string().contains("http://127.0.0.1"), "{err}");

    // A token service that answers without a token: the protocol failure, exit 6.
    let tokens = Mock::start_http_only(|_| reply(200, &[], r#"{"nothing":"here"}"#));
    let challenge = format!("Bearer realm=\"{}/token\"", tokens.url());
    let registry =
        Mock::start_http_only(move |_| reply(401, &[("WWW-Authenticate", &challenge)], ""));
    let err = verify(
        &format!("127.0.0.1:{}", registry.port),
        USER,
        &secret(),
        &options,
    )
    .expect_err("no token");
    assert_eq!(err.exit_code(), 6, "{err:?}");
    assert!(err.to_string().contains("without a token"), "{err}");

    // A registry that never answers over http: the timeout, exit 3.
    let hang = Mock::start_http_only(|_| {
        std::thread::sleep(Duration::from_millis(1500));
        reply(200, &[], "")
    });
    let err = verify(
        &format!("127.0.0.1:{}", hang.port),
        USER,
        &secret(),
        &options,
    )
    .expect_err("hang");
    assert!(matches!(err, Failure::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("no answer within"), "{err}");
    drop(hang);
}

#[test]
fn a_200_from_another_server_after_a_redirect_is_not_accepted() {
    let elsewhere = Mock::start(|_| {
        reply(
            200,
            &[("Docker-Distribution-API-Version", "registry/2.0")],
            "{}",
        )
    });
    let target = format!("{}/v2/", elsewhere.url());
    let registry = Mock::start(move |req| match req.header("authorization") {
        None => reply(401, &[("WWW-Authenticate", "Basic realm=\"r\"")], ""),
        Some(_) => reply(307, &[("Location", &target)], ""),
    });
    let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("not accepted");
    assert_eq!(err.exit_code(), 6, "{err:?}");
    assert!(err.to_string().contains("could not be checked"), "{err}");
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
    let err = verify(&registry.url(), USER, &secret(), &opts()).expect_err("not accepted");
    assert_eq!(err.exit_code(), 6, "{err:?}");
    assert!(err.to_string().contains("could not be checked"), "{err}");
    assert_eq!(
        registry.requests().len(),
        1,
        "the anonymous token was never used"
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 13.4: an identity token (username `<token>`) through docker's OAuth2 refresh grant.

const IDENTITY_TOKEN: &str = "Rt9x-Qm2Zp/Lk7+Wv4=eyJ0";

/// Form fields of an `application/x-www-form-urlencoded` body, decoded.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect()
}

/// A token service that takes only docker's refresh grant for IDENTITY_TOKEN and a registry
/// that takes only the access token it issues.
fn identity_setup() -> (Mock, Mock) {
    let tokens = Mock::start(|req| {
        let fields = form_fields(&req.body);
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
        Some("Bearer acc-1") => reply(
            200,
            &[("Docker-Distribution-API-Version", "registry/2.0")],
            "{}",
        ),
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
    assert!(ok.to_string().contains("identity token"), "{ok}");
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
    assert!(err.to_string().contains("refresh token expired"), "{err}");
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
    assert!(err.to_string().contains("identity token"), "{err}");
    assert_eq!(basic.requests().len(), 1, "nothing was sent to it");
}

// ---------------------------------------------------------------------------------------------
// Issue 13.3: trust what docker and podman trust.

fn tls_problem(err: &Failure) -> TlsProblem {
    match err {
        Failure::Tls { problem, .. } => *problem,
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[test]
fn self_signed_certificate_from_docker_s_recipe_is_accepted_when_trusted() {
    if !have_programs("self_signed_certificate_from_docker_s_recipe", TOOLS) {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.docker_recipe("domain", "IP:127.0.0.1,DNS:localhost");
    let reg = Registry::start(&cert, &key);
    let trusting = Options {
        ca_cert: Some(cert.clone()),
        ..opts()
    };
    let ok = verify(&reg.host(), USER, &secret(), &trusting).expect("accepted");
    assert_eq!(ok.auth, AuthUsed::Basic);
    // Still refused by a machine that does not trust it, and still checked for the password.
    let err = verify(&reg.host(), USER, &secret(), &opts()).expect_err("untrusted");
    assert_eq!(tls_problem(&err), TlsProblem::UnknownIssuer);
    let err = verify(&reg.host(), USER, &Secret::new("wrong"), &trusting).expect_err("wrong pw");
    assert_eq!(err.exit_code(), 2, "{err:?}");
    drop(reg);

    // Trusted, but for another name: the name is still checked.
    let (cert, key) = pki.docker_recipe("othername", "DNS:myregistry.domain.com");
    let reg = Registry::start(&cert, &key);
    let trusting = Options {
        ca_cert: Some(cert.clone()),
        ..opts()
    };
    let err = verify(&reg.host(), USER, &secret(), &trusting).expect_err("name");
    assert_eq!(tls_problem(&err), TlsProblem::NameMismatch);
    drop(reg);

    // Trusted, but expired: the dates are still checked.
    let (cert, key) = pki.expired_self_signed();
    let reg = Registry::start(&cert, &key);
    let trusting = Options {
        ca_cert: Some(cert.clone()),
        ..opts()
    };
    let err = verify(&reg.host(), USER, &secret(), &trusting).expect_err("expired");
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
    let ok = verify(
        &reg.host(),
        USER,
        &secret(),
        &with_dirs(vec![user.clone(), dirs.path().join("etc")]),
    )
    .expect("trusted through the user's certs.d");
    assert_eq!(ok.auth, AuthUsed::Basic);
    // containers uses the first folder that exists: an empty one before it hides it.
    let empty = dirs.path().join("empty");
    std::fs::create_dir_all(empty.join(reg.host())).unwrap();
    let err =
        verify(&reg.host(), USER, &secret(), &with_dirs(vec![empty, user])).expect_err("hidden");
    assert_eq!(tls_problem(&err), TlsProblem::UnknownIssuer);
}

/// Removes a folder made under /etc/docker/certs.d when the test ends, however it ends.
struct CertsDir(PathBuf);

impl Drop for CertsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `docker login` can run here: the CLI and a daemon it can reach.
fn have_docker(test: &str) -> bool {
    if !have_programs(test, &["docker"]) {
        return false;
    }
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let msg = format!("{test}: the docker daemon does not answer (docker info)");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}; CI=true, so this is a failure");
        }
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
    }
    ok
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
    let mut child = Command::new("docker")
        .env("DOCKER_CONFIG", config.path())
        .args(["login", host, "--username", USER, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn docker login");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    child.wait_with_output().expect("docker login")
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
    if !have_programs(test, TOOLS) || !have_docker(test) {
        return;
    }
    let root = Path::new("/etc/docker/certs.d");
    if std::fs::create_dir_all(root).is_err() {
        let msg = format!("{test}: cannot create {} (needs root)", root.display());
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{msg}; CI=true"
        );
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
        return;
    }
    let pki = Pki::new();
    let (signed, signed_key) = pki.server_cert("server", "leaf");
    let (recipe, recipe_key) = pki.docker_recipe("domain", "IP:127.0.0.1,DNS:localhost");
    for (cert, key, trusted) in [
        (&signed, &signed_key, pki.path("ca.crt")),
        (&recipe, &recipe_key, recipe.clone()),
    ] {
        let reg = Registry::start(cert, key);
        let dir = CertsDir(root.join(reg.host()));
        std::fs::create_dir_all(&dir.0).unwrap();
        std::fs::copy(&trusted, dir.0.join("ca.crt")).unwrap();

        let ok = verify(&reg.host(), USER, &secret(), &opts()).expect("trusted via certs.d");
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
        let err = verify(&reg.host(), USER, &secret(), &opts()).expect_err("folder gone");
        assert_eq!(tls_problem(&err), TlsProblem::UnknownIssuer);
    }
}
