//! Request logs: a value from a request cannot forge a text log line, and every request's line
//! names its peer (and, from a trusted proxy, the address it forwarded).

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::{oauthd, Served, TestDb};

/// `oauthd serve` with text logs (as an operator's terminal or journal shows them), its stdout
/// lines collected; killed when dropped.
struct TextServer {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    _db: TestDb,
}

impl TextServer {
    fn start() -> TextServer {
        let (db, url) = TestDb::sqlite();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = oauthd(&["serve"])
            .env("OAUTHD_DATABASE__URL", url)
            .env("OAUTHD_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("OAUTHD_LOG__FORMAT", "text")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let listening = line.contains("oauthd listening");
                sink.lock().unwrap().push(line);
                if listening {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30)).expect("oauthd serve started");
        TextServer { child, port, lines, _db: db }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for TextServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_client_id_with_a_newline_cannot_forge_a_text_log_line() {
    let server = TextServer::start();
    let url = format!("http://127.0.0.1:{}/token", server.port);
    let forged = "evil\nINFO oauthd: forged line\r\u{1b}[2K";
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        // In the body (client_secret_post) and in the Basic header.
        let body = serde_urlencoded::to_string([
            ("grant_type", "client_credentials"),
            ("client_id", forged),
            ("client_secret", "wrong-secret"),
        ])
        .unwrap();
        let r = http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(body).send().await;
        assert_eq!(r.unwrap().status(), 401);
        let r = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", crate::helpers::basic(forged, "wrong-secret"))
            .body("grant_type=client_credentials")
            .send()
            .await;
        assert_eq!(r.unwrap().status(), 401);
    });
    std::thread::sleep(Duration::from_millis(500));
    let lines = server.lines();
    let naming = lines.iter().filter(|l| l.contains("evil")).count();
    assert!(naming > 0, "the client id is logged: {lines:#?}");
    for line in &lines {
        assert!(!line.contains("forged") || line.contains("evil"), "a forged line: {line:?}\n{lines:#?}");
        assert!(!line.contains(['\r', '\u{1b}']), "a raw control character: {line:?}");
    }
    assert!(lines.iter().any(|l| l.contains(r"evil\nINFO oauthd: forged line")), "escaped: {lines:#?}");
}

/// The "response" log line of the request to `path`, from a JSON-logging server.
fn response_line(served: &Served, path: &str) -> serde_json::Value {
    for _ in 0..50 {
        let found = served.logged("response").into_iter().find(|l| l["span"]["path"] == path);
        if let Some(line) = found {
            return line;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no response line for {path}: {:#?}", served.lines.lock().unwrap());
}

fn get_with_forwarded_for(served: &Served, path: &str) {
    let url = format!("http://{}{path}", served.address);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
}

#[test]
fn a_request_log_line_names_the_peer_and_the_address_a_trusted_proxy_forwarded() {
    let served = Served::start(&[("OAUTHD_SERVER__TRUSTED_PROXIES", "127.0.0.1")]);
    get_with_forwarded_for(&served, "/healthz");
    let line = response_line(&served, "/healthz");
    assert!(line["span"]["peer"].as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "{line}");
    assert_eq!(line["span"]["forwarded_for"], "198.51.100.7", "{line}");
}

#[test]
fn a_forwarded_address_from_an_untrusted_peer_is_not_logged_as_the_client() {
    let served = Served::start(&[]);
    get_with_forwarded_for(&served, "/readyz");
    let line = response_line(&served, "/readyz");
    assert!(line["span"]["peer"].as_str().is_some_and(|p| p.starts_with("127.0.0.1:")), "{line}");
    assert!(line["span"].get("forwarded_for").is_none(), "{line}");
}
