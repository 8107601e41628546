//! A real browser for the page tests: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`, through the `fantoccini` client).
//!
//! ```ignore
//! let Some(browser) = Browser::start("sign_in").await else { return };  // skipped, reason printed
//! browser.goto(&app.url("/login")).await;
//! browser.fill("#username", "alice").await;
//! browser.click("button[type=submit]").await;
//! browser.screenshot("login").await;          // target/screenshots/sign_in-login.png
//! browser.close().await;
//! ```
//!
//! Each `Browser` runs its own `chromedriver --port=N` (a free port) and Chromium, both ended by
//! [`Browser::close`] (or, failing that, when dropped). One browser runs at a time in the test
//! binary (a lock held by each `Browser`): a second waits, so a 2-core machine is not swamped.
//!
//! Without `chromedriver` or `chromium` on `PATH` a test is skipped with one line saying why,
//! unless `TEST_BROWSER=require` (as `.ci/run` sets), which makes that a failure.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

/// One browser at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How long a page may take to show the element a test waits for.
const WAIT: Duration = Duration::from_secs(10);

/// A headless Chromium session, its chromedriver, and where its screenshots go.
pub struct Browser {
    pub client: Client,
    driver: Child,
    /// The prefix of this test's screenshot names.
    test: String,
    _turn: MutexGuard<'static, ()>,
}

/// `name` on `PATH`, if there.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn required() -> bool {
    std::env::var("TEST_BROWSER").is_ok_and(|v| v == "require")
}

/// Where screenshots go: `target/screenshots/` (or under `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for the test `test` (the prefix of its
    /// screenshots). `None`, after printing why, when they are not installed and not required.
    pub async fn start(test: &str) -> Option<Browser> {
        let driver_path = on_path(&["chromedriver"]);
        let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"]);
        let (Some(driver_path), Some(chromium)) = (driver_path, chromium) else {
            let reason = "browser test skipped: chromedriver or chromium is not on PATH \
                          (apt-get install chromium chromium-driver)";
            assert!(!required(), "TEST_BROWSER=require: {reason}");
            eprintln!("{reason}");
            return None;
        };
        let turn = ONE_AT_A_TIME.lock().await;
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_until_ready(&webdriver).await;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,900", "--hide-scrollbars", "--no-first-run",
                         "--disable-features=Translate,MediaRouter", "--password-store=basic"],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("a WebDriver session with Chromium");
        std::fs::create_dir_all(screenshot_dir()).expect("screenshot directory");
        Some(Browser { client, driver, test: test.to_owned(), _turn: turn })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The URL the browser shows.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("current url")
    }

    /// Waits for the element `css` and returns it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no element {css} on {}: {e}", self.url().await),
        }
    }

    /// Types `text` into the field `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The visible text of the element `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// Waits until the browser's URL satisfies `test`.
    pub async fn wait_for_url(&self, what: &str, test: impl Fn(&url::Url) -> bool) -> url::Url {
        let start = Instant::now();
        loop {
            let url = self.url().await;
            if test(&url) {
                return url;
            }
            assert!(start.elapsed() < WAIT, "waited for {what}; the browser is at {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resizes the window (a phone is 390 × 844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("resize");
    }

    /// Saves a screenshot of the page as `target/screenshots/<test>-<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{}-{name}.png", self.test));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// Ends the WebDriver session (and Chromium with it), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// chromedriver goes with its `Browser`, closed or not (a failed test drops it mid-way).
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn wait_until_ready(webdriver: &str) {
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        let ready = http.get(format!("{webdriver}/status")).send().await;
        if let Ok(response) = ready {
            if let Ok(body) = response.json::<serde_json::Value>().await {
                if body["value"]["ready"] == true {
                    return;
                }
            }
        }
        assert!(start.elapsed() < WAIT, "chromedriver did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
