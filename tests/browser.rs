//! The review page in a real browser (issue 13): Debian's chromium driven through chromedriver
//! with fantoccini. Alice signs in, accepts a mark with the keyboard, adds one by selecting words,
//! releases a held item and is refused the sign-off; Bob signs in and approves; the server stops
//! cleanly on SIGINT; the exported bundle shows exactly those changes.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`; `.ci/run`
//! installs them). Without them the test fails with one line saying so; it never skips.

use crate::util::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process ended when the test ends, passed or not.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn need_browser() {
    for tool in ["chromium", "chromedriver"] {
        let ok =
            Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success());
        assert!(ok, "the browser test needs `{tool}` on PATH: apt-get install chromium chromium-driver (see .ci/run)");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Start chromedriver on a free port and wait (bounded) until it accepts connections.
fn chromedriver() -> (Proc, String) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let p = Proc(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (p, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("chromedriver did not start listening on port {port}");
}

/// Start `disclose review serve` on a free loopback port; its address is the first line it prints.
fn server(db: &std::path::Path) -> (Proc, String) {
    let mut child = Command::new(bin())
        .args(["review", "serve", "--db", db.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().trim_end_matches('/').to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "the server prints its address first: {line:?}");
    (Proc(child), url)
}

async fn browser(driver: &str) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1500,1000", "--no-first-run", "--disable-extensions"]
        }
    });
    let caps = match caps {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let conn = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(conn).capabilities(caps).connect(driver).await.expect("a chromium session through chromedriver")
}

/// Poll a script until it returns something truthy (bounded: about 20 seconds).
async fn until(c: &Client, script: &str, what: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = c.execute(script, vec![]).await.unwrap_or(Value::Null);
        let truthy = match &last {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            Value::Number(_) | Value::Array(_) | Value::Object(_) => true,
        };
        if truthy {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("waited for {what}; last value {last}");
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("{css} on the page")).text().await.unwrap()
}

async fn sign_in(c: &Client, url: &str, name: &str) {
    c.goto(&format!("{url}/login")).await.unwrap();
    c.find(Locator::Css("#name")).await.unwrap().send_keys(name).await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys(&format!("{name} password")).await.unwrap();
    c.find(Locator::Css("main.login button[type=submit]")).await.unwrap().click().await.unwrap();
    until(c, "return document.querySelector('table.queue') !== null", "the queue after signing in").await;
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("form.signout button")).await.unwrap().click().await.unwrap();
    until(c, "return document.querySelector('#password') !== null", "the login page after signing out").await;
}

async fn open_request(c: &Client, id: &str) {
    c.find(Locator::Css(&format!("a[href='/r/{id}']"))).await.unwrap().click().await.unwrap();
    until(c, "return document.querySelectorAll('li.item').length > 0", "the request page").await;
}

fn pdf_text(p: &std::path::Path) -> String {
    fold(&stdout(&tool("pdftotext", &["-q", p.join("bundle.pdf").to_str().unwrap(), "-"])))
}

#[test]
fn the_review_page_in_a_real_browser() {
    need_browser();
    need("pdftotext");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    import_northbrook(&db);
    add_reviewer(&db, "alice");
    add_reviewer(&db, "bob");
    let o = run(&[
        "request",
        "new",
        "--db",
        db.to_str().unwrap(),
        "--subject",
        "p-leah",
        "--requester",
        "p-leah",
        "--policy",
        "sar-self",
        "--received",
        "2024-04-19",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let id = stdout(&o).trim().to_string();
    let draft = dir.path().join("draft");
    let o = run(&["export", "--db", db.to_str().unwrap(), "--request", &id, "--out", draft.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = pdf_text(&draft);
    assert!(before.contains("worry-tree"), "the word is in the draft");

    let (_driver, driver_url) = chromedriver();
    let (mut srv, url) = server(&db);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (held_mark, accepted_mark) = rt.block_on(async {
        let c = browser(&driver_url).await;
        sign_in(&c, &url, "alice").await;
        open_request(&c, &id).await;
        let figure0 = text_of(&c, "#figure").await;

        // Accept a mark with the keyboard: j to the first, then a.
        let first_mark: String = until(
            &c,
            "const li = [...document.querySelectorAll('li.item[data-kind=mark]')].find(l => !l.hidden); return li ? li.dataset.mark : null",
            "a mark in the list",
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
        // j moves to the first item of the list; step until the chosen mark is current.
        let body = c.find(Locator::Css("body")).await.unwrap();
        for _ in 0..50 {
            body.send_keys("j").await.unwrap();
            let cur = c.execute("const l = document.querySelector('li.item.current'); return l ? l.dataset.mark : null", vec![]).await.unwrap();
            if cur == json!(first_mark) {
                break;
            }
        }
        let li = c.find(Locator::Css(&format!("#it-{first_mark}"))).await.unwrap();
        assert!(li.attr("class").await.unwrap().unwrap_or_default().contains("current"), "j reaches the mark");
        li.send_keys("a").await.unwrap();
        until(
            &c,
            &format!("return document.querySelector('#it-{first_mark} .dec').textContent === 'accept by alice'"),
            "the accepted mark",
        )
        .await;

        // Add a mark by selecting words in the text: the why and code first, then the selection,
        // then the page's own add control.
        c.find(Locator::Css("#add-why")).await.unwrap().send_keys("names a school programme").await.unwrap();
        c.find(Locator::Css("#add-code")).await.unwrap().select_by_value("TP").await.unwrap();
        let selected = c
            .execute(
                r#"
                const sec = document.getElementById('rec-006');
                const walker = document.createTreeWalker(sec, NodeFilter.SHOW_TEXT);
                let n;
                while ((n = walker.nextNode())) {
                    const i = n.data.indexOf('Worry-tree');
                    if (i >= 0 && n.parentElement.closest('.text')) {
                        const r = document.createRange();
                        r.setStart(n, i);
                        r.setEnd(n, i + 'Worry-tree'.length);
                        const s = document.getSelection();
                        s.removeAllRanges();
                        s.addRange(r);
                        return s.toString();
                    }
                }
                return null;
                "#,
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(selected, json!("Worry-tree"), "the words are in rec-006's text on the page");
        until(&c, "return document.querySelector('#add-text').value === 'Worry-tree' && document.querySelector('#add-record').value === 'rec-006'", "the selection in the add form").await;
        c.find(Locator::Css("#add-button")).await.unwrap().click().await.unwrap();
        until(&c, "return document.querySelector('mark.hl.added') !== null", "the added mark highlighted after reload").await;
        let msg = text_of(&c, "#msg").await;
        assert!(msg.starts_with("Added"), "{msg}");
        let figure1 = text_of(&c, "#figure").await;
        assert_ne!(figure0, figure1, "the over-redaction figure follows the decisions");

        // Release a held item, with a reason.
        let held: String = c
            .execute("return document.querySelector('li.item[data-kind=held]').dataset.mark", vec![])
            .await
            .unwrap()
            .as_str()
            .expect("a held item in the list")
            .to_string();
        let li = c.find(Locator::Css(&format!("#it-{held}"))).await.unwrap();
        li.find(Locator::Css("input.why")).await.unwrap().send_keys("consulted the GP; nothing third-party on it").await.unwrap();
        li.find(Locator::Css("button[value=release]")).await.unwrap().click().await.unwrap();
        until(
            &c,
            &format!("return document.querySelector('#it-{held} .dec').textContent === 'release by alice'"),
            "the released item",
        )
        .await;
        assert_eq!(text_of(&c, "#undecided").await, "0", "no held item left undecided");

        // The screenshot for the README (kept in the temp folder, copied where asked).
        // A record with marks of several codes and a practice finding, the side list from its top.
        c.execute("document.getElementById('rec-002').scrollIntoView({block: 'start'}); document.getElementById('side').scrollTop = 0; document.activeElement.blur();", vec![]).await.unwrap();
        let png = c.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot");
        if let Some(p) = std::env::var_os("DISCLOSE_SCREENSHOT") {
            std::fs::write(p, &png).unwrap();
        }

        // Alice decided: her sign-off is refused, and the page says why.
        c.find(Locator::Css("#approve")).await.unwrap().click().await.unwrap();
        let m = until(&c, "const m = document.querySelector('#msg'); return m.classList.contains('bad') ? m.textContent : null", "the refusal").await;
        assert!(m.as_str().unwrap().contains("second reviewer"), "{m}");
        sign_out(&c).await;

        // Bob signs off.
        sign_in(&c, &url, "bob").await;
        open_request(&c, &id).await;
        c.find(Locator::Css("#approve")).await.unwrap().click().await.unwrap();
        until(&c, "return document.querySelector('#status').textContent.startsWith('approved by bob')", "the approval").await;
        c.close().await.unwrap();
        (held, first_mark)
    });

    // Ctrl-C: the server stops cleanly.
    // SAFETY: sending SIGINT to the child this test started.
    unsafe {
        libc::kill(srv.0.id() as i32, libc::SIGINT);
    }
    let status = srv.0.wait().unwrap();
    assert!(status.success(), "the server exits cleanly on Ctrl-C: {status}");

    // The store holds exactly what was done in the page, and the bundle shows it.
    let list = stdout(&run(&["review", "list", "--db", db.to_str().unwrap(), "--request", &id]));
    assert!(list.lines().any(|l| l.starts_with(&accepted_mark) && l.contains("[accept by alice]")), "{list}");
    assert!(list.lines().any(|l| l.starts_with(&held_mark) && l.contains("[release by alice]")), "{list}");
    let out = dir.path().join("final");
    let o = run(&["export", "--db", db.to_str().unwrap(), "--request", &id, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = pdf_text(&out);
    assert!(!after.contains("draft"), "approved: not a draft");
    assert!(!after.contains("worry-tree"), "the word added in the page is taken out");
    assert!(
        after.matches("is not included").count() < before.matches("is not included").count(),
        "the released item is in the bundle"
    );
    let audit = stdout(&run(&["audit", "--db", db.to_str().unwrap(), "--verify"]));
    assert!(
        audit.contains("audit chain intact") && audit.contains("view by alice") && audit.contains("approval by bob"),
        "{audit}"
    );
}
