//! `oauthd healthcheck`: GET `/readyz` on the configured listener and succeed on 200, so a
//! container's HEALTHCHECK needs no curl. The listener's wildcard address (0.0.0.0, [::]) is
//! reached through loopback. Over TLS the certificate is not verified: the probe talks to this
//! very process over loopback, and its certificate names the public host, not 127.0.0.1.
//!
//! A plain HTTP/1.1 request over a TcpStream (wrapped in tokio-rustls when TLS is on) is all a
//! probe needs; a client library would add weight to the image for nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Settings;

/// Probes `/readyz`; Ok when it answers 200 within `timeout`.
pub async fn probe(settings: &Settings, timeout: Duration) -> anyhow::Result<()> {
    let address = probe_address(settings.server.listen);
    let scheme = if settings.tls.enabled() { "https" } else { "http" };
    let status = tokio::time::timeout(timeout, get_readyz(address, settings.tls.enabled()))
        .await
        .map_err(|_| anyhow::anyhow!("no answer from {scheme}://{address}/readyz within {timeout:?}"))?
        .with_context(|| format!("GET {scheme}://{address}/readyz"))?;
    if status == 200 {
        Ok(())
    } else {
        anyhow::bail!("{scheme}://{address}/readyz answered {status}")
    }
}

/// The listener's address, with a wildcard replaced by loopback.
fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

async fn get_readyz(address: SocketAddr, tls: bool) -> anyhow::Result<u16> {
    let tcp = TcpStream::connect(address).await?;
    if tls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = ServerName::IpAddress(address.ip().into());
        let stream = connector.connect(name, tcp).await?;
        exchange(stream, address).await
    } else {
        exchange(tcp, address).await
    }
}

async fn exchange(mut stream: impl AsyncRead + AsyncWrite + Unpin, address: SocketAddr) -> anyhow::Result<u16> {
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {address}\r\nUser-Agent: oauthd-healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    // The status line is all we need: `HTTP/1.1 200 OK`.
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .context("not an HTTP answer")?;
    Ok(status)
}

/// Accepts any server certificate but still checks the handshake signatures with it.
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
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
