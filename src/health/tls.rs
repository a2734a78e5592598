//! The TLS client of SSL_GET: rustls with the ring provider.
//!
//! Owns: the one shared [`ClientConfig`] ([`client_config`]), the
//! certificate "verifier" that accepts any certificate, and the mapping of
//! rustls errors to the string-free [`TlsFailure`].
//! Must not: open sockets (check.rs does) or keep per-check state.
//!
//! Certificates are NOT verified, as in keepalived: its SSL_GET verifies
//! nothing unless told to (and vigil's config has no CA keyword). A health
//! check asks "does this real server answer HTTPS correctly", usually by
//! IP address with a self-signed or internal certificate; trust is not the
//! question. What rustls still does: the handshake itself, with the
//! signature over it checked against the public key of the certificate the
//! server sent (so a server that cannot sign fails), TLS 1.3 or 1.2 only.
//! SNI: only with `enable_sni` or `sni_name`, as keepalived (the name is
//! resolved in `plan`); a name that is an address is sent as none.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::outcome::TlsFailure;

/// The provider every check uses (TLS and the WebSocket key / mask).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration shared by every SSL_GET.
pub fn client_config(provider: Arc<CryptoProvider>) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// The name to present: a DNS name (sent as SNI), else the IP (no SNI;
/// rustls never sends an IP address as SNI).
pub fn server_name(virtualhost: Option<&str>, ip: std::net::IpAddr) -> ServerName<'static> {
    virtualhost
        .and_then(|h| ServerName::try_from(h.to_owned()).ok())
        .filter(|n| matches!(n, ServerName::DnsName(_)))
        .unwrap_or(ServerName::IpAddress(ip.into()))
}

/// Accepts every certificate; checks handshake signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
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
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// rustls' error, without its strings.
pub fn failure_of(e: &rustls::Error) -> TlsFailure {
    use rustls::Error as E;
    match e {
        E::AlertReceived(desc) => TlsFailure::AlertReceived(u8::from(*desc)),
        E::PeerIncompatible(_) => TlsFailure::NoCommonParameters,
        E::PeerMisbehaved(_)
        | E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => TlsFailure::PeerMisbehaved,
        E::InvalidCertificate(_) => TlsFailure::BadSignature,
        _ => TlsFailure::Other,
    }
}

/// The rustls error inside an I/O error from tokio-rustls, if any.
pub fn failure_of_io(e: &std::io::Error) -> Option<TlsFailure> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(failure_of)
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
