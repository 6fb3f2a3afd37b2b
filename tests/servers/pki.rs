//! A CA and server certificates made with `openssl` in a temp dir, for registries over TLS:
//! a CA (`ca.crt`) and another one that signed nothing of ours (`other-ca.crt`), leaves for
//! 127.0.0.1/localhost or another name, expired ones, and Docker's self-signed recipe.

use std::path::PathBuf;
use std::process::Command;

use super::run_program;

/// The programs [`Pki`] runs.
pub const PROGRAMS: &[&str] = &["openssl"];

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

/// A folder of keys and certificates; removed when dropped.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// The two CAs, `ca` ("Test Registry CA") and `other-ca`. The caller has checked
    /// [`PROGRAMS`] with [`super::have_programs`].
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("openssl.cnf"), OPENSSL_CNF).expect("write cnf");
        let pki = Pki { dir };
        pki.make_ca("ca", "Test Registry CA");
        pki.make_ca("other-ca", "Some Other CA");
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A server certificate signed by `ca.crt`, valid now; `extensions` picks the names
    /// (`leaf`: 127.0.0.1 and localhost; `leaf_other`: other.example). Returns (certificate,
    /// key).
    pub fn server_cert(&self, name: &str, extensions: &str) -> (PathBuf, PathBuf) {
        self.make_csr(name, "test server");
        run_program(
            self.openssl()
                .args(words(
                    "x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 2",
                ))
                .args(words(&format!(
                    "-extfile openssl.cnf -extensions {extensions}"
                )))
                .args(words(&format!("-in {name}.csr -out {name}.crt"))),
        );
        self.pair(name)
    }

    /// A server certificate for 127.0.0.1/localhost signed by `ca.crt` that expired in 2020.
    pub fn expired_cert(&self) -> (PathBuf, PathBuf) {
        self.expired(
            "expired",
            "expired server",
            "-cert ca.crt -keyfile ca.key",
            "leaf",
        )
    }

    /// A self-signed CA certificate for 127.0.0.1 that expired in 2020.
    pub fn expired_self_signed(&self) -> (PathBuf, PathBuf) {
        self.expired(
            "selfexp",
            "expired self-signed",
            "-selfsign -keyfile selfexp.key",
            "self_ca_san",
        )
    }

    /// The recipe of Docker's "use self-signed certificates" page, word for word but for the
    /// names and a subject given on the command line: a self-signed certificate that is its
    /// own CA (OpenSSL's default configuration adds `CA:TRUE`). Returns (certificate, key).
    pub fn docker_recipe(&self, name: &str, san: &str) -> (PathBuf, PathBuf) {
        run_program(
            self.openssl()
                .args(words("req -newkey rsa:4096 -nodes -sha256"))
                .args(["-keyout", &format!("{name}.key")])
                .args(["-addext", &format!("subjectAltName = {san}")])
                .args(words("-x509 -days 365"))
                .args(["-out", &format!("{name}.crt")])
                .args(["-subj", "/CN=myregistry.domain.com"]),
        );
        self.pair(name)
    }

    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.current_dir(self.dir.path());
        c
    }

    fn pair(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.path(&format!("{name}.crt")),
            self.path(&format!("{name}.key")),
        )
    }

    fn make_ca(&self, name: &str, cn: &str) {
        run_program(
            self.openssl()
                .args(words(
                    "req -x509 -config openssl.cnf -extensions v3_ca -nodes -days 2",
                ))
                .args(words("-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"))
                .args(words(&format!("-keyout {name}.key -out {name}.crt")))
                .args(["-subj", &format!("/CN={cn}")]),
        );
    }

    fn make_csr(&self, name: &str, cn: &str) {
        run_program(
            self.openssl()
                .args(words("req -new -config openssl.cnf -nodes"))
                .args(words("-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"))
                .args(words(&format!("-keyout {name}.key -out {name}.csr")))
                .args(["-subj", &format!("/CN={cn}")]),
        );
    }

    /// A certificate valid in January 2020 only, signed as `signer` says (`-cert … -keyfile …`
    /// or `-selfsign -keyfile …`). `openssl ca` is used because OpenSSL 3.0's `x509 -req`
    /// cannot set past dates; it needs its database, made here.
    fn expired(&self, name: &str, cn: &str, signer: &str, extensions: &str) -> (PathBuf, PathBuf) {
        self.make_csr(name, cn);
        std::fs::create_dir_all(self.path("db")).expect("mkdir db");
        std::fs::write(self.path("db/index.txt"), "").expect("index");
        std::fs::write(self.path("db/serial"), "1000\n").expect("serial");
        run_program(
            self.openssl()
                .args(words(&format!("ca -batch -config openssl.cnf {signer}")))
                .args(words(&format!(
                    "-extensions {extensions} -notext -in {name}.csr -out {name}.crt"
                )))
                .args(words("-startdate 20200101000000Z -enddate 20200201000000Z")),
        );
        self.pair(name)
    }
}

/// Command-line words (none of ours contain spaces).
fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}
