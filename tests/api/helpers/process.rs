//! Child processes: the real `oauthd serve`, its logs collected.

use serde_json::Value;

/// The real `oauthd serve` in a child process, its JSON log lines collected.
pub struct Served {
    pub child: std::process::Child,
    /// `127.0.0.1:PORT`, from the "oauthd listening" log line.
    pub address: String,
    pub lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Served {
    /// Starts `oauthd serve` on 127.0.0.1:0 with JSON logs and the given extra environment.
    pub fn start(envs: &[(&str, &str)]) -> Served {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_oauthd"));
        cmd.arg("serve")
            .env_remove("DATABASE_URL")
            .env("OAUTHD_SERVER__LISTEN", "127.0.0.1:0")
            .env("OAUTHD_LOG__FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn oauthd serve");
        let stdout = child.stdout.take().expect("stdout");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
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
        Served { child, address, lines }
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
        let ok = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
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
