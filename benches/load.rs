//! Load generator for a running oauthd. Not part of `cargo test`; scripts/bench.sh runs the whole
//! matrix and BENCHMARKS.md records the results.
//!
//! ```text
//! cargo bench --bench load -- --url http://127.0.0.1:8080 --database-url postgres://…/oauthd \
//!     [--workload all|client_credentials|refresh|introspect|revoke|stuffing] [--concurrency 16] \
//!     [--duration 10s] [--server-pid PID] [--label postgres] [--rate 200] [--flood-concurrency 64]
//! ```
//!
//! Provisioning goes through the library against the database the server uses —
//! `startup::open_store` + `startup::authority`, then `admin::clients::create`, the code behind
//! `oauthd client create` — so it needs `--database-url` and creates two clients per run:
//! `client_credentials` only (RFC 6749 §4.4.3: no refresh token), and one that may also use
//! `refresh_token`, whose client_credentials grants start the refresh chains; and, for the
//! stuffing workload, a client of the password grant and one user.
//!
//! Each worker holds one keep-alive HTTP/1.1 connection and sends one request at a time (closed
//! loop). Workloads:
//! - `client_credentials`: POST /token; the access tokens it mints feed introspect and revoke.
//! - `refresh`: each worker takes a refresh token from a client_credentials grant and then loops
//!   `grant_type=refresh_token&refresh_token=<latest>`, continuing with the token each answer
//!   rotates in (a rotation chain); a failed link starts a new chain.
//! - `introspect`: POST /introspect `token=<access>` over 1,000 minted tokens, round robin — what a
//!   resource server does on every API call. Each token is introspected once before the clock
//!   starts: a token's first active introspection also records its first use (a write), which is
//!   a once-per-token cost, not the steady state.
//! - `revoke`: POST /revoke `token=<access>`, each minted token once; ends early when they run out.
//! - `stuffing` (credential stuffing): legitimate refresh chains at a steady `--rate` (requests per
//!   second over `--concurrency` paced workers; a tick missed because an answer came late is
//!   skipped, not made up), first alone, then for as long again beside a flood of
//!   `--flood-concurrency` closed-loop workers sending wrong credentials, each costing argon2id
//!   work unless the server refuses it cheaper: wrong secrets for the legitimate client's id,
//!   secrets for random client ids, wrong passwords for the provisioned user, and passwords for
//!   random usernames, in turn. Reports the legitimate traffic's throughput and p99 without and
//!   with the flood, the share it keeps (80 % is the bar), the flood's answers, and the server's
//!   memory peak; a line starting `{"stuffing":` carries them for scripts.
//!
//! For each: throughput, p50/p90/p99/max latency, answers by status (non-2xx are errors), the
//! server's RSS (VmRSS, VmHWM) when `--server-pid` is given, and one JSON line starting
//! `{"workload":`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;
use oauthd::admin::clients::{self, ClientSpec};
use oauthd::clock::Clock;
use oauthd::config::{DatabaseUrl, Settings};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::net::TcpStream;

const USAGE: &str = "usage: load --url URL --database-url URL [--workload all|client_credentials|refresh|introspect|revoke|stuffing] [--concurrency N] [--duration 10s] [--server-pid PID] [--label TEXT] [--rate 200] [--flood-concurrency 64]";

/// The share of its throughput the legitimate traffic must keep under a credential-stuffing flood.
const STUFFING_BAR: f64 = 0.80;

/// Most access tokens kept from the client_credentials run for introspect and revoke.
const MAX_KEPT_TOKENS: usize = 500_000;

/// How many of the minted access tokens the introspect workload cycles over.
const INTROSPECTED_TOKENS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    ClientCredentials,
    Refresh,
    Introspect,
    Revoke,
    Stuffing,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::ClientCredentials => "client_credentials",
            Workload::Refresh => "refresh",
            Workload::Introspect => "introspect",
            Workload::Revoke => "revoke",
            Workload::Stuffing => "stuffing",
        }
    }
}

struct Options {
    address: String,
    database_url: String,
    workloads: Vec<Workload>,
    concurrency: usize,
    duration: Duration,
    server_pid: Option<u32>,
    label: String,
    /// Legitimate refreshes per second in the stuffing workload.
    rate: f64,
    /// Workers of the stuffing workload's flood.
    flood_concurrency: usize,
}

fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let bad = || anyhow!("bad duration {text:?}: use e.g. 10s, 500ms or 10");
    if let Some(ms) = text.strip_suffix("ms") {
        return Ok(Duration::from_millis(ms.parse().map_err(|_| bad())?));
    }
    let secs = text.strip_suffix('s').unwrap_or(text);
    Ok(Duration::from_secs_f64(secs.parse().map_err(|_| bad())?))
}

fn parse_options() -> anyhow::Result<Options> {
    let mut url = None;
    let mut database_url = std::env::var("DATABASE_URL").ok();
    let mut workload = "all".to_owned();
    let mut concurrency = 16;
    let mut duration = Duration::from_secs(10);
    let mut server_pid = None;
    let mut label = String::new();
    let mut rate: f64 = 200.0;
    let mut flood_concurrency = 64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        // `cargo bench` passes --bench to harness = false targets.
        if name == "--bench" {
            continue;
        }
        if name == "--help" || name == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| anyhow!("{name} needs a value\n{USAGE}"))?,
        };
        match name.as_str() {
            "--url" => url = Some(value),
            "--database-url" => database_url = Some(value),
            "--workload" => workload = value,
            "--concurrency" => concurrency = value.parse().context("--concurrency")?,
            "--duration" => duration = parse_duration(&value)?,
            "--server-pid" => server_pid = Some(value.parse().context("--server-pid")?),
            "--label" => label = value,
            "--rate" => rate = value.parse().context("--rate")?,
            "--flood-concurrency" => flood_concurrency = value.parse().context("--flood-concurrency")?,
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    let url = url.ok_or_else(|| anyhow!("--url is required\n{USAGE}"))?;
    let address = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--url must be http://HOST:PORT (loopback benchmarking only)"))?
        .trim_end_matches('/')
        .to_owned();
    let workloads = match workload.as_str() {
        "all" => vec![
            Workload::ClientCredentials,
            Workload::Introspect,
            Workload::Revoke,
            Workload::Refresh,
            Workload::Stuffing,
        ],
        "client_credentials" => vec![Workload::ClientCredentials],
        "refresh" => vec![Workload::Refresh],
        "introspect" => vec![Workload::Introspect],
        "revoke" => vec![Workload::Revoke],
        "stuffing" => vec![Workload::Stuffing],
        other => bail!("unknown workload {other}\n{USAGE}"),
    };
    if concurrency == 0 || flood_concurrency == 0 {
        bail!("--concurrency and --flood-concurrency must be at least 1");
    }
    if !(rate > 0.0 && rate.is_finite()) {
        bail!("--rate must be a positive number of requests per second");
    }
    Ok(Options {
        address,
        database_url: database_url.ok_or_else(|| anyhow!("--database-url (or DATABASE_URL) is required\n{USAGE}"))?,
        workloads,
        concurrency,
        duration,
        server_pid,
        label,
        rate,
        flood_concurrency,
    })
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    address: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    fn new(address: &str) -> Connection {
        Connection { address: address.to_owned(), sender: None }
    }

    async fn connect(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(&self.address).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| anyhow!("no connection"))
    }

    /// POSTs a form; returns the status and the body. An I/O error drops the connection.
    async fn post(&mut self, path: &str, authorization: &str, body: String) -> anyhow::Result<(u16, Bytes)> {
        let host = self.address.clone();
        let result = async {
            let sender = self.connect().await?;
            sender.ready().await?;
            let request = Request::post(path)
                .header(HOST, host)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(AUTHORIZATION, authorization)
                .body(Full::new(Bytes::from(body)))?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
}

/// What one worker measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    by_status: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, started: Instant, outcome: &anyhow::Result<(u16, Bytes)>) {
        let micros = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        self.latencies_us.push(micros);
        let key = match outcome {
            Ok((status, _)) => status.to_string(),
            Err(_) => "io".to_owned(),
        };
        *self.by_status.entry(key).or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.by_status {
            *self.by_status.entry(k).or_default() += v;
        }
    }
}

struct Bench {
    options: Options,
    cc_basic: String,
    refresh_basic: String,
    stuffing: Stuffing,
    /// Access tokens minted by the client_credentials run (for introspect and revoke).
    minted: Mutex<Vec<String>>,
}

fn basic(id: &str, secret: &str) -> String {
    let encode =
        |v: &str| serde_urlencoded::to_string([("v", v)]).unwrap_or_default().trim_start_matches("v=").to_owned();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// What the stuffing workload needs: the legitimate client's id (its secret is `refresh_basic`),
/// and a client of the password grant with one user.
struct Stuffing {
    refresh_client_id: String,
    password_basic: String,
    username: String,
}

/// The clients (Basic credentials of the client_credentials one and of the refresh one) and what
/// the stuffing workload needs.
async fn provision(options: &Options) -> anyhow::Result<(String, String, Stuffing)> {
    let mut settings = Settings::default();
    settings.database.url = DatabaseUrl::new(&options.database_url);
    settings.database.max_connections = 1;
    let store = oauthd::startup::open_store(&settings).await?;
    let auth = oauthd::startup::authority(settings, store.clone(), Clock::System)?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut made = Vec::new();
    let mut ids = Vec::new();
    for (name, grants) in [
        ("bench-cc", vec!["client_credentials"]),
        ("bench-refresh", vec!["client_credentials", "refresh_token"]),
        ("bench-password", vec!["password"]),
    ] {
        let created = clients::create(
            &auth,
            ClientSpec {
                client_id: Some(format!("{name}-{}", &tag[..12])),
                name: name.into(),
                grant_types: grants.into_iter().map(str::to_owned).collect(),
                scopes: vec!["PRODUCTION".into()],
                ..ClientSpec::default()
            },
        )
        .await?;
        let secret = created.client_secret.ok_or_else(|| anyhow!("a confidential client has a secret"))?;
        made.push(basic(&created.client.client_id, secret.expose_secret()));
        ids.push(created.client.client_id);
    }
    let username = format!("bench-user-{}", &tag[..12]);
    let password = secrecy::SecretString::from(uuid::Uuid::new_v4().simple().to_string());
    oauthd::admin::users::create(&auth, &username, &password).await?;
    store.close().await;
    let (Some(password_basic), Some(refresh), Some(cc), Some(refresh_client_id)) =
        (made.pop(), made.pop(), made.pop(), ids.get(1).cloned())
    else {
        bail!("provisioning made fewer clients than asked");
    };
    Ok((cc, refresh, Stuffing { refresh_client_id, password_basic, username }))
}

impl Bench {
    /// Runs one workload with `concurrency` workers for the duration (revoke may end early).
    async fn run(self: &Arc<Self>, workload: Workload) -> anyhow::Result<()> {
        if workload == Workload::Stuffing {
            return self.stuffing().await;
        }
        if matches!(workload, Workload::Introspect | Workload::Revoke) && lock(&self.minted).is_empty() {
            eprintln!("{}: minting access tokens first (a client_credentials run, not reported)", workload.name());
            let tally = self.drive(Workload::ClientCredentials).await?.0;
            eprintln!("  minted {}", tally.latencies_us.len());
        }
        let (tally, elapsed) = self.drive(workload).await?;
        self.report(workload.name(), tally, elapsed);
        Ok(())
    }

    async fn drive(self: &Arc<Self>, workload: Workload) -> anyhow::Result<(Tally, Duration)> {
        let tokens: Arc<Vec<String>> = Arc::new(match workload {
            Workload::Introspect => lock(&self.minted).iter().take(INTROSPECTED_TOKENS).cloned().collect(),
            Workload::Revoke => std::mem::take(&mut *lock(&self.minted)),
            _ => Vec::new(),
        });
        let next = Arc::new(AtomicUsize::new(0));
        // Every worker connects (and its client is verified once by argon2id) before the clock starts.
        let mut connections = Vec::new();
        for _ in 0..self.options.concurrency {
            let mut c = Connection::new(&self.options.address);
            let (status, _) = c
                .post("/token", &self.cc_basic, form(&[("grant_type", "client_credentials")]))
                .await
                .context("warm-up request")?;
            if status != 200 {
                bail!("warm-up client_credentials grant answered {status}");
            }
            connections.push(c);
        }
        if let (Workload::Introspect, Some(first)) = (workload, connections.first_mut()) {
            for token in tokens.iter() {
                let (status, _) = first.post("/introspect", &self.cc_basic, form(&[("token", token)])).await?;
                if status != 200 {
                    bail!("first introspection answered {status}");
                }
            }
        }
        let started = Instant::now();
        let deadline = started + self.options.duration;
        let mut workers = Vec::new();
        for (index, connection) in connections.into_iter().enumerate() {
            let bench = Arc::clone(self);
            let tokens = Arc::clone(&tokens);
            let next = Arc::clone(&next);
            workers.push(tokio::spawn(async move {
                bench.worker(workload, connection, index, deadline, &tokens, &next).await
            }));
        }
        let mut total = Tally::default();
        for w in workers {
            total.merge(w.await??);
        }
        Ok((total, started.elapsed()))
    }

    async fn worker(
        &self,
        workload: Workload,
        mut connection: Connection,
        index: usize,
        deadline: Instant,
        tokens: &[String],
        next: &AtomicUsize,
    ) -> anyhow::Result<Tally> {
        let mut tally = Tally::default();
        let mut kept = Vec::new();
        let mut refresh_token: Option<String> = None;
        let mut cursor = index;
        while Instant::now() < deadline {
            match workload {
                Workload::ClientCredentials => {
                    let started = Instant::now();
                    let outcome =
                        connection.post("/token", &self.cc_basic, form(&[("grant_type", "client_credentials")])).await;
                    tally.record(started, &outcome);
                    if let Ok((200, body)) = &outcome {
                        if let Ok(answer) = serde_json::from_slice::<TokenAnswer>(body) {
                            kept.push(answer.access_token);
                        }
                    }
                }
                Workload::Refresh => {
                    let Some(current) = refresh_token.take() else {
                        // Start (or restart) a chain; not a measured request.
                        let (status, body) = connection
                            .post("/token", &self.refresh_basic, form(&[("grant_type", "client_credentials")]))
                            .await?;
                        if status != 200 {
                            bail!("starting a refresh chain answered {status}");
                        }
                        refresh_token = serde_json::from_slice::<TokenAnswer>(&body)?.refresh_token;
                        if refresh_token.is_none() {
                            bail!("the refresh client got no refresh token");
                        }
                        continue;
                    };
                    let started = Instant::now();
                    let outcome = connection
                        .post(
                            "/token",
                            &self.refresh_basic,
                            form(&[("grant_type", "refresh_token"), ("refresh_token", &current)]),
                        )
                        .await;
                    tally.record(started, &outcome);
                    if let Ok((200, body)) = &outcome {
                        refresh_token = serde_json::from_slice::<TokenAnswer>(body).ok().and_then(|a| a.refresh_token);
                    }
                }
                Workload::Introspect => {
                    let Some(token) = tokens.get(cursor % tokens.len().max(1)) else {
                        bail!("no access tokens to introspect");
                    };
                    cursor += self.options.concurrency;
                    let started = Instant::now();
                    let outcome = connection.post("/introspect", &self.cc_basic, form(&[("token", token)])).await;
                    tally.record(started, &outcome);
                }
                Workload::Stuffing => bail!("the stuffing workload runs its own workers"),
                Workload::Revoke => {
                    let Some(token) = tokens.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let started = Instant::now();
                    let outcome = connection
                        .post("/revoke", &self.cc_basic, form(&[("token", token), ("token_type_hint", "access_token")]))
                        .await;
                    tally.record(started, &outcome);
                }
            }
        }
        if !kept.is_empty() {
            let mut minted = lock(&self.minted);
            let room = MAX_KEPT_TOKENS.saturating_sub(minted.len());
            minted.extend(kept.into_iter().take(room));
        }
        Ok(tally)
    }

    fn report(&self, name: &str, mut tally: Tally, elapsed: Duration) -> Figures {
        tally.latencies_us.sort_unstable();
        let n = tally.latencies_us.len();
        let quantile = |q: f64| -> f64 {
            if n == 0 {
                return 0.0;
            }
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            f64::from(tally.latencies_us[rank - 1]) / 1000.0
        };
        let ok: u64 = tally.by_status.iter().filter(|(s, _)| s.starts_with('2')).map(|(_, c)| c).sum();
        let errors: BTreeMap<&String, &u64> = tally.by_status.iter().filter(|(s, _)| !s.starts_with('2')).collect();
        let secs = elapsed.as_secs_f64();
        let rps = ok as f64 / secs;
        let memory = self.options.server_pid.and_then(server_memory);
        let o = &self.options;
        println!(
            "{:<18} {:>9.0} ok/s  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} requests in {:.1} s, c={}{}{})",
            name,
            rps,
            quantile(0.50),
            quantile(0.90),
            quantile(0.99),
            quantile(1.0),
            n,
            secs,
            o.concurrency,
            if errors.is_empty() { String::new() } else { format!(", errors by status {errors:?}") },
            memory.map(|(rss, hwm)| format!(", server RSS {} KiB, peak {} KiB", rss, hwm)).unwrap_or_default(),
        );
        // Written by hand so `workload` leads the line (serde_json sorts object keys).
        let number = |v: Option<u64>| v.map_or("null".to_owned(), |v| v.to_string());
        let json = format!(
            "{{\"workload\":\"{}\",\"label\":{},\"concurrency\":{},\"duration_s\":{:.3},\"requests\":{},\"ok\":{},\"rps\":{:.1},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"errors\":{},\"server_rss_kib\":{},\"server_hwm_kib\":{}}}",
            name,
            serde_json::Value::from(o.label.as_str()),
            o.concurrency,
            secs,
            n,
            ok,
            rps,
            quantile(0.50),
            quantile(0.90),
            quantile(0.99),
            quantile(1.0),
            serde_json::to_string(&errors).unwrap_or_else(|_| "{}".into()),
            number(memory.map(|m| m.0)),
            number(memory.map(|m| m.1)),
        );
        println!("{json}");
        Figures { rps, p99_ms: quantile(0.99), hwm_kib: memory.map(|m| m.1) }
    }
}

/// The figures of one reported run that the stuffing verdict compares.
struct Figures {
    rps: f64,
    p99_ms: f64,
    hwm_kib: Option<u64>,
}

impl Bench {
    /// The credential-stuffing workload (see the module docs): legitimate refreshes alone, then
    /// beside the flood, and the verdict.
    async fn stuffing(self: &Arc<Self>) -> anyhow::Result<()> {
        let o = &self.options;
        eprintln!(
            "stuffing: {} legitimate refreshes/s over {} workers, alone then beside {} flood workers",
            o.rate, o.concurrency, o.flood_concurrency
        );
        let (tally, elapsed) = self.paced_refreshes(None).await?;
        let alone = self.report("stuffing_alone", tally, elapsed);
        let flood = Arc::new(Mutex::new(Tally::default()));
        let (tally, elapsed) = self.paced_refreshes(Some(Arc::clone(&flood))).await?;
        let flooded = self.report("stuffing_flooded", tally, elapsed);
        let flood = std::mem::take(&mut *lock(&flood));
        let flood_rate = flood.latencies_us.len() as f64 / elapsed.as_secs_f64();
        let kept = if alone.rps > 0.0 { flooded.rps / alone.rps } else { 0.0 };
        let verdict = if kept >= STUFFING_BAR { "kept" } else { "NOT kept" };
        println!(
            "stuffing: the flood sent {:.0} requests/s, answered {:?}; legitimate refreshes {:.0} -> {:.0} ok/s ({:.0} %, the {:.0} % bar {verdict}), p99 {:.2} -> {:.2} ms, server peak RSS {} KiB",
            flood_rate,
            flood.by_status,
            alone.rps,
            flooded.rps,
            kept * 100.0,
            STUFFING_BAR * 100.0,
            alone.p99_ms,
            flooded.p99_ms,
            flooded.hwm_kib.map_or("?".to_owned(), |k| k.to_string()),
        );
        let summary = serde_json::json!({
            "label": o.label,
            "concurrency": o.concurrency,
            "rate": o.rate,
            "flood_concurrency": o.flood_concurrency,
            "alone_rps": alone.rps,
            "flooded_rps": flooded.rps,
            "kept": kept,
            "alone_p99_ms": alone.p99_ms,
            "flooded_p99_ms": flooded.p99_ms,
            "flood_rps": flood_rate,
            "flood_by_status": flood.by_status,
            "server_hwm_kib_before_flood": alone.hwm_kib,
            "server_hwm_kib": flooded.hwm_kib,
        });
        println!("{{\"stuffing\":{summary}}}");
        Ok(())
    }

    /// Legitimate refresh chains at `--rate` over `--concurrency` workers for the duration, and,
    /// when `flood` is given, the flood's workers beside them (their answers added to it). Each
    /// worker starts its chain before the clock starts, which also has its client verified once.
    async fn paced_refreshes(self: &Arc<Self>, flood: Option<Arc<Mutex<Tally>>>) -> anyhow::Result<(Tally, Duration)> {
        let o = &self.options;
        let mut chains = Vec::new();
        for _ in 0..o.concurrency {
            let mut connection = Connection::new(&o.address);
            let token = self.start_chain(&mut connection).await?;
            chains.push((connection, token));
        }
        let period = Duration::from_secs_f64(o.concurrency as f64 / o.rate);
        let started = Instant::now();
        let deadline = started + o.duration;
        let mut flooders = Vec::new();
        if let Some(flood) = &flood {
            for index in 0..o.flood_concurrency {
                let bench = Arc::clone(self);
                let flood = Arc::clone(flood);
                flooders.push(tokio::spawn(async move {
                    let tally = bench.flood_worker(index, deadline).await;
                    lock(&flood).merge(tally);
                }));
            }
        }
        let mut workers = Vec::new();
        for (index, (connection, token)) in chains.into_iter().enumerate() {
            let bench = Arc::clone(self);
            // Spread the workers' ticks over the period.
            let offset = period.mul_f64(index as f64 / o.concurrency as f64);
            workers.push(tokio::spawn(async move {
                bench.paced_worker(connection, token, started + offset, period, deadline).await
            }));
        }
        let mut total = Tally::default();
        for w in workers {
            total.merge(w.await??);
        }
        let elapsed = started.elapsed();
        for f in flooders {
            f.await?;
        }
        Ok((total, elapsed))
    }

    /// A client_credentials grant of the refresh client: the first refresh token of a chain.
    async fn start_chain(&self, connection: &mut Connection) -> anyhow::Result<String> {
        let body = form(&[("grant_type", "client_credentials")]);
        let (status, body) = connection.post("/token", &self.refresh_basic, body).await?;
        if status != 200 {
            bail!("starting a refresh chain answered {status}");
        }
        serde_json::from_slice::<TokenAnswer>(&body)?
            .refresh_token
            .ok_or_else(|| anyhow!("the refresh client got no refresh token"))
    }

    /// One paced worker of legitimate refreshes: a refresh per tick from `first`, continuing with
    /// the token each answer rotates in; a broken chain starts anew (not measured).
    async fn paced_worker(
        &self,
        mut connection: Connection,
        mut token: String,
        first: Instant,
        period: Duration,
        deadline: Instant,
    ) -> anyhow::Result<Tally> {
        let mut tally = Tally::default();
        let mut ticks = tokio::time::interval_at(first.into(), period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            if Instant::now() >= deadline {
                break;
            }
            let started = Instant::now();
            let body = form(&[("grant_type", "refresh_token"), ("refresh_token", &token)]);
            let outcome = connection.post("/token", &self.refresh_basic, body).await;
            tally.record(started, &outcome);
            let next = match &outcome {
                Ok((200, body)) => serde_json::from_slice::<TokenAnswer>(body).ok().and_then(|a| a.refresh_token),
                _ => None,
            };
            token = match next {
                Some(next) => next,
                None => self.start_chain(&mut connection).await?,
            };
        }
        Ok(tally)
    }

    /// One flood worker until the deadline, closed loop: wrong credentials of four kinds in turn.
    async fn flood_worker(&self, index: usize, deadline: Instant) -> Tally {
        let s = &self.stuffing;
        let mut connection = Connection::new(&self.options.address);
        let mut tally = Tally::default();
        let mut turn = index;
        while Instant::now() < deadline {
            let random = uuid::Uuid::new_v4().simple().to_string();
            let (authorization, body) = match turn % 4 {
                0 => (basic(&s.refresh_client_id, &random), form(&[("grant_type", "client_credentials")])),
                1 => (basic(&random[..16], &random), form(&[("grant_type", "client_credentials")])),
                2 => (
                    s.password_basic.clone(),
                    form(&[("grant_type", "password"), ("username", &s.username), ("password", &random)]),
                ),
                _ => (
                    s.password_basic.clone(),
                    form(&[("grant_type", "password"), ("username", &random[..12]), ("password", &random)]),
                ),
            };
            turn += 1;
            let started = Instant::now();
            let outcome = connection.post("/token", &authorization, body).await;
            tally.record(started, &outcome);
        }
        tally
    }
}

/// The server's resident set and its peak, in KiB, from /proc/PID/status.
fn server_memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    let (cc_basic, refresh_basic, stuffing) = provision(&options).await.context("provisioning clients")?;
    let workloads = options.workloads.clone();
    let bench = Arc::new(Bench { options, cc_basic, refresh_basic, stuffing, minted: Mutex::new(Vec::new()) });
    for workload in workloads {
        bench.run(workload).await?;
    }
    Ok(())
}
