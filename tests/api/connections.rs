//! What every connection is held to (src/startup/connection.rs): a deadline for a request's
//! headers, an idle timeout between keep-alive requests, and a cap on connections served at
//! once, over which further connections wait. Socket timeouts cannot use the manual clock: the
//! settings here are a second or a few.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use oauthd::config::Settings;

use crate::helpers::{spawn_app, Backend, TestApp};

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn connect(app: &TestApp) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", app.port())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Reads one answer to GET /healthz (a small body, sent in one piece) and returns its head line.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

/// Whether the server has closed `stream` (EOF or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

fn short_timeouts(s: &mut Settings) {
    s.server.header_read_timeout_secs = 1;
    s.server.idle_timeout_secs = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_its_headers_one_byte_a_second_is_cut_off() {
    let app = spawn_app(Backend::Sqlite, short_timeouts).await.unwrap();
    let stream = connect(&app);
    let (elapsed, sent, answer) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut reader = stream.try_clone().unwrap();
        let mut writer = stream;
        let trickle = std::thread::spawn(move || {
            let mut sent = 0;
            for byte in HEALTHZ {
                if writer.write_all(&[*byte]).is_err() {
                    break;
                }
                sent += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            sent
        });
        let mut answer = Vec::new();
        let _ = reader.read_to_end(&mut answer);
        let elapsed = started.elapsed();
        (elapsed, trickle.join().unwrap(), String::from_utf8_lossy(&answer).into_owned())
    })
    .await
    .unwrap();
    assert!(!answer.contains("200 OK"), "never served: {answer}");
    assert!(elapsed < Duration::from_secs(5), "cut off after the 1 s header deadline, not {elapsed:?}");
    assert!(sent < HEALTHZ.len(), "before the headers were complete ({sent} bytes sent)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app(Backend::Sqlite, short_timeouts).await.unwrap();
    let mut stream = connect(&app);
    tokio::task::spawn_blocking(move || {
        stream.write_all(HEALTHZ).unwrap();
        assert_eq!(read_answer(&mut stream), "HTTP/1.1 200 OK");
        // Within the idle timeout (2 s), and longer than the header deadline (1 s): served again.
        std::thread::sleep(Duration::from_millis(1500));
        stream.write_all(HEALTHZ).unwrap();
        assert_eq!(read_answer(&mut stream), "HTTP/1.1 200 OK", "a keep-alive request inside the idle timeout");
        let idle_since = Instant::now();
        assert!(closed_within(&mut stream, Duration::from_secs(5)), "closed when idle");
        let idle = idle_since.elapsed();
        assert!(idle >= Duration::from_millis(1500), "not before the idle timeout: {idle:?}");
    })
    .await
    .unwrap();
}

fn two_connections(s: &mut Settings) {
    s.server.max_connections = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_until_one_ends() {
    let app = spawn_app(Backend::Sqlite, two_connections).await.unwrap();
    let (mut first, mut second, mut third) = (connect(&app), connect(&app), connect(&app));
    tokio::task::spawn_blocking(move || {
        for held in [&mut first, &mut second] {
            held.write_all(HEALTHZ).unwrap();
            assert_eq!(read_answer(held), "HTTP/1.1 200 OK");
        }
        // The third is accepted by the kernel but not served while two are open.
        third.write_all(HEALTHZ).unwrap();
        third.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
        let mut buf = [0u8; 64];
        let early = third.read(&mut buf);
        assert!(
            matches!(&early, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "no answer over the cap: {early:?}"
        );
        drop(first);
        third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(read_answer(&mut third), "HTTP/1.1 200 OK", "served once a slot is free");
        // The second connection was never disturbed.
        second.write_all(HEALTHZ).unwrap();
        assert_eq!(read_answer(&mut second), "HTTP/1.1 200 OK");
    })
    .await
    .unwrap();
}
