//! The emulated public CA and ACM-style certificates.
//!
//! Step Functions' HTTP Task "only supports public domain names with publicly trusted certificates
//! for HTTPS endpoints" (<https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html>),
//! so an internal ALB behind a private connection needs an ACM public certificate; a self-signed one
//! fails the handshake. vpcgate plays the public CA: [`Pki`] makes (with rcgen) a root that stands for
//! a public root CA and an intermediate that stands for ACM's issuing CA, issues leaf certificates
//! for listener `CertificateArn`s, and builds the rustls client configuration that trusts *only*
//! that root — the Step Functions side of the emulator. A certificate imported as self-signed chains
//! to nothing the client trusts and fails with rustls' `UnknownIssuer`, as a real client would.
//!
//! Validity follows ACM (395 days from issue) on the emulator's [`Clock`], and the rustls client
//! checks it against the same clock, so a test pinned at any date sees valid certificates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::sign::CertifiedKey;

use crate::clock::Clock;

/// How long ACM public certificates are valid (<https://docs.aws.amazon.com/acm/latest/userguide/managed-renewal.html>).
const ACM_VALIDITY: Duration = Duration::from_secs(395 * 24 * 3600);

/// The common name of the root that plays "a public CA".
pub const ROOT_CA_NAME: &str = "vpcgate Emulated Public Root CA";
/// The common name of the intermediate that plays ACM's issuing CA.
pub const ISSUING_CA_NAME: &str = "vpcgate Emulated ACM Issuing CA 01";

/// Who issued a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Issuer {
    /// ACM, chaining to the emulated public root.
    PublicCa,
    /// Nobody: a self-signed certificate imported into ACM.
    SelfSigned,
}

/// Errors of the emulated CA.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen could not make a key or certificate.
    #[error("could not generate {what}: {source}")]
    Generate {
        /// What was being made.
        what: String,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
    /// The root could not be read from or saved to its directory.
    #[error("the emulated root CA store: {what}")]
    Store {
        /// What failed.
        what: String,
    },
    /// rustls refused a key.
    #[error("rustls refused the key of {what}: {source}")]
    Key {
        /// Which certificate.
        what: String,
        /// rustls' error.
        #[source]
        source: rustls::Error,
    },
}

/// A certificate with its private key, ready for a TLS listener.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    /// The names it is valid for (first = subject common name).
    pub names: Vec<String>,
    /// Who issued it.
    pub issuer: Issuer,
    /// The chain sent in the handshake (leaf first).
    pub chain: Vec<CertificateDer<'static>>,
    /// The key and chain as rustls uses them.
    pub certified: Arc<CertifiedKey>,
    /// The leaf in PEM.
    pub pem: String,
}

impl IssuedCertificate {
    /// Whether the certificate covers `host` (exact or one-label wildcard, RFC 6125).
    pub fn covers(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.names.iter().any(|n| {
            let n = n.to_ascii_lowercase();
            match n.strip_prefix("*.") {
                Some(suffix) => host
                    .split_once('.')
                    .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
                None => n == host,
            }
        })
    }
}

/// The emulated certificate authority. A clone is the same CA (see [`Pki::same_root`]).
#[derive(Clone)]
pub struct Pki {
    root_der: CertificateDer<'static>,
    root_pem: String,
    /// The root's key, so a rebuilt world (`POST /_vpcgate/reset`) issues under the same root.
    root_key_pem: String,
    clock: Clock,
    provider: Arc<CryptoProvider>,
    /// The issuing CA, its leaves' key and what it issued: shared by [`Pki::same_root`]'s CAs.
    issuing: Arc<Issuing>,
}

/// The intermediate that plays ACM's issuing CA, with what it issued.
struct Issuing {
    intermediate: CertifiedIssuer<'static, KeyPair>,
    /// The end of the intermediate's validity.
    not_after: SystemTime,
    /// The key of every certificate this CA issues or self-signs, made on first use: a key pair
    /// and its loaded signing key cost two scalar multiplications each, and no client can tell
    /// (or needs) one key per certificate.
    leaf_key: std::sync::OnceLock<(KeyPair, Arc<dyn rustls::sign::SigningKey>)>,
    /// Certificates issued or self-signed, by issuer and names, with the time each was made.
    issued: std::sync::Mutex<HashMap<IssuedKey, (SystemTime, IssuedCertificate)>>,
}

/// Who made a certificate, and for which names.
type IssuedKey = (Issuer, Vec<String>);

/// How many certificates [`Issuing::issued`] keeps (it starts over past this many).
const ISSUED_KEPT: usize = 256;

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("root", &ROOT_CA_NAME)
            .finish_non_exhaustive()
    }
}

fn key(what: &str) -> Result<KeyPair, PkiError> {
    KeyPair::generate().map_err(|source| PkiError::Generate {
        what: what.to_string(),
        source,
    })
}

fn dn(common_name: &str, org: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, common_name);
    dn
}

impl Pki {
    /// Makes a new root and issuing CA, valid around the clock's current time.
    pub fn new(clock: &Clock) -> Result<Self, PkiError> {
        let (root_pem, root_key) = Self::make_root(clock)?;
        Self::with_root(clock, &root_pem, root_key)
    }

    /// Uses the root kept in `dir` (`root.pem`, `root-key.pem`), making and saving one there the
    /// first time, so the root a user trusts once stays the same across runs of `serve`.
    pub fn load_or_create(dir: &std::path::Path, clock: &Clock) -> Result<Self, PkiError> {
        let cert_path = dir.join("root.pem");
        let key_path = dir.join("root-key.pem");
        let io = |what: &str, e: std::io::Error| PkiError::Store {
            what: format!("{what}: {e}"),
        };
        if cert_path.exists() && key_path.exists() {
            let pem = std::fs::read_to_string(&cert_path)
                .map_err(|e| io(&cert_path.display().to_string(), e))?;
            let key_pem = std::fs::read_to_string(&key_path)
                .map_err(|e| io(&key_path.display().to_string(), e))?;
            let key = KeyPair::from_pem(&key_pem).map_err(|source| PkiError::Generate {
                what: format!("the root key in {}", key_path.display()),
                source,
            })?;
            return Self::with_root(clock, &pem, key);
        }
        let (pem, key) = Self::make_root(clock)?;
        std::fs::create_dir_all(dir).map_err(|e| io(&dir.display().to_string(), e))?;
        std::fs::write(&cert_path, &pem).map_err(|e| io(&cert_path.display().to_string(), e))?;
        write_private(&key_path, &key.serialize_pem())
            .map_err(|e| io(&key_path.display().to_string(), e))?;
        Self::with_root(clock, &pem, key)
    }

    fn make_root(clock: &Clock) -> Result<(String, KeyPair), PkiError> {
        let now = clock.now();
        let mut params = root_params();
        params.not_before = (now - Duration::from_secs(3650 * 24 * 3600)).into();
        params.not_after = (now + Duration::from_secs(3650 * 24 * 3600)).into();
        let root_key = key("the root CA key")?;
        let root = params
            .self_signed(&root_key)
            .map_err(|source| PkiError::Generate {
                what: "the root CA".into(),
                source,
            })?;
        Ok((root.pem(), root_key))
    }

    /// A CA under the same root, for a rebuilt world: certificates it issues chain to the root
    /// clients already trust. It shares this CA's issuing CA, leaf key and certificates while
    /// the issuing CA outlives a new certificate, so a rebuilt world (a deploy, a reset) serves
    /// the certificates it served before, as an ALB keeps its ACM certificate across stack
    /// updates; past that, it makes a new issuing CA valid around the clock's time.
    pub fn same_root(&self) -> Result<Self, PkiError> {
        if self.issuing.not_after > self.clock.now() + ACM_VALIDITY {
            return Ok(self.clone());
        }
        let key = KeyPair::from_pem(&self.root_key_pem).map_err(|source| PkiError::Generate {
            what: "the root key".into(),
            source,
        })?;
        Self::with_root(&self.clock, &self.root_pem, key)
    }

    fn with_root(clock: &Clock, root_pem: &str, root_key: KeyPair) -> Result<Self, PkiError> {
        let now = clock.now();
        let root_key_pem = root_key.serialize_pem();
        // Signing needs only the root's name, key-identifier method and key usages, which are the
        // same for every vpcgate root: rebuild them rather than parse the stored certificate.
        let root = rcgen::Issuer::new(root_params(), root_key);
        let root_der = rustls_pki_types::pem::PemObject::from_pem_slice(root_pem.as_bytes())
            .map_err(|e| PkiError::Store {
                what: format!("the root certificate PEM: {e:?}"),
            })?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(ISSUING_CA_NAME, "vpcgate (emulated ACM)");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let not_after = now + Duration::from_secs(1825 * 24 * 3600);
        params.not_before = (now - Duration::from_secs(1825 * 24 * 3600)).into();
        params.not_after = not_after.into();
        let intermediate = CertifiedIssuer::signed_by(params, key("the issuing CA key")?, &root)
            .map_err(|source| PkiError::Generate {
                what: "the issuing CA".into(),
                source,
            })?;
        Ok(Self {
            root_der,
            root_pem: root_pem.to_string(),
            root_key_pem,
            clock: clock.clone(),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            issuing: Arc::new(Issuing {
                intermediate,
                not_after,
                leaf_key: std::sync::OnceLock::new(),
                issued: std::sync::Mutex::default(),
            }),
        })
    }

    /// The root certificate in PEM, for users who want their own clients to trust the emulator.
    pub fn root_pem(&self) -> String {
        self.root_pem.clone()
    }

    /// The root certificate.
    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root_der.clone()
    }

    /// The crypto provider every TLS config of the emulator uses.
    pub fn provider(&self) -> Arc<CryptoProvider> {
        self.provider.clone()
    }

    fn leaf_params(&self, names: &[String]) -> Result<CertificateParams, PkiError> {
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(|source| PkiError::Generate {
                what: format!("a certificate for {names:?}"),
                source,
            })?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.distinguished_name = dn;
        let now = self.clock.now();
        params.not_before = (now - Duration::from_secs(3600)).into();
        params.not_after = (now + ACM_VALIDITY).into();
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        Ok(params)
    }

    /// The leaves' key pair and its signing key (see `leaf_key`).
    fn leaf_key(
        &self,
        names: &[String],
    ) -> Result<&(KeyPair, Arc<dyn rustls::sign::SigningKey>), PkiError> {
        if let Some(k) = self.issuing.leaf_key.get() {
            return Ok(k);
        }
        let key = key("a certificate key")?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = self
            .provider
            .key_provider
            .load_private_key(key_der)
            .map_err(|source| PkiError::Key {
                what: names.join(","),
                source,
            })?;
        Ok(self.issuing.leaf_key.get_or_init(|| (key, signing)))
    }

    fn finish(
        &self,
        names: Vec<String>,
        issuer: Issuer,
        chain: Vec<CertificateDer<'static>>,
        pem: String,
        signing: Arc<dyn rustls::sign::SigningKey>,
    ) -> Result<IssuedCertificate, PkiError> {
        Ok(IssuedCertificate {
            names,
            issuer,
            certified: Arc::new(CertifiedKey::new(chain.clone(), signing)),
            chain,
            pem,
        })
    }

    /// Issues an ACM public certificate for `names` (first = domain name, the rest SANs),
    /// chaining leaf -> issuing CA -> emulated public root.
    pub fn issue(&self, names: &[String]) -> Result<IssuedCertificate, PkiError> {
        self.kept(Issuer::PublicCa, names, || self.make_issued(names))
    }

    fn make_issued(&self, names: &[String]) -> Result<IssuedCertificate, PkiError> {
        let params = self.leaf_params(names)?;
        let (key, signing) = self.leaf_key(names)?;
        let leaf = params
            .signed_by(key, &self.issuing.intermediate)
            .map_err(|source| PkiError::Generate {
                what: format!("a certificate for {names:?}"),
                source,
            })?;
        let chain = vec![leaf.der().clone(), self.issuing.intermediate.der().clone()];
        self.finish(
            names.to_vec(),
            Issuer::PublicCa,
            chain,
            leaf.pem(),
            signing.clone(),
        )
    }

    /// Makes a self-signed certificate for `names`, as a user would import into ACM.
    pub fn self_signed(&self, names: &[String]) -> Result<IssuedCertificate, PkiError> {
        self.kept(Issuer::SelfSigned, names, || self.make_self_signed(names))
    }

    /// The certificate `issuer` made for `names` before, while it has more than half of ACM's
    /// validity left on the clock; else `make`'s, kept.
    fn kept(
        &self,
        issuer: Issuer,
        names: &[String],
        make: impl FnOnce() -> Result<IssuedCertificate, PkiError>,
    ) -> Result<IssuedCertificate, PkiError> {
        let now = self.clock.now();
        let issued = || {
            self.issuing
                .issued
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let key = (issuer, names.to_vec());
        if let Some((made, cert)) = issued().get(&key)
            && *made <= now
            && now < *made + ACM_VALIDITY / 2
        {
            return Ok(cert.clone());
        }
        let cert = make()?;
        let mut kept = issued();
        if kept.len() >= ISSUED_KEPT {
            kept.clear();
        }
        kept.insert(key, (now, cert.clone()));
        Ok(cert)
    }

    fn make_self_signed(&self, names: &[String]) -> Result<IssuedCertificate, PkiError> {
        let params = self.leaf_params(names)?;
        let (key, signing) = self.leaf_key(names)?;
        let cert = params
            .self_signed(key)
            .map_err(|source| PkiError::Generate {
                what: format!("a self-signed certificate for {names:?}"),
                source,
            })?;
        let chain = vec![cert.der().clone()];
        self.finish(
            names.to_vec(),
            Issuer::SelfSigned,
            chain,
            cert.pem(),
            signing.clone(),
        )
    }

    /// The TLS client configuration of the AWS side (Step Functions, API Gateway): trusts only the
    /// emulated public root, checks validity on the emulator's clock, offers HTTP/1.1.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.root_der())
            .expect("the emulated root is a valid trust anchor");
        let mut config = rustls::ClientConfig::builder_with_details(
            self.provider.clone(),
            Arc::new(ClockTime(self.clock.clone())),
        )
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// The root's name and usages (its validity is set where it is made).
fn root_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(ROOT_CA_NAME, "vpcgate (emulated public CA)");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

/// Writes a private key readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(text.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, text)
    }
}

/// rustls' notion of "now", read from the emulator's clock.
#[derive(Debug)]
struct ClockTime(Clock);

impl rustls::time_provider::TimeProvider for ClockTime {
    fn current_time(&self) -> Option<UnixTime> {
        let since = self.0.now().duration_since(SystemTime::UNIX_EPOCH).ok()?;
        Some(UnixTime::since_unix_epoch(since))
    }
}

/// A TLS client configuration that accepts any server certificate (handshake signatures are
/// still checked): what load balancers and VPC Lattice use toward their targets and in health
/// checks, which do not verify the target's certificate.
pub fn accept_any_certificate_client() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth()
}

#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        let clock = Clock::at_unix(1_780_000_000);
        let pki = Pki::new(&clock).unwrap();
        let cert = pki.issue(&["*.example.com".to_string()]).unwrap();
        assert!(cert.covers("eb-demo.example.com"));
        assert!(!cert.covers("a.b.example.com"));
        assert!(!cert.covers("example.com"));
        assert_eq!(cert.chain.len(), 2);
        assert_eq!(cert.issuer, Issuer::PublicCa);
    }

    /// A rebuilt world (a deploy, a reset) serves the certificates the last one served, as an
    /// ALB keeps its ACM certificate across stack updates; a certificate is made again once half
    /// of its validity has passed, and the issuing CA once it would not outlive a new one.
    #[tokio::test(start_paused = true)]
    async fn rebuilt_worlds_keep_their_certificates_within_their_validity() {
        let pki = Pki::new(&Clock::at_unix(1_780_000_000)).unwrap();
        let names = vec!["eb-demo.example.com".to_string()];
        let first = pki.issue(&names).unwrap();
        let rebuilt = pki.same_root().unwrap();
        assert_eq!(rebuilt.issue(&names).unwrap().chain, first.chain);
        let other = rebuilt.issue(&["other.example.com".to_string()]).unwrap();
        assert_ne!(other.chain[0], first.chain[0]);
        assert_eq!(other.chain[1], first.chain[1]);
        // Imported (self-signed) and issued certificates for the same names are two.
        let imported = rebuilt.self_signed(&names).unwrap();
        assert_eq!(imported.issuer, Issuer::SelfSigned);
        assert_ne!(imported.chain[0], first.chain[0]);

        tokio::time::advance(ACM_VALIDITY / 2).await;
        let renewed = rebuilt.same_root().unwrap().issue(&names).unwrap();
        assert_ne!(renewed.chain[0], first.chain[0]);
        assert_eq!(
            renewed.chain[1], first.chain[1],
            "the issuing CA still outlives it"
        );

        tokio::time::advance(Duration::from_secs(1825 * 24 * 3600) - ACM_VALIDITY).await;
        let later = rebuilt.same_root().unwrap();
        let cert = later.issue(&names).unwrap();
        assert_ne!(cert.chain[1], first.chain[1], "a new issuing CA");
        assert_eq!(later.root_der(), pki.root_der());
    }

    #[test]
    fn a_stored_root_is_reused() {
        let dir = std::env::temp_dir().join(format!("vpcgate-ca-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let clock = Clock::at_unix(1_780_000_000);
        let first = Pki::load_or_create(&dir, &clock).unwrap();
        let second = Pki::load_or_create(&dir, &clock).unwrap();
        assert_eq!(first.root_pem(), second.root_pem());
        // Certificates of the second run chain to the root the first run saved.
        let cert = second.issue(&["eb-demo.example.com".to_string()]).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(first.root_der()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            first.provider(),
        )
        .build()
        .unwrap();
        let now =
            UnixTime::since_unix_epoch(clock.now().duration_since(SystemTime::UNIX_EPOCH).unwrap());
        let name = rustls::pki_types::ServerName::try_from("eb-demo.example.com").unwrap();
        rustls::client::danger::ServerCertVerifier::verify_server_cert(
            &*verifier,
            &cert.chain[0],
            &cert.chain[1..],
            &name,
            &[],
            now,
        )
        .expect("the second run's certificate chains to the saved root");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn root_pem_is_a_certificate() {
        let pki = Pki::new(&Clock::at_unix(1_780_000_000)).unwrap();
        assert!(pki.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
