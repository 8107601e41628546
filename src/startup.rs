//! Building and running the server: open (and migrate) the store, bind the listener (port 0 in
//! tests) — and the separate metrics and admin API listeners when configured — load or generate
//! the TLS certificate when configured, serve HTTP or HTTPS until SIGTERM or ctrl-c, then let
//! in-flight requests finish within the grace period and exit.

mod connection;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Settings;
use crate::oauth::password_hash::Hasher;
use crate::oauth::Authority;
use crate::store::Store;
use crate::tls::Tls;

/// Opens the configured database and applies migrations when `database.migrate_on_start` is set.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database).await.context("cannot open the database")?;
    if settings.database.migrate_on_start {
        store.migrate().await.context("cannot migrate the database")?;
    }
    Ok(store)
}

/// The protocol core over an open store.
pub fn authority(settings: Settings, store: Store, clock: Clock) -> anyhow::Result<Authority> {
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let hasher = Hasher::new(&settings.security, clock.clone(), |queue| metrics.hash_gauges(queue))?;
    let turns = Arc::default();
    Ok(Authority { store, hasher, clock, settings: Arc::new(settings), metrics, turns })
}

pub struct Application {
    listener: std::net::TcpListener,
    local: SocketAddr,
    /// The separate `/metrics` listener, when `metrics.listen` is set.
    metrics_listener: Option<TcpListener>,
    /// The separate admin API listener, when `admin.listen` is set.
    admin_listener: Option<std::net::TcpListener>,
    authority: Authority,
    tls: Option<Tls>,
}

impl Application {
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        let store = open_store(&settings).await?;
        Application::with_store(settings, store, clock).await
    }

    pub async fn with_store(mut settings: Settings, store: Store, clock: Clock) -> anyhow::Result<Application> {
        if let Some(warning) = settings.check_serving()? {
            tracing::warn!("{warning}");
        }
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| format!("cannot listen on {} (server.listen)", settings.server.listen))?;
        let local = listener.local_addr()?;
        let listener = listener.into_std()?;
        let tls = Tls::from_settings(&settings.tls).await?;
        if settings.server.issuer.is_none() {
            // Local use: the issuer is where this listener actually is (port 0 resolved).
            settings.server.issuer = Some(settings.issuer(local));
        }
        let metrics_listener = match settings.metrics.listen.filter(|_| settings.metrics.enabled) {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on {address} (metrics.listen)"))?,
            ),
            None => None,
        };
        let admin_listener = match settings.admin.listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on {address} (admin.listen)"))?
                    .into_std()?,
            ),
            None => None,
        };
        if settings.behind_tls_proxy() && settings.server.trusted_proxies.0.is_empty() {
            tracing::warn!(
                "server.issuer is https but the listener is plain HTTP and server.trusted_proxies is empty: every request but the health probes will be refused"
            );
        }
        let authority = authority(settings, store, clock)?;
        Ok(Application { listener, local, metrics_listener, admin_listener, authority, tls })
    }

    pub fn port(&self) -> u16 {
        self.local.port()
    }

    /// `https` when the listener serves TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The port of the separate metrics listener, if any.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    /// The port of the separate admin API listener, if any.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin_listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The certificate in use, when the listener serves TLS.
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// Serves until SIGTERM or ctrl-c.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then stops accepting connections and lets in-flight
    /// requests finish for at most `server.shutdown_grace_secs`.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let settings = self.authority.settings.clone();
        let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
        let store = self.authority.store.clone();
        let scheme = self.scheme();
        let janitor = crate::janitor::spawn(self.authority.clone());
        let client_watcher = store.watch_client_changes();
        let metrics = self
            .metrics_listener
            .map(|listener| axum::serve(listener, crate::http::metrics::router(self.authority.clone())));
        let admin = self.admin_listener.map(|listener| (listener, crate::http::admin_router(self.authority.clone())));
        let app = crate::http::router(self.authority);
        let handle = axum_server::Handle::new();
        let limits = ConnectionLimits::of(&settings);
        if let Some(tls) = &self.tls {
            tls.spawn_reloader(Duration::from_secs(settings.tls.reload_check_secs));
        }
        let server = serve(self.listener, app, self.tls.as_ref(), &handle, limits)?;
        // The admin API's own listener, when admin.listen is set: the same TLS and shutdown.
        let admin_handle = axum_server::Handle::new();
        if let Some((listener, router)) = admin {
            if let Ok(address) = listener.local_addr() {
                tracing::info!(%address, "admin API listening (admin.listen); not served on server.listen");
            }
            let admin_server = serve(listener, router, self.tls.as_ref(), &admin_handle, limits)?;
            tokio::spawn(async move {
                if let Err(e) = admin_server.await {
                    tracing::error!(error = %e, "admin listener failed");
                }
            });
        }
        // Logged once the reloader listens for SIGHUP: scripts may signal as soon as they read it.
        tracing::info!(
            address = %self.local,
            scheme,
            issuer = %settings.issuer(self.local),
            database = store.backend_name(),
            "oauthd listening"
        );
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        if let Some(metrics) = metrics {
            let mut stopping = stopping_rx.clone();
            let metrics = metrics.with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stopping| *stopping).await;
            });
            tokio::spawn(async move {
                if let Err(e) = metrics.await {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            });
        }
        tokio::spawn(async move {
            stop.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stopping_tx.send(true);
            handle.graceful_shutdown(Some(grace));
            admin_handle.graceful_shutdown(Some(grace));
        });
        let deadline = async move {
            let _ = stopping_rx.wait_for(|stopping| *stopping).await;
            // axum-server closes what is left at the end of the grace period; this is a backstop.
            tokio::time::sleep(grace + Duration::from_secs(1)).await;
        };
        tokio::select! {
            result = server => result.context("server error")?,
            () = deadline => tracing::warn!("shutdown grace period over; exiting with requests in flight"),
        }
        if let Some(janitor) = janitor {
            janitor.abort();
        }
        client_watcher.abort();
        store.close().await;
        tracing::info!("oauthd stopped");
        Ok(())
    }
}

/// What each listener holds its connections to (`server.header_read_timeout_secs`,
/// `server.idle_timeout_secs`, `server.max_connections`; see `startup/connection.rs`).
#[derive(Clone, Copy, Debug)]
struct ConnectionLimits {
    deadlines: connection::Deadlines,
    max_connections: usize,
}

impl ConnectionLimits {
    fn of(settings: &Settings) -> ConnectionLimits {
        ConnectionLimits {
            deadlines: connection::Deadlines {
                header_read: Duration::from_secs(settings.server.header_read_timeout_secs),
                idle: Duration::from_secs(settings.server.idle_timeout_secs),
            },
            max_connections: settings.server.max_connections,
        }
    }
}

/// A listener served over HTTPS when `tls` is given, else plain HTTP, until `handle` shuts it down.
fn serve(
    listener: std::net::TcpListener,
    router: axum::Router,
    tls: Option<&Tls>,
    handle: &axum_server::Handle<SocketAddr>,
    limits: ConnectionLimits,
) -> anyhow::Result<Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>> {
    let app =
        connection::Capped::new(router.into_make_service_with_connect_info::<SocketAddr>(), limits.max_connections);
    let deadlines = limits.deadlines;
    Ok(match tls {
        Some(tls) => Box::pin(
            axum_server::from_tcp_rustls(listener, tls.rustls_config())?
                .map(|acceptor| connection::TimedAcceptor::new(acceptor, deadlines))
                .handle(handle.clone())
                .serve(app),
        ),
        None => Box::pin(
            axum_server::from_tcp(listener)?
                .map(|acceptor| connection::TimedAcceptor::new(acceptor, deadlines))
                .handle(handle.clone())
                .serve(app),
        ),
    })
}

/// SIGTERM or ctrl-c. The SIGTERM handler is installed now, not on first poll, so a platform that
/// stops the container right after start-up still gets a graceful shutdown.
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    }
}
