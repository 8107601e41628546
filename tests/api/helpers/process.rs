//! Child processes: the real `oauthd` binary, run as an operator runs it (a command, or
//! `oauthd serve` with its logs collected).

use std::io::{BufRead, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::app::TestApp;
use super::database::TestDb;

/// `oauthd ARGS`, kept from the caller's environment: no database from DATABASE_URL or
/// OAUTHD_DATABASE__URL, and warnings only in its logs (on stderr; stdout stays the command's
/// answer). Add `.env(…)` for what the test sets, then [`Run::run`] it.
pub fn oauthd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oauthd"));
    cmd.args(args).env_remove("DATABASE_URL").env_remove("OAUTHD_DATABASE__URL").env("RUST_LOG", "warn");
    cmd
}

impl TestApp {
    /// `oauthd ARGS` against this app's database, as an operator runs it beside the server.
    pub fn oauthd(&self, args: &[&str]) -> Command {
        let mut cmd = oauthd(args);
        cmd.env("OAUTHD_DATABASE__URL", &self.database_url);
        cmd
    }

    /// A second server, the real `oauthd serve`, on this app's database.
    pub fn serve(&self, envs: &[(&str, &str)]) -> Served {
        Served::spawn(self.oauthd(&["serve"]), envs, None)
    }
}

/// A finished child process: whether it exited 0, and what it wrote.
pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Its stdout, parsed as JSON (`--json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs a [`Command`] to its end, its output read as text.
pub trait Run {
    /// Runs with nothing on stdin.
    fn run(&mut self) -> Ran;
    /// Runs with nothing on stdin, and asserts it exited 0.
    fn run_ok(&mut self) -> Ran;
    /// Runs with `input` on stdin.
    fn run_with_stdin(&mut self, input: &str) -> Ran;
}

impl Run for Command {
    fn run(&mut self) -> Ran {
        ran(self.output().expect("the program runs"))
    }

    fn run_ok(&mut self) -> Ran {
        let ran = self.run();
        assert!(ran.success, "{self:?} failed: {}", ran.stderr);
        ran
    }

    fn run_with_stdin(&mut self, input: &str) -> Ran {
        let mut child =
            self.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the program runs");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("stdin written");
        ran(child.wait_with_output().expect("the program ends"))
    }
}

fn ran(out: std::process::Output) -> Ran {
    Ran {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What curl got back.
pub struct CurlAnswer {
    pub status: u16,
    pub body: String,
}

impl CurlAnswer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Runs the real curl with `args` (the seed's commands verbatim) and asserts it got an answer.
pub fn curl(args: &[&str]) -> CurlAnswer {
    try_curl(args).unwrap_or_else(|stderr| panic!("curl {args:?} failed: {stderr}"))
}

/// Runs the real curl with `args`: its answer, or its stderr when it got none (it could not
/// connect, or did not trust the certificate). `--silent --show-error --write-out` are added
/// only so the status can be read.
pub fn try_curl(args: &[&str]) -> Result<CurlAnswer, String> {
    let ran = Command::new("curl").args(["--silent", "--show-error", "--write-out", "\n%{http_code}"]).args(args).run();
    if !ran.success {
        return Err(ran.stderr);
    }
    let (body, status) = ran.stdout.rsplit_once('\n').expect("status line");
    Ok(CurlAnswer { status: status.parse().expect("status"), body: body.to_owned() })
}

/// The real `oauthd serve` in a child process, its JSON log lines collected.
pub struct Served {
    pub child: Child,
    /// `127.0.0.1:PORT`, from the "oauthd listening" log line.
    pub address: String,
    pub lines: Arc<Mutex<Vec<String>>>,
    /// Its own database, when it has one ([`Served::start`]).
    _db: Option<TestDb>,
}

impl Served {
    /// Starts `oauthd serve` on a SQLite database of its own, with the given extra environment.
    pub fn start(envs: &[(&str, &str)]) -> Served {
        let (db, url) = TestDb::sqlite();
        let mut cmd = oauthd(&["serve"]);
        cmd.env("OAUTHD_DATABASE__URL", url);
        Served::spawn(cmd, envs, Some(db))
    }

    /// Runs `serve`, on 127.0.0.1:0 with JSON logs and then `envs`, until the address is logged.
    fn spawn(mut cmd: Command, envs: &[(&str, &str)], db: Option<TestDb>) -> Served {
        cmd.env("OAUTHD_SERVER__LISTEN", "127.0.0.1:0")
            .env("OAUTHD_LOG__FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn oauthd serve");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                // Kept before the address is announced, so a caller sees every line up to it.
                let listening = line.contains("oauthd listening").then(|| line.clone());
                sink.lock().expect("lines").push(line);
                if let Some(line) = listening {
                    let v: Value = serde_json::from_str(&line).expect("JSON log line");
                    let _ = tx.send(v["address"].as_str().expect("address").to_owned());
                }
            }
        });
        let address = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("oauthd serve started");
        Served { child, address, lines, _db: db }
    }

    /// The log lines so far whose message is `message`, parsed.
    pub fn logged(&self, message: &str) -> Vec<Value> {
        self.lines
            .lock()
            .expect("lines")
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["message"] == message)
            .collect()
    }

    /// Sends a signal (`-HUP`, `-TERM`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("kill").success();
        assert!(ok, "kill {signal} failed");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SHA-256 fingerprint of the certificate `https_url`'s server presents now, on a new
/// connection, without verifying it.
pub async fn served_fingerprint(https_url: &str) -> Option<String> {
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).tls_info(true).build().expect("client");
    let response = client.get(https_url).send().await.ok()?;
    let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
    Some(oauthd::tls::fingerprint(info.peer_certificate()?))
}
