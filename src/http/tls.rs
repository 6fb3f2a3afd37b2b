//! TLS for the transport: which certificates are trusted, the verifier that also accepts a
//! trusted certificate presented as the server's own, and the ureq connector that uses it.
//!
//! Why a connector of our own: ureq's `TlsConfig` takes root certificates but no verifier, and
//! rustls' WebPKI verifier refuses a CA certificate as the server's (`CaUsedAsEndEntity`) — yet
//! that is exactly what Docker's "use self-signed certificates" recipe (`openssl req -x509 …`)
//! makes, and docker, skopeo and curl accept it once trusted. ureq's connector chain is its
//! documented extension point; ours is ureq's own rustls wrapper with our `ClientConfig`.

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

use super::{CaFile, Error, TlsProblem, Trust};
use crate::fsutil::{self, Follow};

/// A CA bundle is at most a few hundred KiB; refuse absurd files.
const MAX_CA_FILE: u64 = 16 * 1024 * 1024;

/// The rustls configuration for `trust`: its certificates read now, so a bad CA file is an
/// error before anything is sent.
pub(super) fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, Error> {
    let mut trusted: Vec<CertificateDer<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    if trust.uses_system_store() {
        // What Go's SystemCertPool reads (on Linux: the distribution's bundle and folders, and
        // SSL_CERT_FILE / SSL_CERT_DIR). Unreadable entries are skipped, as Go skips them.
        trusted.extend(rustls_native_certs::load_native_certs().certs);
    }
    for file in trust.ca_files() {
        trusted.extend(read_ca_file(file)?);
    }
    let mut roots = RootCertStore::empty();
    // Certificates webpki cannot use as anchors are skipped; they can still match as a leaf.
    roots.add_parsable_certificates(trusted.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::Other(format!("no usable trusted certificate ({e})")))?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("TLS setup failed ({e})")))?
        .dangerous() // our verifier is WebPKI's, plus one rule; see `Verifier`
        .with_custom_certificate_verifier(Arc::new(Verifier { webpki, trusted }))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificates of one CA file: PEM (any number of `CERTIFICATE` blocks; keys and other
/// blocks are ignored) or a single DER certificate. An optional file that is missing or holds
/// none gives none.
fn read_ca_file(file: &CaFile) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bad = |why: &str| {
        Error::Other(format!(
            "{} {}: {why}; give a PEM file of CA certificates",
            file.origin,
            file.path.display()
        ))
    };
    let data = match fsutil::read_bounded(&file.path, MAX_CA_FILE, Follow::Yes) {
        Ok(Some(data)) => data,
        Ok(None) if !file.required => return Ok(Vec::new()),
        Ok(None) => return Err(bad("does not exist")),
        Err(_) if !file.required => return Ok(Vec::new()),
        Err(e) => return Err(bad(&e.to_string())),
    };
    let certs = parse_certificates(&data);
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        _ if !file.required => Ok(Vec::new()),
        Ok(_) => Err(bad(
            "holds no certificate (no -----BEGIN CERTIFICATE----- block, not one DER certificate)",
        )),
        Err(why) => Err(bad(&why)),
    }
}

fn parse_certificates(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    if !data.windows(11).any(|w| w == b"-----BEGIN ") {
        // One DER certificate (`.cer`/`.der`), as some CAs are distributed.
        return Ok(match validity(data) {
            Some(_) => vec![CertificateDer::from(data.to_vec())],
            None => Vec::new(),
        });
    }
    CertificateDer::pem_slice_iter(data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not valid PEM ({e})"))
}

/// rustls' WebPKI verifier, plus Go's rule: a trusted certificate presented as the leaf is
/// accepted when it names the host and is within its validity period (the TLS handshake then
/// proves the server holds its key, as for any leaf).
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    trusted: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({} trusted)", self.trusted.len())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match chain {
            Err(rustls::Error::InvalidCertificate(_))
                if self
                    .trusted
                    .iter()
                    .any(|t| t.as_ref() == end_entity.as_ref()) =>
            {
                trusted_leaf(end_entity, server_name, now)
            }
            // A self-signed CA certificate nobody here trusts: for the user, an unknown issuer.
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(e)))
                if matches!(
                    e.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer,
                ))
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The checks left for a leaf that is itself trusted: the host name and the dates.
fn trusted_leaf(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
    rustls::client::verify_server_name(&parsed, server_name)?;
    let (not_before, not_after) = validity(cert.as_ref()).ok_or(
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding),
    )?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if now < not_before {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > not_after {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(ServerCertVerified::assertion())
}

/// `notBefore` and `notAfter` of a DER certificate, in Unix seconds. webpki checks dates only
/// while building a chain, so a trusted leaf's dates are read here (RFC 5280 §4.1: Certificate
/// → TBSCertificate → [0] version, serial, signature, issuer, validity).
fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (_, cert, _) = der_item(der).filter(|(tag, _, _)| *tag == 0x30)?;
    let (_, tbs, _) = der_item(cert).filter(|(tag, _, _)| *tag == 0x30)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = der_item(rest)?.2;
    }
    for _ in 0..3 {
        rest = der_item(rest)?.2; // serial, signature algorithm, issuer
    }
    let (_, validity, _) = der_item(rest).filter(|(tag, _, _)| *tag == 0x30)?;
    let (tag1, not_before, rest) = der_item(validity)?;
    let (tag2, not_after, _) = der_item(rest)?;
    Some((der_time(tag1, not_before)?, der_time(tag2, not_after)?))
}

/// One DER item: (tag, contents, what follows). Short and long definite lengths.
fn der_item(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`, 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) in Unix seconds.
fn der_time(tag: u8, s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?.strip_suffix('Z')?;
    let s = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: i64 = s[..2].parse().ok()?;
            format!("{}{s}", if yy < 50 { "20" } else { "19" })
        }
        (0x18, 14) => s.to_string(),
        _ => return None,
    };
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hh, mm, ss) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The kind of certificate problem in a handshake error, for the message's advice.
pub(super) fn tls_error(e: &rustls::Error) -> Error {
    use CertificateError as C;
    let problem = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => TlsProblem::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::NameMismatch,
            C::Expired | C::ExpiredContext { .. } => TlsProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotYetValid,
            _ => TlsProblem::Other,
        },
        rustls::Error::InvalidMessage(_) => TlsProblem::NotTls,
        _ => TlsProblem::Other,
    };
    Error::Tls {
        problem,
        detail: e.to_string(),
    }
}

/// Wraps the connection of the previous connector in TLS with our `ClientConfig`, for https.
pub(super) struct TlsConnector {
    pub(super) config: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsConnector")
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ureq::Error::Tls("the host is not a valid TLS server name"))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        Ok(Some(Either::B(TlsTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: StreamOwned::new(conn, sock),
        })))
    }
}

pub(super) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn der_times() {
        assert_eq!(der_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(der_time(0x17, b"200101000000Z"), Some(1_577_836_800));
        assert_eq!(der_time(0x18, b"20491231235959Z"), Some(2_524_607_999));
        assert_eq!(der_time(0x18, b"19000301000000Z"), Some(-2_203_891_200));
        for bad in [
            &b"2001010000Z"[..],
            b"200101000000",
            b"201301000000Z",
            b"20x101000000Z",
        ] {
            assert_eq!(der_time(0x17, bad), None, "{bad:?}");
        }
        assert_eq!(der_time(0x02, b"200101000000Z"), None);
    }

    #[test]
    fn validity_of_real_certificates() {
        // Every bundled root has dates webpki accepted; they parse and are in order.
        for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let (nb, na) = validity(root.as_ref()).expect("validity");
            assert!(nb < na && nb > 0, "{nb} {na}");
        }
        assert_eq!(validity(b"\x30\x03\x02\x01\x00"), None);
        assert_eq!(validity(b""), None);
    }

    #[test]
    fn ca_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("empty.pem");
        std::fs::write(&text, "no certificate here\n").unwrap();
        let required = |path: &Path| CaFile {
            path: path.to_path_buf(),
            origin: "--ca-cert".into(),
            required: true,
        };
        let err = read_ca_file(&required(&text)).unwrap_err();
        assert!(err.to_string().starts_with("--ca-cert "), "{err}");
        let err = read_ca_file(&required(&dir.path().join("missing.pem"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = read_ca_file(&required(dir.path())).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let optional = CaFile {
            required: false,
            ..required(&text)
        };
        assert!(read_ca_file(&optional).unwrap().is_empty());

        let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref();
        let der_file = dir.path().join("one.der");
        std::fs::write(&der_file, der).unwrap();
        assert_eq!(read_ca_file(&required(&der_file)).unwrap().len(), 1);
        let pem = CertificateDer::from(der).to_owned();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem.as_ref());
        let pem_file = dir.path().join("two.pem");
        std::fs::write(
            &pem_file,
            format!(
                "junk\n-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n\
                 -----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
                 -----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"
            ),
        )
        .unwrap();
        assert_eq!(read_ca_file(&required(&pem_file)).unwrap().len(), 2);
    }
}
