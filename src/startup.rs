//! Building and running the server: open (and migrate) the store, bind the listener (port 0 in
//! tests), serve until SIGTERM or ctrl-c, then let in-flight requests finish within the grace period.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Settings;
use crate::oauth::password_hash::Hasher;
use crate::oauth::Authority;
use crate::store::Store;

/// Opens the configured database and applies migrations when `database.migrate_on_start` is set.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database)
        .await
        .context("cannot open the database")?;
    if settings.database.migrate_on_start {
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
    }
    Ok(store)
}

/// The protocol core over an open store.
pub fn authority(settings: Settings, store: Store, clock: Clock) -> anyhow::Result<Authority> {
    let hasher = Hasher::new(&settings.security, clock.clone())?;
    Ok(Authority {
        store,
        hasher,
        clock,
        settings: Arc::new(settings),
    })
}

pub struct Application {
    listener: TcpListener,
    port: u16,
    authority: Authority,
}

impl Application {
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        let store = open_store(&settings).await?;
        Application::with_store(settings, store, clock).await
    }

    pub async fn with_store(
        settings: Settings,
        store: Store,
        clock: Clock,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (server.listen)",
                    settings.server.listen
                )
            })?;
        let port = listener.local_addr()?.port();
        let authority = authority(settings, store, clock)?;
        Ok(Application {
            listener,
            port,
            authority,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Serves until SIGTERM or ctrl-c.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then drains in-flight requests for at most
    /// `server.shutdown_grace_secs`.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = Duration::from_secs(self.authority.settings.server.shutdown_grace_secs);
        let store = self.authority.store.clone();
        tracing::info!(address = %self.listener.local_addr()?, database = store.backend_name(), "oauthd listening");
        let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
        let janitor = crate::janitor::spawn(self.authority.clone());
        let app = crate::http::router(self.authority);
        let server = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            stop.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stopping_tx.send(true);
        });
        let deadline = async move {
            let _ = stopping_rx.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            result = server => result.context("server error")?,
            () = deadline => tracing::warn!("shutdown grace period over; exiting with requests in flight"),
        }
        janitor.abort();
        store.close().await;
        tracing::info!("oauthd stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
