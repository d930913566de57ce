//! `report.html` in headless Chromium, driven through `WebDriver` (`chromedriver`, with the
//! fantoccini crate), on the demo and on the hostile fixture with markup in its names: the tree
//! renders and expands, filtering by a check changes what is shown, a search finds an account
//! by ID and by name, hostile names stay text (no element or script of theirs runs), the
//! browser logs no console message at warning level or above (a CSP violation or a script
//! error would be one), and the only request the page makes is for itself.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `.ci/run` installs them). `HEADROOM_CHROMIUM` and `HEADROOM_CHROMEDRIVER` name other
//! binaries. Without them the test fails, naming what is missing: it is never skipped.
//!
//! `UPDATE_GENERATED=1` also writes the demo's screenshot to `documentation/report.png`.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
#![expect(
    clippy::panic,
    reason = "a missing browser fails the test with its name"
)]

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The first of `names` on `PATH`, or the path in `env`.
fn binary(env: &str, names: &[&str], package: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "`{}` not found on PATH: the report.html browser test needs it (Debian: `apt-get install chromium chromium-driver`, package `{package}`; or set {env})",
        names[0]
    );
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: std::process::Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let chromedriver = binary(
        "HEADROOM_CHROMEDRIVER",
        &["chromedriver"],
        "chromium-driver",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = std::process::Command::new(&chromedriver);
    command.arg(format!("--port={port}"));
    // For a failure to look into: chromedriver's own log, every command and answer.
    if let Some(log) = std::env::var_os("HEADROOM_CHROMEDRIVER_LOG") {
        command.arg("--verbose").arg({
            let mut arg = std::ffi::OsString::from("--log-path=");
            arg.push(log);
            arg
        });
    }
    // Owned by `Driver` at once: dropping it (a panic included) stops and reaps chromedriver.
    let driver = Driver {
        child: command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", chromedriver.display())),
        port,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return driver;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not listen on port {port} within 10 s");
}

async fn browser(driver: &Driver) -> Client {
    let chromium = binary(
        "HEADROOM_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
        "chromium",
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-dev-shm-usage",
                     "--window-size=1280,1400"],
        }),
    );
    caps.insert(
        "goog:loggingPrefs".into(),
        json!({"browser": "ALL", "performance": "ALL"}),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("cannot open a Chromium session through chromedriver")
}

/// A log of the session (`browser`: the console; `performance`: `DevTools` events), through
/// chromedriver's log endpoint, which fantoccini does not wrap.
fn log(driver: &Driver, session: &str, kind: &str) -> Vec<Value> {
    let body = json!({ "type": kind }).to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", driver.port)).unwrap();
    write!(
        stream,
        "POST /session/{session}/se/log HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // chromedriver keeps the connection open: read the headers, then Content-Length bytes.
    let mut reader = std::io::BufReader::new(stream);
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse::<usize>().unwrap());
        }
    }
    let mut body = vec![0; length.expect("chromedriver sent no Content-Length")];
    reader.read_exact(&mut body).unwrap();
    let value: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
    value["value"].as_array().cloned().unwrap_or_default()
}

/// Writes the report of `snapshot` (analyzed with the demo configuration) into `dir`.
fn write_report(snapshot: &[u8], dir: &Path) -> PathBuf {
    let config = headroom_schemas::config::Config::from_yaml(
        headroom_analyzer::DEMO_CONFIG,
        Path::new("demo.yaml"),
    )
    .unwrap();
    let settings = headroom_analyzer::Settings::from_config(&config);
    let snapshot = headroom_schemas::read(snapshot).unwrap();
    let outputs = headroom_analyzer::analyze(&snapshot, &settings).unwrap();
    let file = headroom_analyzer::OutputFile::new(
        headroom_analyzer::Area::Out,
        headroom_analyzer::html::REPORT_HTML_FILE,
    );
    let path = dir.join("report.html");
    std::fs::write(&path, &outputs.files[&file]).unwrap();
    path
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Opens `report`, checks what every report must do, and returns the client for more.
async fn open(client: &Client, report: &Path) {
    let url = format!("file://{}", report.display());
    client.goto(&url).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body[data-ready=true]"))
        .await
        .expect("the page's script did not finish (blocked by the CSP, or it threw)");
    // The tree is drawn, its root open.
    let root = client
        .find(Locator::Css("#tree > details[open]"))
        .await
        .unwrap();
    let summary = root.find(Locator::Css("summary")).await.unwrap();
    assert!(summary.text().await.unwrap().contains("Root"));
}

/// What a page did besides drawing itself: console messages at warning level or above, and
/// the URLs it requested other than its own, with the number of requests seen.
fn side_effects(driver: &Driver, session: &str, page: &Path) -> (Vec<Value>, Vec<String>, usize) {
    let console: Vec<Value> = log(driver, session, "browser")
        .into_iter()
        .filter(|entry| entry["level"] != "INFO" && entry["level"] != "DEBUG")
        .collect();
    let own = format!("file://{}", page.display());
    let mut requests = 0;
    let mut foreign = Vec::new();
    for entry in log(driver, session, "performance") {
        let message: Value = serde_json::from_str(entry["message"].as_str().unwrap()).unwrap();
        if message["message"]["method"] == "Network.requestWillBeSent" {
            requests += 1;
            let url = message["message"]["params"]["request"]["url"]
                .as_str()
                .unwrap_or_default();
            if url != own {
                foreign.push(url.to_owned());
            }
        }
    }
    (console, foreign, requests)
}

/// The checks every page must pass at the end: nothing logged, nothing requested.
fn assert_quiet_and_offline(driver: &Driver, session: &str, report: &Path) {
    let (console, foreign, requests) = side_effects(driver, session, report);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(foreign.is_empty(), "the page requested {foreign:?}");
    assert!(requests >= 1, "the performance log saw no request at all");
}

/// The two checks above have teeth: a page that logs an error, breaks its CSP and requests
/// another URL (a closed local port: nothing leaves the machine) is caught on all three.
#[tokio::test(flavor = "current_thread")]
async fn the_checks_catch_errors_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("noisy.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'none'\">\
         <img src=\"x.png\"><iframe src=\"http://127.0.0.1:9/\"></iframe>\
         <script>console.error('boom')</script>",
    )
    .unwrap();
    let driver = start_driver();
    let client = browser(&driver).await;
    let session = client.session_id().await.unwrap().unwrap();
    client
        .goto(&format!("file://{}", page.display()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (console, foreign, _) = side_effects(&driver, &session, &page);
    let text = format!("{console:?}");
    assert!(text.contains("boom"), "{text}");
    assert!(text.contains("Content Security Policy"), "{text}");
    assert!(
        foreign
            .iter()
            .any(|url| url.starts_with("http://127.0.0.1:9")),
        "{foreign:?}"
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn demo_report_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = write_report(headroom_analyzer::DEMO_SNAPSHOT, dir.path());
    let driver = start_driver();
    let client = browser(&driver).await;
    let session = client.session_id().await.unwrap().unwrap();
    open(&client, &report).await;

    // Expanding an OU draws its accounts, with their blockers by resource.
    let workloads = client
        .find(Locator::Css(
            "details[data-node='ou-aaaa-22222222'] > summary",
        ))
        .await
        .unwrap();
    workloads.click().await.unwrap();
    let development = client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css(
            "details[data-node='ou-aaaa-55555555'] > summary",
        ))
        .await
        .unwrap();
    development.click().await.unwrap();
    let data_dev = client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("[data-account='777777777777']"))
        .await
        .unwrap();
    let row = data_dev.text().await.unwrap();
    assert!(
        row.contains("collection gap"),
        "a gap is shown as such: {row}"
    );
    assert!(!row.contains("clean for 16"), "{row}");
    let tree_all = text_of(&client, "#tree").await;
    assert!(tree_all.contains("16 guardrails attached"), "{tree_all}");

    // Filtering by a check changes what is shown.
    let select = client.find(Locator::Css("#check")).await.unwrap();
    select.select_by_value("3").await.unwrap(); // deny_ec2_public_ip, the fourth SCP
    let tree_one = text_of(&client, "#tree").await;
    assert_ne!(tree_one, tree_all);
    assert!(
        tree_one.contains("attached: deny_ec2_public_ip"),
        "{tree_one}"
    );
    assert!(
        tree_one.contains("carved out: web-prod (555555555555)"),
        "{tree_one}"
    );
    assert!(!tree_one.contains("deny_ec2_imds_v1"), "{tree_one}");

    // Search by ID and by name.
    let search = client.find(Locator::Css("#search")).await.unwrap();
    search.send_keys("555555555555").await.unwrap();
    let found = client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#results [data-account='555555555555']"))
        .await
        .unwrap();
    let found = found.text().await.unwrap();
    assert!(
        found.contains("web-prod") && found.contains("public_ip_assigned"),
        "{found}"
    );
    assert_eq!(text_of(&client, "#count").await, "1 account matches");
    search.clear().await.unwrap();
    search.send_keys("SANDBOX").await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#results [data-account='666666666666']"))
        .await
        .unwrap();

    if std::env::var_os("UPDATE_GENERATED").is_some() {
        // The screenshot in documentation/EXAMPLES.md: every check, Workloads open.
        search.clear().await.unwrap();
        select.select_by_value("").await.unwrap();
        for node in ["ou-aaaa-22222222", "ou-aaaa-55555555", "ou-aaaa-33333333"] {
            client
                .wait()
                .at_most(Duration::from_secs(5))
                .for_element(Locator::Css(&format!(
                    "details[data-node='{node}'] > summary"
                )))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        client
            .execute(
                "document.querySelector('.controls').scrollIntoView(); window.scrollBy(0, -8);",
                vec![],
            )
            .await
            .unwrap();
        let png = client.screenshot().await.unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../documentation/report.png");
        std::fs::write(path, png).unwrap();
    }

    assert_quiet_and_offline(&driver, &session, &report);
    client.close().await.unwrap();
}

/// The hostile fixture, with markup in two names besides its own HCL and control characters.
fn hostile_with_markup() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/snapshots/hostile.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["organization"]["accounts"]["666666666666"]["name"] =
        "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">".into();
    doc["organization"]["organizational_units"]["ou-aaaa-66666666"]["name"] =
        "</script><!-- <b id=\"injected\">bold</b> & &amp;".into();
    doc.to_string().into_bytes()
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_report_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = write_report(&hostile_with_markup(), dir.path());
    let driver = start_driver();
    let client = browser(&driver).await;
    let session = client.session_id().await.unwrap().unwrap();
    open(&client, &report).await;

    // The OU's name is its summary's text, not markup.
    let ou = client
        .find(Locator::Css(
            "details[data-node='ou-aaaa-66666666'] > summary",
        ))
        .await
        .unwrap();
    assert!(
        ou.text()
            .await
            .unwrap()
            .starts_with("</script><!-- <b id=\"injected\">bold</b> & &amp;")
    );
    // Search finds the account whose name is a script, shown as text.
    let search = client.find(Locator::Css("#search")).await.unwrap();
    search.send_keys("666666666666").await.unwrap();
    let found = client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("#results [data-account='666666666666']"))
        .await
        .unwrap();
    assert!(
        found
            .text()
            .await
            .unwrap()
            .starts_with("<script>window.pwned=1</script><img src=x")
    );
    let injected = client
        .execute(
            "return [typeof window.pwned, document.querySelectorAll('img, #injected, b').length, document.scripts.length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, json!(["undefined", 0, 2]));
    assert_quiet_and_offline(&driver, &session, &report);
    client.close().await.unwrap();
}
