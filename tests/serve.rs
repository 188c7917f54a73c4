//! The review page's HTTP guarantees (issue 13), against the router itself (no socket): without
//! a session every route gives the login page or 401 and no case data; a change without the
//! session's CSRF token is refused and records nothing; failed sign-ins are recorded and slow
//! the name down; a view is in the audit trail; signing out ends the session.

use crate::util::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use disclose::store::Store;
use http_body_util::BodyExt;
use std::path::PathBuf;
use tower::ServiceExt;

pub struct Env {
    pub _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub id: String,
    app: axum::Router,
}

/// Northbrook in a store, reviewers alice and bob, and one request for Leah's file.
pub fn env() -> Env {
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
    let app = disclose::serve::app(disclose::serve::Config {
        db: db.clone(),
        audit_key: None,
        practice_policy: None,
        loopback_only: true,
    })
    .unwrap();
    Env { _dir: dir, db, id, app }
}

/// Every name of every person in the Northbrook export (whole words of four letters or more).
pub fn northbrook_names() -> Vec<String> {
    let v = read_json(&northbrook());
    let mut out = Vec::new();
    for p in v["persons"].as_array().unwrap() {
        for n in p["names"].as_array().unwrap() {
            for g in n["given"].as_array().into_iter().flatten() {
                out.push(g.as_str().unwrap().to_string());
            }
            if let Some(f) = n["family"].as_str() {
                out.push(f.to_string());
            }
        }
    }
    out.retain(|n| n.chars().count() >= 4);
    out.sort();
    out.dedup();
    out
}

/// The names that occur in `body` as words.
pub fn names_in(body: &str) -> Vec<String> {
    let words: std::collections::HashSet<String> =
        body.split(|c: char| !c.is_alphanumeric() && c != '-').map(|w| w.to_lowercase()).collect();
    northbrook_names().into_iter().filter(|n| words.contains(&n.to_lowercase())).collect()
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    fn header(&self, h: header::HeaderName) -> String {
        self.headers.get_all(h).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>().join("\n")
    }
    /// The value of a `name="..." value="..."` pair or a meta tag in the body.
    fn field(&self, name: &str) -> String {
        let pat = format!("name=\"{name}\" ");
        let i = self.body.find(&pat).unwrap_or_else(|| panic!("no {name} in the page"));
        let rest = &self.body[i + pat.len()..];
        let v = rest.split_once("content=\"").or_else(|| rest.split_once("value=\"")).unwrap().1;
        v.split('"').next().unwrap().to_string()
    }
}

impl Env {
    pub async fn send(&self, method: &str, path: &str, cookie: Option<&str>, form: Option<&str>) -> Resp {
        self.send_host(method, path, cookie, form, "127.0.0.1:8080").await
    }

    async fn send_host(&self, method: &str, path: &str, cookie: Option<&str>, form: Option<&str>, host: &str) -> Resp {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, host);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        let body = match form {
            Some(f) => {
                b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(f.to_string())
            }
            None => Body::empty(),
        };
        let r = self.app.clone().oneshot(b.body(body).unwrap()).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).to_string() }
    }

    /// Sign in; the session cookie (`name=value`).
    pub async fn sign_in(&self, name: &str) -> String {
        let r = self.try_sign_in(name, &format!("{name} password")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let c = r.header(header::SET_COOKIE);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
        c.split(';').next().unwrap().to_string()
    }

    async fn try_sign_in(&self, name: &str, password: &str) -> Resp {
        let page = self.send("GET", "/login", None, None).await;
        let token = page.field("csrf");
        let cookie = page.header(header::SET_COOKIE);
        let cookie = cookie.split(';').next().unwrap();
        let form = format!("name={name}&password={}&csrf={token}", password.replace(' ', "+"));
        self.send("POST", "/login", Some(cookie), Some(&form)).await
    }

    pub fn decisions(&self) -> usize {
        Store::open_existing(&self.db).unwrap().decisions(&self.id).unwrap().len()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn without_a_session_every_route_gives_the_login_page_and_no_case_data() {
    rt().block_on(async {
        let e = env();
        let id = e.id.clone();
        for path in ["/".to_string(), format!("/r/{id}"), format!("/r/{id}/page/att-gp-letter/1"), "/nowhere".into()] {
            let r = e.send("GET", &path, None, None).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(r.header(header::LOCATION), "/login", "{path}");
            assert!(r.body.is_empty(), "{path}: {}", r.body);
        }
        for path in [format!("/r/{id}/decide"), format!("/r/{id}/add"), format!("/r/{id}/approve"), "/logout".into()] {
            let r = e.send("POST", &path, None, Some("csrf=x&mark=m&verdict=accept")).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
            assert!(names_in(&r.body).is_empty() && !r.body.contains("rec-"), "{path}: {}", r.body);
        }
        // A made-up session cookie is no session.
        let r = e.send("GET", &format!("/r/{id}"), Some("disclose_session=00ff"), None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let login = e.send("GET", "/login", None, None).await;
        assert_eq!(login.status, StatusCode::OK);
        assert!(login.body.contains("name=\"password\""), "the login form");
        assert_eq!(names_in(&login.body), Vec::<String>::new(), "no personal data on the login page");
        assert!(!login.body.contains("rec-") && !login.body.contains("p-leah"));
        let csp = login.header(header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
        assert!(!login.body.contains("http://") && !login.body.contains("https://"), "no external URL");
        // Signed in, the same page has the family's names: the checks above can fail.
        let c = e.sign_in("alice").await;
        let page = e.send("GET", &format!("/r/{id}"), Some(&c), None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(names_in(&page.body).iter().any(|n| n == "Leah"), "the signed-in page shows the file");
        assert!(!page.body.contains("http://") && !page.body.contains("https://"), "no external URL");
        // Another site reaching it through DNS rebinding names another host: refused.
        let r = e.send_host("GET", &format!("/r/{id}"), Some(&c), None, "evil.example:8080").await;
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST);
        assert!(names_in(&r.body).is_empty());
    });
}

#[test]
fn a_change_without_the_sessions_csrf_token_is_refused_and_records_nothing() {
    rt().block_on(async {
        let e = env();
        let c = e.sign_in("alice").await;
        let page = e.send("GET", &format!("/r/{}", e.id), Some(&c), None).await;
        let csrf = page.field("csrf");
        let mark = page.body.split("data-kind=\"mark\"").next().unwrap();
        let mark = mark.rsplit("data-mark=\"").next().unwrap().split('"').next().unwrap().to_string();
        assert!(mark.starts_with("m-"), "{mark}");
        let path = format!("/r/{}/decide", e.id);
        let no_token = e.send("POST", &path, Some(&c), Some(&format!("mark={mark}&verdict=accept"))).await;
        assert!(no_token.status.is_client_error(), "{}", no_token.status);
        let wrong = "0".repeat(64);
        let r = e.send("POST", &path, Some(&c), Some(&format!("csrf={wrong}&mark={mark}&verdict=accept"))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(names_in(&r.body).is_empty());
        // Another session's token is not this one's.
        let c2 = e.sign_in("bob").await;
        let other = e.send("GET", "/", Some(&c2), None).await.field("csrf");
        assert_ne!(other, csrf);
        let r = e.send("POST", &path, Some(&c), Some(&format!("csrf={other}&mark={mark}&verdict=accept"))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = e
            .send(
                "POST",
                &format!("/r/{}/add", e.id),
                Some(&c),
                Some("csrf=&record=rec-006&words=Worry-tree&code=TP&why=x"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(e.decisions(), 0, "nothing recorded");
        assert!(Store::open_existing(&e.db).unwrap().added_marks(&e.id).unwrap().is_empty());
        // With the token, the same change is recorded.
        let r = e.send("POST", &path, Some(&c), Some(&format!("csrf={csrf}&mark={mark}&verdict=accept"))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(e.decisions(), 1);
    });
}

#[test]
fn failed_sign_ins_are_recorded_and_slow_the_name_down() {
    rt().block_on(async {
        let e = env();
        for i in 1..=3 {
            let r = e.try_sign_in("alice", "not the password").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
            assert!(!r.header(header::SET_COOKIE).contains("disclose_session"));
            if i == 3 {
                assert!(r.body.contains("wait 2 seconds"), "the third failure sets a delay: {}", r.body);
            }
        }
        let store = Store::open_existing(&e.db).unwrap();
        assert_eq!(store.login_failures("alice", 900).unwrap(), 3, "each failure recorded by name");
        // Within the delay even the right password is not checked.
        let r = e.try_sign_in("alice", "alice password").await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert!(r.headers.contains_key(header::RETRY_AFTER));
        assert!(!r.header(header::SET_COOKIE).contains("disclose_session"), "no session");
        // Another name is not slowed down.
        e.sign_in("bob").await;
        assert_eq!(store.login_failures("bob", 900).unwrap(), 0);
    });
}

#[test]
fn a_view_of_a_request_and_of_a_page_is_in_the_audit_trail() {
    rt().block_on(async {
        let e = env();
        let c = e.sign_in("alice").await;
        let page = e.send("GET", &format!("/r/{}", e.id), Some(&c), None).await;
        assert_eq!(page.status, StatusCode::OK);
        let img = page.body.split("<img src=\"").nth(1).expect("an attachment page image").split('"').next().unwrap();
        let png = e.send("GET", img, Some(&c), None).await;
        assert_eq!(png.status, StatusCode::OK);
        assert_eq!(png.header(header::CONTENT_TYPE), "image/png");
        let store = Store::open_existing(&e.db).unwrap();
        let views: Vec<disclose::audit::Event> = disclose::audit::list(&store)
            .unwrap()
            .iter()
            .filter_map(|s| match disclose::audit::Entry::parse(&s.entry_json) {
                Some(disclose::audit::Entry::Event(ev)) if ev.event == "view" => Some(ev),
                _ => None,
            })
            .collect();
        assert_eq!(views.len(), 2, "{views:?}");
        assert!(views
            .iter()
            .all(|v| v.by == "alice" && v.request.as_deref() == Some(e.id.as_str()) && !v.at.is_empty()));
        assert!(views[0].detail["shown"].split(' ').any(|r| r == "rec-006"), "the records shown, by id");
        assert!(views[1].target.as_deref().unwrap().contains("/page/"), "the page viewed");
        let json: String = views.iter().map(|v| serde_json::to_string(v).unwrap()).collect();
        assert!(names_in(&json).is_empty(), "ids only: {json}");
        let audit = e.run_ok(&["audit", "--verify"]);
        assert!(audit.contains("audit chain intact") && audit.contains("view by alice"), "{audit}");
    });
}

#[test]
fn signing_out_ends_the_session() {
    rt().block_on(async {
        let e = env();
        let c = e.sign_in("alice").await;
        let home = e.send("GET", "/", Some(&c), None).await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.body.contains(&e.id), "the queue lists the request");
        let csrf = home.field("csrf");
        // Without the token, signing out is refused and the session goes on.
        let r = e.send("POST", "/logout", Some(&c), Some("csrf=nope")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(e.send("GET", "/", Some(&c), None).await.status, StatusCode::OK);
        let r = e.send("POST", "/logout", Some(&c), Some(&format!("csrf={csrf}"))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.header(header::SET_COOKIE).contains("Max-Age=0"));
        let r = e.send("GET", "/", Some(&c), None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "the old cookie no longer works");
        assert_eq!(r.header(header::LOCATION), "/login");
    });
}

#[test]
fn serving_off_loopback_is_refused_unless_asked_for() {
    let e = env();
    let o = run(&["review", "serve", "--db", e.db.to_str().unwrap(), "--listen", "0.0.0.0:0"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a loopback address") && stderr(&o).contains("--allow-non-loopback"),
        "{}",
        stderr(&o)
    );
}

impl Env {
    fn run_ok(&self, args: &[&str]) -> String {
        let mut a = args.to_vec();
        a.extend(["--db", self.db.to_str().unwrap()]);
        let o = run(&a);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o)
    }
}

/// The review page draws the proposal's marks over each attachment page's image, where the marked
/// words are (placed as fractions of the image), each titled with its code and mark id: the
/// reviewer sees on the page what the list proposes.
#[test]
fn proposed_marks_are_drawn_over_the_attachment_page_images() {
    rt().block_on(async {
        let e = env();
        let c = e.sign_in("alice").await;
        let page = e.send("GET", &format!("/r/{}", e.id), Some(&c), None).await;
        assert_eq!(page.status, StatusCode::OK);
        let figures: Vec<&str> = page.body.split("<figure class=\"page\"").skip(1).collect();
        assert!(!figures.is_empty(), "attachment pages shown");
        let mut drawn = 0;
        for f in &figures {
            let f = f.split("</figure>").next().unwrap();
            for span in f.split("<span class=\"proposed ").skip(1) {
                let span = span.split('>').next().unwrap();
                let num = |k: &str| -> f64 {
                    span.split(&format!("data-{k}=\"")).nth(1).unwrap().split('"').next().unwrap().parse().unwrap()
                };
                let (x, y, w, h) = (num("x"), num("y"), num("w"), num("h"));
                assert!((0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y), "{span}");
                assert!(w > 0.0 && h > 0.0 && x + w <= 1.001 && y + h <= 1.001, "{span}");
                // a small box: a line of words, not the whole page
                assert!(h < 0.1, "{span}");
                let title = span.split("title=\"").nth(1).unwrap().split('"').next().unwrap();
                let id = title.split(' ').nth(1).unwrap();
                let at: Vec<&str> =
                    page.body.match_indices(id).map(|(i, _)| &page.body[i.saturating_sub(60)..i + 20]).collect();
                assert!(
                    page.body.contains(&format!("data-mark=\"{id}\"")),
                    "the box's mark {id} is in the list: {at:?}"
                );
                drawn += 1;
            }
        }
        assert!(drawn > 0, "no proposed mark drawn over any attachment page");
    });
}
