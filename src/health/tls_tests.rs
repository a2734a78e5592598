//! Unit tests of `tls.rs`.

use super::*;

#[test]
fn sni_only_for_dns_names() {
    let ip = "192.0.2.7".parse().unwrap();
    assert!(matches!(
        server_name(Some("www.example.com"), ip),
        ServerName::DnsName(_)
    ));
    assert_eq!(server_name(None, ip), ServerName::IpAddress(ip.into()));
    assert_eq!(
        server_name(Some("10.0.0.1"), ip),
        ServerName::IpAddress(ip.into()),
        "an IP virtualhost is no SNI; the connect address is used"
    );
    assert_eq!(
        server_name(Some("bad name!"), ip),
        ServerName::IpAddress(ip.into())
    );
}

#[test]
fn errors_map_without_strings() {
    use rustls::AlertDescription;
    assert_eq!(
        failure_of(&rustls::Error::AlertReceived(
            AlertDescription::HandshakeFailure
        )),
        TlsFailure::AlertReceived(40)
    );
    assert_eq!(
        failure_of(&rustls::Error::General("x".into())),
        TlsFailure::Other
    );
    let io = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        rustls::Error::AlertReceived(AlertDescription::ProtocolVersion),
    );
    assert_eq!(failure_of_io(&io), Some(TlsFailure::AlertReceived(70)));
    assert_eq!(failure_of_io(&std::io::Error::other("plain")), None);
}

#[test]
fn config_builds() {
    let c = client_config(provider());
    assert!(c.alpn_protocols.is_empty());
}
