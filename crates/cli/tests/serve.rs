//! `headsweep serve` through the built binary: status codes over raw HTTP,
//! and the pages as a real browser renders them (Debian's chromium,
//! headless) — including a sweep whose progress advances while it is
//! watched. Without chromium the browser test is skipped with a reason,
//! unless HEADSWEEP_REQUIRE_BROWSER=1 (as under .ci/run) makes it a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use headsweep_store::{MetricRow, NewRun, NewSweep, RunResults, Store, Worker};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn worker() -> Worker {
    Worker {
        name: "w".into(),
        host: "test".into(),
        pid: 1,
        device: "cpu".into(),
        threads: 1,
    }
}

/// Sweep "live": 2 losses × 3 seeds, every run pending.
fn register(db: &Path) {
    rt().block_on(async {
        let s = Store::open(db.to_str().unwrap()).await.unwrap();
        let sweep = NewSweep {
            name: "live".into(),
            file_path: "live.toml".into(),
            file_text: "[sweep]\nname = \"live\"".into(),
            axes: vec!["train.loss".into()],
            code_version: "test".into(),
            host: "test".into(),
        };
        let runs: Vec<NewRun> = (0..6i64)
            .map(|i| NewRun {
                id: format!("{i:02x}{}", "cd".repeat(31)),
                config: "{}".into(),
                seed: i % 3,
                point: i / 3,
                axes: vec![(
                    "train.loss".into(),
                    if i < 3 { "bce" } else { "ce" }.into(),
                    None,
                )],
                fuse_key: None,
                role: headsweep_spec::Role::Run,
                trial: None,
            })
            .collect();
        s.register(&sweep, &runs).await.unwrap();
    });
}

/// Claims and completes `n` runs of "live".
fn finish(db: &Path, n: usize) {
    rt().block_on(async {
        let s = Store::open(db.to_str().unwrap()).await.unwrap();
        for _ in 0..n {
            let c = s.claim("live", &worker(), 60_000).await.unwrap().unwrap();
            let results = RunResults {
                parameters: 10,
                epochs_run: 1,
                fused: 1,
                metrics: vec![MetricRow {
                    split: "test".into(),
                    head: "age".into(),
                    metric: "accuracy".into(),
                    value: Some(0.5 + c.id.as_bytes()[1] as f64 / 1000.0),
                }],
                ..Default::default()
            };
            assert!(s.complete(&c.id, "w", "test", &results).await.unwrap());
        }
    });
}

struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &Path) -> Served {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("headsweep"))
        .args(["serve", "--db", db.to_str().unwrap(), "--port", "0"])
        .env_remove("HEADSWEEP_DB")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Served { child, addr }
}

/// One HTTP/1.1 request; the status code and body.
fn request(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (code, body)
}

#[test]
fn serve_answers_pages_and_refuses_what_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    register(&db);
    finish(&db, 4);
    let s = serve(&db);
    let (code, body) = request(&s.addr, "GET", "/");
    assert_eq!(code, 200);
    assert!(body.contains("href=\"/sweep/live\"") && body.contains("4 done"));
    let (code, body) = request(&s.addr, "GET", "/sweep/live");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("<table>") && body.contains("train.loss"));
    assert!(
        body.contains("http-equiv=\"refresh\""),
        "2 runs are pending"
    );
    for (path, want) in [
        ("/sweep/nope", 404),
        ("/sweep/live?metrics=age.nope", 400),
        ("/sweep/live?metrics=sex.accuracy", 400),
        ("/sweep/live?page=x", 400),
        ("/sweep/live?page=9", 404),
        ("/run/zz", 400),
        ("/run/ffffffffffff", 404),
        ("/../../etc/passwd", 404),
        ("/nothing/here", 404),
    ] {
        let (code, body) = request(&s.addr, "GET", path);
        assert_eq!(code, want, "{path}: {body}");
        assert!(body.contains("<!DOCTYPE html>"), "{path}: an error page");
    }
    let run = format!("/run/00{}", "cd".repeat(5));
    let (code, body) = request(&s.addr, "GET", &run);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("accuracy") && body.contains("status: <b>done</b>"));
    let (code, _) = request(&s.addr, "POST", "/sweep/live");
    assert_eq!(code, 405, "read only");
    drop(s);
    // Nothing was claimed, finished or registered by serving.
    rt().block_on(async {
        let store = Store::open(db.to_str().unwrap()).await.unwrap();
        let c = store.counts("live").await.unwrap();
        assert_eq!((c.done, c.pending, c.running), (4, 2, 0));
        assert_eq!(store.sweeps().await.unwrap(), ["live"]);
    });
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Runs headless chromium with `args` and a throwaway profile.
fn browse(browser: &Path, profile: &Path, args: &[&str]) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serve_is_checked_in_a_real_browser() {
    let Some(browser) = chromium() else {
        if std::env::var("HEADSWEEP_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("chromium is not installed, and HEADSWEEP_REQUIRE_BROWSER=1 requires it (apt-get install chromium)");
        }
        eprintln!("skipped: chromium is not installed (apt-get install chromium runs this test)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let db = dir.path().join("h.db");
    register(&db);
    let s = serve(&db);
    let url = format!("http://{}/sweep/live", s.addr);
    // The DOM as rendered: progress, the form, the (empty) runs table.
    let dom = browse(&browser, &profile, &["--dump-dom", &url]);
    assert!(dom.contains("0 done") && dom.contains("6 pending"), "{dom}");
    assert!(dom.contains("<form") && dom.contains("name=\"metrics\""));
    // Runs finish while the page is watched: the next render shows them.
    finish(&db, 3);
    let dom = browse(&browser, &profile, &["--dump-dom", &url]);
    assert!(dom.contains("3 done") && dom.contains("3 pending"), "{dom}");
    finish(&db, 3);
    let dom = browse(&browser, &profile, &["--dump-dom", &url]);
    assert!(dom.contains("6 done") && !dom.contains("http-equiv=\"refresh\""));
    assert!(
        dom.contains("age.accuracy") && dom.contains("<svg"),
        "comparison and chart: {dom}"
    );
    // A screenshot of the page holds far more than a blank page's.
    let shot = |target: &str, file: &Path| {
        browse(
            &browser,
            &profile,
            &[
                &format!("--screenshot={}", file.display()),
                "--window-size=1200,900",
                target,
            ],
        );
        std::fs::metadata(file).unwrap().len()
    };
    let page = shot(&url, &dir.path().join("page.png"));
    let blank = shot(
        "data:text/html,<html><body></body></html>",
        &dir.path().join("blank.png"),
    );
    assert!(page > 3 * blank, "screenshot {page} bytes, blank {blank}");
}
