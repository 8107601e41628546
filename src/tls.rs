//! HTTPS certificates: PEM files named by `tls.cert_path`/`tls.key_path`, re-read on SIGHUP and
//! when their content changes (a renewal needs no restart), or a self-signed certificate
//! (`tls.self_signed`): generated at start, or once and then kept in `tls.self_signed_dir` so its
//! fingerprint stays across restarts (the container's default). rustls with the ring provider; no
//! OpenSSL.
//!
//! A certificate's SHA-256 fingerprint (as `openssl x509 -fingerprint -sha256` prints it) is
//! logged whenever one is loaded. The private key is never logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};

use crate::config::TlsSettings;

/// The serving certificate, shared with the acceptor so a reload applies to new connections.
#[derive(Clone)]
pub struct Tls {
    config: RustlsConfig,
    source: Source,
    current: Arc<Mutex<Loaded>>,
}

#[derive(Clone)]
enum Source {
    Files { cert: PathBuf, key: PathBuf },
    SelfSigned,
}

struct Loaded {
    /// SHA-256 of the cert and key files as last loaded: a change triggers a reload.
    files_digest: [u8; 32],
    leaf_pem: String,
    fingerprint: String,
}

impl Tls {
    /// Loads the configured certificate, or generates one; `None` when TLS is off.
    pub async fn from_settings(settings: &TlsSettings) -> anyhow::Result<Option<Tls>> {
        if settings.self_signed {
            if !settings.self_signed_dir.is_empty() {
                return Tls::kept_self_signed(&settings.self_signed_hosts, Path::new(&settings.self_signed_dir))
                    .await
                    .map(Some);
            }
            let (tls, _) = Tls::self_signed(&settings.self_signed_hosts)?;
            return Ok(Some(tls));
        }
        if settings.cert_path.is_empty() {
            return Ok(None);
        }
        let source = Source::Files { cert: settings.cert_path.clone().into(), key: settings.key_path.clone().into() };
        let (cert_pem, key_pem) = source.read().await?;
        let (server_config, loaded) =
            parse(&cert_pem, &key_pem).context("cannot use the certificate in tls.cert_path and tls.key_path")?;
        tracing::info!(sha256 = %loaded.fingerprint, cert_path = %settings.cert_path, "TLS certificate loaded");
        Ok(Some(Tls {
            config: RustlsConfig::from_config(server_config),
            source,
            current: Arc::new(Mutex::new(loaded)),
        }))
    }

    /// The self-signed certificate kept in `dir` (`self-signed.pem`, `self-signed.key`), generated
    /// and written there the first time. Its hosts are those it was generated for: delete the
    /// files to generate a new one.
    async fn kept_self_signed(hosts: &[String], dir: &Path) -> anyhow::Result<Tls> {
        let cert_path = dir.join("self-signed.pem");
        let key_path = dir.join("self-signed.key");
        if tokio::fs::try_exists(&cert_path).await.unwrap_or(false) {
            let source = Source::Files { cert: cert_path.clone(), key: key_path };
            let (cert_pem, key_pem) = source.read().await?;
            let (server_config, loaded) = parse(&cert_pem, &key_pem)
                .with_context(|| format!("cannot use the self-signed certificate kept in {}", dir.display()))?;
            tracing::info!(sha256 = %loaded.fingerprint, cert_path = %cert_path.display(), "TLS self-signed certificate loaded");
            return Ok(Tls {
                config: RustlsConfig::from_config(server_config),
                source: Source::SelfSigned,
                current: Arc::new(Mutex::new(loaded)),
            });
        }
        let (tls, key_pem) = Tls::self_signed(hosts)?;
        write_kept(dir, &cert_path, &tls.certificate_pem(), &key_path, &key_pem).await.with_context(|| {
            format!("cannot keep the self-signed certificate in {} (tls.self_signed_dir)", dir.display())
        })?;
        tracing::info!(cert_path = %cert_path.display(), "TLS self-signed certificate kept for the next starts");
        Ok(tls)
    }

    /// A new self-signed certificate, and its private key as PEM (to keep it, never to log it).
    fn self_signed(hosts: &[String]) -> anyhow::Result<(Tls, String)> {
        let hosts: Vec<String> = hosts.iter().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect();
        let generated = rcgen::generate_simple_self_signed(hosts.clone())
            .context("cannot generate a self-signed certificate (tls.self_signed_hosts)")?;
        let cert_pem = generated.cert.pem();
        let key_pem = generated.signing_key.serialize_pem();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()));
        let server_config = server_config(vec![generated.cert.der().clone()], key)?;
        let fingerprint = fingerprint(generated.cert.der());
        tracing::info!(sha256 = %fingerprint, hosts = %hosts.join(","), "TLS self-signed certificate generated");
        let tls = Tls {
            config: RustlsConfig::from_config(server_config),
            source: Source::SelfSigned,
            current: Arc::new(Mutex::new(Loaded { files_digest: [0; 32], leaf_pem: cert_pem, fingerprint })),
        };
        Ok((tls, key_pem))
    }

    pub fn rustls_config(&self) -> RustlsConfig {
        self.config.clone()
    }

    /// The SHA-256 fingerprint of the certificate being served, `AB:CD:…`.
    pub fn fingerprint(&self) -> String {
        self.lock().fingerprint.clone()
    }

    /// The certificate being served (the leaf), PEM-encoded: what a client may pin or trust.
    pub fn certificate_pem(&self) -> String {
        self.lock().leaf_pem.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the PEM files and serves them to new connections if they changed and are valid.
    /// Returns whether the certificate was replaced. A broken pair (say, a renewal that has
    /// written the certificate but not yet the key) keeps the old one serving.
    pub async fn reload(&self) -> anyhow::Result<bool> {
        if matches!(self.source, Source::SelfSigned) {
            return Ok(false);
        }
        let (cert_pem, key_pem) = self.source.read().await?;
        if files_digest(&cert_pem, &key_pem) == self.lock().files_digest {
            return Ok(false);
        }
        let (server_config, loaded) = parse(&cert_pem, &key_pem)?;
        self.config.reload_from_config(server_config);
        tracing::info!(sha256 = %loaded.fingerprint, "TLS certificate reloaded");
        *self.lock() = loaded;
        Ok(true)
    }

    /// Reloads on SIGHUP and, every `check_every` (unless zero), when the files changed.
    pub fn spawn_reloader(&self, check_every: Duration) {
        if matches!(self.source, Source::SelfSigned) {
            return;
        }
        let tls = self.clone();
        // Registered before returning, so a SIGHUP right after start-up is never fatal.
        let mut hangup = hangup_signals();
        tokio::spawn(async move {
            let mut last_error = String::new();
            loop {
                let signalled = tokio::select! {
                    () = next_hangup(&mut hangup) => true,
                    () = tick(check_every) => false,
                };
                match tls.reload().await {
                    Ok(_) => last_error.clear(),
                    Err(e) => {
                        let message = format!("{e:#}");
                        // Polling would repeat the same complaint every few seconds.
                        if signalled || message != last_error {
                            tracing::warn!(error = %message, "TLS certificate not reloaded; the previous one stays in use");
                        }
                        last_error = message;
                    }
                }
            }
        });
    }
}

impl Source {
    async fn read(&self) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        match self {
            Source::Files { cert, key } => {
                let cert_pem = tokio::fs::read(cert)
                    .await
                    .with_context(|| format!("cannot read tls.cert_path {}", cert.display()))?;
                let key_pem = tokio::fs::read(key)
                    .await
                    .with_context(|| format!("cannot read tls.key_path {}", key.display()))?;
                Ok((cert_pem, key_pem))
            }
            Source::SelfSigned => Ok((Vec::new(), Vec::new())),
        }
    }
}

/// Writes the key (owner-only on Unix) and then the certificate, each through a temporary file
/// renamed into place: a crash between the two leaves no certificate, so the next start
/// generates a new pair rather than reading half of one.
async fn write_kept(
    dir: &Path,
    cert_path: &Path,
    cert_pem: &str,
    key_path: &Path,
    key_pem: &str,
) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let key_tmp = dir.join(".self-signed.key.tmp");
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&key_tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, key_pem.as_bytes()).await?;
    file.sync_all().await?;
    tokio::fs::rename(&key_tmp, key_path).await?;
    let cert_tmp = dir.join(".self-signed.pem.tmp");
    tokio::fs::write(&cert_tmp, cert_pem).await?;
    tokio::fs::rename(&cert_tmp, cert_path).await?;
    Ok(())
}

fn parse(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<(Arc<ServerConfig>, Loaded)> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("the certificate file is not valid PEM: {e}"))?;
    let Some(leaf) = chain.first() else {
        anyhow::bail!("the certificate file holds no CERTIFICATE block");
    };
    let leaf_pem = pem_encode("CERTIFICATE", leaf);
    let fingerprint = fingerprint(leaf);
    // The error of a bad key names no key material.
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|_| anyhow::anyhow!("the key file holds no readable private key"))?;
    let server_config = server_config(chain, key)?;
    Ok((server_config, Loaded { files_digest: files_digest(cert_pem, key_pem), leaf_pem, fingerprint }))
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the private key does not match the certificate, or is unsupported")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn files_digest(cert_pem: &[u8], key_pem: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((cert_pem.len() as u64).to_be_bytes());
    hasher.update(cert_pem);
    hasher.update(key_pem);
    hasher.finalize().into()
}

/// SHA-256 of the DER certificate, upper-case hex pairs joined by `:`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signals() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangup_signals() -> Hangup {}

#[cfg(unix)]
async fn next_hangup(hangup: &mut Hangup) {
    match hangup {
        Some(signal) => {
            if signal.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) {
    std::future::pending::<()>().await
}

async fn tick(every: Duration) {
    if every.is_zero() {
        std::future::pending::<()>().await
    } else {
        tokio::time::sleep(every).await
    }
}
