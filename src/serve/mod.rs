//! The review page: `disclose review serve`. A thin room over the functions the command line
//! calls (`crate::review::workflow` and `crate::review::session`): each handler checks the
//! session and the CSRF token, parses, calls the library, and renders. No rule of the review
//! lives here or in the page's JavaScript.
//!
//! It owns axum and tokio (the project's only long-running process). What it guarantees:
//! - it binds to loopback unless told otherwise, and then checks the `Host` header (so a page
//!   on another site cannot reach it through DNS rebinding);
//! - without a session, every route but the login page and the static assets answers with a
//!   redirect to the login page (GET) or 401 (POST), and no case data;
//! - sessions live in the case store (the token as its hash), cookies are HttpOnly and
//!   SameSite=Strict, and every POST carries the session's CSRF token;
//! - every view of a request's records and of an attachment page is in the audit trail;
//! - assets are compiled in, and a Content-Security-Policy of `'self'` forbids anything else;
//! - it stops cleanly on Ctrl-C (in-flight requests finish; each decision is one transaction);
//! - it logs nothing about requests: personal data never reaches its output.
//!
//! Attachment pages are rendered on the server with hayro (`crate::ocr::render`, pure Rust),
//! not with pdf.js in the browser: nothing to ship from npm, and the browser never receives the
//! original PDF (with its metadata, hidden layers and text), only a picture of the page.

mod page;

use crate::file::{AttachmentInput, Location, Part};
use crate::model::*;
use crate::policy::{MarkId, Reason};
use crate::practice::{self, Practice};
use crate::review::session::{self, Session, SignIn};
use crate::review::workflow::{self, AddAt, Target};
use crate::review::{self as rv, Verdict};
use crate::store::review::RequestRow;
use crate::store::Store;
use anyhow::{anyhow, bail, Context, Result};
use axum::body::Body;
use axum::extract::{Form, Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The session cookie's name.
pub const COOKIE: &str = "disclose_session";
/// The cookie of the login form's own CSRF token (there is no session yet).
const LOGIN_COOKIE: &str = "disclose_login";

/// The page's style and script, compiled into the binary.
const CSS: &str = include_str!("assets/review.css");
const JS: &str = include_str!("assets/review.js");

/// Dots per inch of the page images.
const PAGE_DPI: f32 = 110.0;

/// How the server is set up.
#[derive(Clone, Debug)]
pub struct Config {
    pub db: PathBuf,
    pub audit_key: Option<PathBuf>,
    pub practice_policy: Option<PathBuf>,
    /// Check the `Host` header against loopback names (on when bound to loopback).
    pub loopback_only: bool,
}

/// A request's proposal with what the page shows beside it, made once per request and kept.
struct Loaded {
    p: crate::export::Proposed,
    /// Recording-practice findings of the records on the file, by record: (kind title, what was
    /// found, what to do).
    practice: BTreeMap<RecordId, Vec<(String, String, String)>>,
}

/// A rendered attachment page.
struct PageImage {
    png: Vec<u8>,
    placement: crate::ocr::ImageUse,
}

struct App {
    store: Mutex<Store>,
    config: Config,
    practice: Practice,
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
    pages: Mutex<HashMap<(String, String, usize), Arc<PageImage>>>,
}

type Shared = Arc<App>;

impl App {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic in another handler poisons the lock; the store itself is transactional.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The request's proposal (made on first use; `fresh` makes it again from the store).
    fn loaded(&self, row: &RequestRow, fresh: bool) -> Result<Arc<Loaded>> {
        if !fresh {
            if let Some(l) = self.loaded.lock().unwrap_or_else(|e| e.into_inner()).get(&row.id) {
                return Ok(l.clone());
            }
        }
        let p = workflow::propose(&self.store(), row)?;
        let practice = {
            let fam = &p.resolved.family;
            let det = crate::detect::Detector::new(fam);
            let report = practice::check(fam, &det, &self.practice, Some(&p.resolved.subject));
            let mut by: BTreeMap<RecordId, Vec<(String, String, String)>> = BTreeMap::new();
            for f in &report.findings {
                let (what, todo) = practice::report::explain(f, fam, &self.practice);
                by.entry(f.record.clone()).or_default().push((f.kind.title().to_string(), what, todo));
            }
            by
        };
        let l = Arc::new(Loaded { p, practice });
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).insert(row.id.clone(), l.clone());
        Ok(l)
    }

    /// A page image of an attachment on the request's file, rendered once and kept. `store` is
    /// the store as the caller holds it (locked).
    fn page_image(
        &self,
        store: &Store,
        row: &RequestRow,
        l: &Loaded,
        att: &AttachmentId,
        page: usize,
    ) -> Result<Arc<PageImage>> {
        let key = (row.id.clone(), att.to_string(), page);
        if let Some(p) = self.pages.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(p.clone());
        }
        let file = l.p.file()?;
        let has = matches!(l.p.inputs.get(att), Some(AttachmentInput::Pages(v)) if page < v.len());
        if !file.attachments().contains(&att) || !has {
            bail!(NotFound);
        }
        let hash = file.family.attachment_blobs.get(att).ok_or(NotFound)?;
        let bytes = store.blob(hash)?;
        let r = crate::ocr::render::render_pages(&bytes, &[page], PAGE_DPI)
            .map_err(|_| anyhow!("page {} of attachment {att} could not be rendered", page + 1))?
            .pop()
            .ok_or(NotFound)?;
        let png = png_of(&r.image)?;
        let img = Arc::new(PageImage { png, placement: r.placement });
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).insert(key, img.clone());
        Ok(img)
    }
}

/// A grey image as PNG.
fn png_of(img: &crate::pdf::image::GrayImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, img.width, img.height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().context("encoding a page image")?;
        w.write_image_data(&img.data).context("encoding a page image")?;
    }
    Ok(out)
}

#[derive(Debug)]
struct NotFound;
impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not found")
    }
}
impl std::error::Error for NotFound {}

/// What a handler gives back when it fails.
enum Failure {
    NotFound,
    /// The library refused (a rule of the review); the message is for the signed-in officer.
    Refused(String),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        if e.downcast_ref::<NotFound>().is_some() {
            Failure::NotFound
        } else {
            Failure::Refused(format!("{e:#}"))
        }
    }
}

/// Build the router over a case store.
pub fn app(config: Config) -> Result<Router> {
    let mut store = Store::open_existing(&config.db)?;
    store.set_audit_key(config.audit_key.clone());
    // The audit key is needed for every decision: make sure it can be used before serving.
    crate::audit::AuditKey::for_store(&store, true)?;
    let practice = Practice::load(config.practice_policy.as_deref())?;
    let state: Shared = Arc::new(App {
        store: Mutex::new(store),
        config,
        practice,
        loaded: Mutex::new(HashMap::new()),
        pages: Mutex::new(HashMap::new()),
    });
    Ok(Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/", get(queue))
        .route("/r/{id}", get(request_page))
        .route("/r/{id}/page/{att}/{n}", get(page_png))
        .route("/r/{id}/decide", post(decide))
        .route("/r/{id}/add", post(add))
        .route("/r/{id}/approve", post(approve))
        .route("/assets/review.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/assets/review.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// Serve until Ctrl-C (or SIGTERM). Refuses an address off loopback unless `allow_remote`.
pub fn run(mut config: Config, listen: SocketAddr, allow_remote: bool) -> Result<()> {
    if !listen.ip().is_loopback() && !allow_remote {
        bail!(
            "refusing to serve on {}: it is not a loopback address, and the review page would be reachable from the network without TLS; use --listen 127.0.0.1:PORT, or put it behind a TLS proxy and pass --allow-non-loopback",
            listen.ip()
        );
    }
    config.loopback_only = listen.ip().is_loopback();
    let router = app(config)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            eprintln!("warning: serving on {addr}, off loopback, over plain HTTP: put a TLS proxy in front of it");
        }
        // The address alone on standard output (a script or test reads it), then instructions.
        println!("http://{addr}/");
        eprintln!("review page at http://{addr}/ ; Ctrl-C stops it");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        axum::serve(listener, router).with_graceful_shutdown(shutdown()).await.context("serving")?;
        eprintln!("stopped; every decision made is recorded");
        Ok::<(), anyhow::Error>(())
    })?;
    // Blocking tasks still running (a decision being written) finish before the runtime goes.
    rt.shutdown_timeout(std::time::Duration::from_secs(30));
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Run store work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("a handler's blocking work panicked")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether a `Host` header names this machine's loopback.
fn loopback_host(h: &str) -> bool {
    let host = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        h.rsplit_once(':').map(|(a, _)| a).unwrap_or(h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// Every response: security headers. Every route but the login page and the assets: a session.
async fn guard(State(app): State<Shared>, mut req: Request, next: Next) -> Response {
    let mut resp = 'r: {
        if app.config.loopback_only {
            let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !loopback_host(host) {
                break 'r (StatusCode::MISDIRECTED_REQUEST, "this review page answers on loopback only")
                    .into_response();
            }
        }
        let path = req.uri().path();
        let public = path == "/login" || path.starts_with("/assets/");
        let s = match cookie(req.headers(), COOKIE) {
            Some(token) => {
                let app = app.clone();
                blocking(move || session::session(&app.store(), &token).ok().flatten()).await
            }
            None => None,
        };
        match s {
            Some(s) => {
                req.extensions_mut().insert(s);
            }
            None if public => {}
            None if req.method() == Method::GET || req.method() == Method::HEAD => {
                break 'r Redirect::to("/login").into_response();
            }
            None => break 'r (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
        }
        next.run(req).await
    };
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    resp
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn wants_json(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

/// A refusal: JSON for the page's script, a short page otherwise.
fn refused(headers: &HeaderMap, status: StatusCode, msg: &str, back: &str) -> Response {
    if wants_json(headers) {
        (status, axum::Json(serde_json::json!({ "ok": false, "message": msg }))).into_response()
    } else {
        (status, html(page::message("Refused", msg, back))).into_response()
    }
}

fn random_hex() -> String {
    use rand_core::RngCore;
    let mut b = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut b);
    crate::import::hex(&b)
}

async fn login_page(headers: HeaderMap, s: Option<axum::Extension<Session>>) -> Response {
    if s.is_some() {
        return Redirect::to("/").into_response();
    }
    login_form(&headers, StatusCode::OK, None)
}

/// The login form, with its own CSRF token (double submit: the cookie and the field agree).
fn login_form(headers: &HeaderMap, status: StatusCode, msg: Option<&str>) -> Response {
    let token = cookie(headers, LOGIN_COOKIE).filter(|t| t.len() == 64).unwrap_or_else(random_hex);
    let mut r = (status, html(page::login(&token, msg))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login")) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

async fn login(State(app): State<Shared>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE);
    if expected.as_deref().is_none_or(|e| e.len() != 64 || e != f.csrf) {
        return login_form(&headers, StatusCode::FORBIDDEN, Some("The form had expired. Sign in again."));
    }
    let name = f.name.trim().to_string();
    let res = blocking(move || session::sign_in(&mut app.store(), &name, &f.password)).await;
    match res {
        Ok(SignIn::Ok(s)) => {
            let mut r = Redirect::to("/").into_response();
            let c = format!(
                "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                s.token,
                session::SESSION_SECONDS
            );
            r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&c).expect("hex cookie"));
            r
        }
        Ok(SignIn::Refused { wait, .. }) => {
            let msg = if wait > 0 {
                format!(
                    "Wrong name or password. After several failed attempts, wait {wait} seconds before trying again."
                )
            } else {
                "Wrong name or password.".to_string()
            };
            login_form(&headers, StatusCode::UNAUTHORIZED, Some(&msg))
        }
        Ok(SignIn::Wait { seconds }) => {
            let mut r = login_form(
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!("Too many failed attempts for this name: wait {seconds} seconds, then try again.")),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            r
        }
        Err(_) => login_form(&headers, StatusCode::INTERNAL_SERVER_ERROR, Some("The case store could not be read.")),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn logout(
    State(app): State<Shared>,
    headers: HeaderMap,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if !session::csrf_ok(&s, &f.csrf) {
        return refused(&headers, StatusCode::FORBIDDEN, "the form's token is not this session's", "/");
    }
    let token = s.token.clone();
    let _ = blocking(move || session::sign_out(&mut app.store(), &token)).await;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("disclose_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    r
}

fn today() -> Date {
    Date::parse(&time::now_utc()[..10]).unwrap_or(Date { year: 1970, month: 1, day: 1 })
}

async fn queue(State(app): State<Shared>, axum::Extension(s): axum::Extension<Session>) -> Response {
    let res = blocking(move || workflow::list(&app.store(), today())).await;
    match res {
        Ok(list) => html(page::queue(&s, &list)),
        Err(e) => {
            (StatusCode::INTERNAL_SERVER_ERROR, html(page::message("Error", &format!("{e:#}"), "/"))).into_response()
        }
    }
}

/// What the request page needs, read from the store in one go.
pub(crate) struct View {
    pub row: RequestRow,
    pub days_left: i64,
    pub stage: workflow::Stage,
    pub decisions: rv::Decisions,
    pub items: Vec<workflow::Item>,
    pub status: rv::Status,
    pub percent: f64,
    pub undecided: usize,
}

fn view_of(app: &App, id: &str, l: &Loaded) -> Result<View> {
    let store = app.store();
    let row = workflow::request(&store, id)?;
    let summary = workflow::list(&store, today())?.into_iter().find(|s| s.row.id == id).context("the request")?;
    let d = workflow::decisions(&store, &row, &l.p)?;
    let items = workflow::items(&l.p, &d)?;
    let status = workflow::status(&store, &row, &l.p, &d)?;
    let disc = rv::apply(&l.p.proposal, &d, status.clone());
    let undecided = workflow::undecided(&l.p.proposal, &d).len();
    Ok(View {
        row,
        days_left: summary.days_left,
        stage: summary.stage,
        decisions: d,
        items,
        status,
        // The disclosure's figure, unrounded (it rounds to tenths): one added word moves it.
        percent: {
            let (c, r) = disc.narrative.iter().fold((0usize, 0usize), |a, n| (a.0 + n.chars, a.1 + n.removed));
            if c == 0 {
                0.0
            } else {
                r as f64 * 100.0 / c as f64
            }
        },
        undecided,
    })
}

fn row_and_loaded(app: &App, id: &str) -> Result<(RequestRow, Arc<Loaded>)> {
    let row = {
        let store = app.store();
        store.request(id)?.ok_or(NotFound)?
    };
    let l = app.loaded(&row, false)?;
    Ok((row, l))
}

async fn request_page(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<String>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    let res = blocking(move || -> Result<String, Failure> {
        let (row, l) = row_and_loaded(&app, &id)?;
        let v = view_of(&app, &id, &l)?;
        let body = page::request(&s, &l.p, &v, &l.practice, &|att, pg| {
            // Region marks are drawn over the page image: their place in its pixels.
            app.page_image(&app.store(), &row, &l, att, pg).ok().map(|p| p.placement.clone())
        })?;
        // Every record and document shown, in the audit trail (ids only), before it is sent.
        let file = l.p.file()?;
        let shown: Vec<String> = file
            .entries
            .iter()
            .map(|e| match e {
                crate::file::Entry::Record(r) => r.id.to_string(),
                crate::file::Entry::Attachment(a) => a.to_string(),
            })
            .collect();
        session::record_view(&mut app.store(), &s.reviewer, &row.id, &row.id, &shown)?;
        Ok(body)
    })
    .await;
    match res {
        Ok(b) => html(b),
        Err(Failure::NotFound) => {
            (StatusCode::NOT_FOUND, html(page::message("Not found", "No such request.", "/"))).into_response()
        }
        Err(Failure::Refused(m)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, html(page::message("Error", &m, "/"))).into_response()
        }
    }
}

async fn page_png(
    State(app): State<Shared>,
    UrlPath((id, att, n)): UrlPath<(String, String, usize)>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    let res = blocking(move || -> Result<Vec<u8>, Failure> {
        if n == 0 {
            return Err(Failure::NotFound);
        }
        let (row, l) = row_and_loaded(&app, &id)?;
        let att = AttachmentId(att);
        let img = app.page_image(&app.store(), &row, &l, &att, n - 1)?;
        let key = Location::attachment(&att, Part::AttachmentPage { page: n - 1 }).key();
        session::record_view(&mut app.store(), &s.reviewer, &row.id, &key, &[])?;
        Ok(img.png.clone())
    })
    .await;
    match res {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], Body::from(png)).into_response(),
        Err(Failure::NotFound) => (StatusCode::NOT_FOUND, "not found").into_response(),
        Err(Failure::Refused(_)) => (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown").into_response(),
    }
}

/// After a change: the figure and every item's decision, for the page's script.
fn changed(app: &App, id: &str, l: &Loaded, message: &str, reload: bool) -> Result<serde_json::Value> {
    let v = view_of(app, id, l)?;
    let decisions: serde_json::Map<String, serde_json::Value> =
        v.items.iter().map(|i| (i.mark.to_string(), serde_json::Value::String(page::decision_text(i)))).collect();
    Ok(serde_json::json!({
        "ok": true,
        "message": message,
        "reload": reload,
        "figure": format!("{:.2}%", v.percent),
        "undecided": v.undecided,
        "status": page::status_text(&v.status),
        "decisions": decisions,
    }))
}

/// Run a change for the signed-in reviewer once the CSRF token is checked; answer as the caller
/// asked (JSON, or back to the request page).
async fn change(
    app: Shared,
    headers: HeaderMap,
    s: Session,
    csrf: String,
    id: String,
    f: impl FnOnce(&App, &mut Store, &RequestRow, &Loaded, &str) -> Result<(String, bool)> + Send + 'static,
) -> Response {
    let back = format!("/r/{id}");
    if !session::csrf_ok(&s, &csrf) {
        return refused(
            &headers,
            StatusCode::FORBIDDEN,
            "the form's token is not this session's; reload the page",
            &back,
        );
    }
    let res = blocking(move || -> Result<serde_json::Value, Failure> {
        let (_, l) = row_and_loaded(&app, &id)?;
        let (msg, reload) = {
            let mut store = app.store();
            // The row is read again under the lock: a change sees the request as it is now.
            let row = workflow::request(&store, &id)?;
            f(&app, &mut store, &row, &l, &s.reviewer)?
        };
        let row = workflow::request(&app.store(), &id)?;
        let l = app.loaded(&row, false)?;
        Ok(changed(&app, &id, &l, &msg, reload)?)
    })
    .await;
    match res {
        Ok(v) if wants_json(&headers) => axum::Json(v).into_response(),
        Ok(_) => Redirect::to(&back).into_response(),
        Err(Failure::NotFound) => refused(&headers, StatusCode::NOT_FOUND, "no such request", "/"),
        Err(Failure::Refused(m)) => refused(&headers, StatusCode::CONFLICT, &m, &back),
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
struct DecideForm {
    csrf: String,
    mark: Option<String>,
    person: Option<String>,
    verdict: String,
    code: Option<String>,
    why: Option<String>,
}

async fn decide(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<DecideForm>,
) -> Response {
    let csrf = f.csrf.clone();
    change(app, headers, s, csrf, id, move |_, store, row, l, reviewer| {
        let verdict = match f.verdict.as_str() {
            "accept" => Verdict::Accept,
            "reject" => Verdict::Reject,
            "release" => Verdict::Release,
            "withhold" => Verdict::Withhold {
                code: Reason::parse(non_empty(&f.code).unwrap_or("")).context("withholding needs a reason code")?,
            },
            _ => bail!("the decision must be accept, reject, release or withhold"),
        };
        let (target, reload) = match (non_empty(&f.mark), non_empty(&f.person)) {
            (Some(m), _) => (Target::Mark(MarkId(m.to_string())), false),
            (None, Some(p)) => (Target::Person(PersonId(p.to_string())), true),
            _ => bail!("say which mark or person is decided"),
        };
        let why = non_empty(&f.why);
        workflow::decide(store, row, &l.p, target, verdict, reviewer, why)
            .map_err(|e| anyhow!("{}", plain(&format!("{e:#}"))))?;
        Ok(("Recorded.".to_string(), reload))
    })
    .await
}

/// The command line's flag names, in the words of the page.
fn plain(m: &str) -> String {
    m.replace("--why must say why", "Say why").replace("(disclose review decide)", "").replace("--why", "why")
}

#[derive(Deserialize)]
struct AddForm {
    csrf: String,
    code: String,
    why: String,
    record: Option<String>,
    words: Option<String>,
    attachment: Option<String>,
    page: Option<usize>,
    /// The box on the page image, as fractions of its width and height (0 to 1, from top left).
    x1: Option<f64>,
    y1: Option<f64>,
    x2: Option<f64>,
    y2: Option<f64>,
}

async fn add(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<AddForm>,
) -> Response {
    let csrf = f.csrf.clone();
    change(app, headers, s, csrf, id, move |app, store, row, l, reviewer| {
        let code = Reason::parse(f.code.trim()).context("choose a reason code")?;
        let at = match (non_empty(&f.record), non_empty(&f.words), non_empty(&f.attachment)) {
            (Some(r), Some(w), _) => AddAt::Words { record: RecordId(r.to_string()), words: w.to_string() },
            (_, _, Some(a)) => {
                let (Some(pg), Some(x1), Some(y1), Some(x2), Some(y2)) = (f.page, f.x1, f.y1, f.x2, f.y2) else {
                    bail!("draw a box on the page first");
                };
                if pg == 0 || [x1, y1, x2, y2].iter().any(|v| !v.is_finite() || !(0.0..=1.0).contains(v)) {
                    bail!("the box must lie on the page");
                }
                let att = AttachmentId(a.to_string());
                // The library takes page space; the server knows how the image was drawn.
                let img = app.page_image(store, row, l, &att, pg - 1)?.placement.clone();
                let (w, h) = (img.width as f64, img.height as f64);
                let (ax, ay) = img.pixel_to_page(x1 * w, y1 * h);
                let (bx, by) = img.pixel_to_page(x2 * w, y2 * h);
                AddAt::Region { attachment: att, page: pg - 1, rect: [ax.min(bx), ay.min(by), ax.max(bx), ay.max(by)] }
            }
            _ => bail!("select words in a record (or type them), or draw a box on a page"),
        };
        let (aid, n) = workflow::add(store, row, &l.p, at, code, reviewer, &f.why)
            .map_err(|e| anyhow!("{}", plain(&format!("{e:#}"))))?;
        Ok((format!("Added {aid} ({n} place{}).", if n == 1 { "" } else { "s" }), true))
    })
    .await
}

async fn approve(
    State(app): State<Shared>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    change(app, headers, s, f.csrf, id, move |app, store, row, _, reviewer| {
        // Sign-off is given on the file as it is in the store now, not on a proposal kept in
        // memory since the page was first opened.
        let p = workflow::propose(store, row)?;
        workflow::approve(store, row, &p, reviewer).map_err(|e| anyhow!("{}", plain(&format!("{e:#}"))))?;
        app.loaded.lock().unwrap_or_else(|e| e.into_inner()).remove(&row.id);
        Ok((format!("Approved by {reviewer}. Export it with `disclose export --request {}`.", row.id), true))
    })
    .await
}
