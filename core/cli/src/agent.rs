//! `rumour agent`: one node, run until SIGINT or SIGTERM (then it leaves
//! gracefully), with an HTTP API for the other subcommands and `/metrics`
//! for Prometheus. Every request carries the bearer token when one is set;
//! without one the API only listens on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{decode_key, encode_key};
use crate::json::{entry_json, event_json, member_json};
use rumour::{Node, NodeError};

/// How long a leave may take at SIGINT/SIGTERM before the agent stops anyway.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared by the handlers.
struct Agent {
    node: Node,
    token: Option<String>,
}

/// Where the API listens by default.
pub const DEFAULT_HTTP: &str = "127.0.0.1:7947";

/// Runs the agent until a signal; returns the process's exit code.
pub fn run(config: rumour::Config, http: &str, token: Option<String>) -> Result<(), String> {
    let http: SocketAddr = http.parse().map_err(|e| format!("agent.http {http:?}: {e}"))?;
    if token.is_none() && !http.ip().is_loopback() {
        return Err(format!(
            "agent.http {http} is not a loopback address: set agent.token or agent.token_file (or --token-file)"
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    runtime.block_on(async move {
        let node = Node::start(config).map_err(|e| format!("the node did not start: {e}"))?;
        let listener =
            tokio::net::TcpListener::bind(http).await.map_err(|e| format!("cannot listen on {http}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        // The line scripts and tests wait for.
        println!("agent {} gossip {} http {bound}", node.name(), node.addr());
        let agent = Arc::new(Agent { node, token });
        let app = router(agent.clone());
        let server = axum::serve(listener, app).with_graceful_shutdown(stop_signal());
        server.await.map_err(|e| format!("HTTP server: {e}"))?;
        eprintln!("leaving the cluster");
        if let Err(e) = agent.node.leave_async(LEAVE_TIMEOUT).await {
            eprintln!("leave: {e}");
        }
        agent.node.shutdown();
        Ok(())
    })
}

async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/v1/members", get(members))
        .route("/v1/events", get(events))
        .route("/v1/digest", get(digest))
        .route("/v1/state", get(list_state))
        .route("/v1/state/{*key}", get(get_state).put(put_state).delete(delete_state))
        .route("/v1/broadcast", post(broadcast))
        .route("/v1/keys", get(list_keys))
        .route("/v1/keys/{action}", post(change_key))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(agent.clone(), authorize))
        .with_state(agent)
}

/// Refuses a request without the token (401 and nothing else).
async fn authorize(State(agent): State<Arc<Agent>>, req: Request, next: Next) -> Response {
    if let Some(token) = &agent.token {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let expected = format!("Bearer {token}");
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
        }
    }
    next.run(req).await
}

/// Compares without stopping at the first difference, so the time taken
/// says nothing about how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An error answer: a status and `{"error": reason}`.
fn fail(status: StatusCode, reason: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": reason.to_string() }))).into_response()
}

fn node_fail(e: NodeError) -> Response {
    let status = match e {
        NodeError::Shutdown => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    fail(status, e)
}

async fn members(State(agent): State<Arc<Agent>>) -> Response {
    match agent.node.members() {
        Ok(ms) => Json(Value::Array(ms.iter().map(member_json).collect())).into_response(),
        Err(e) => node_fail(e),
    }
}

async fn digest(State(agent): State<Arc<Agent>>) -> Response {
    match (agent.node.digest(), agent.node.members()) {
        (Ok(d), Ok(ms)) => Json(json!({ "digest": d.to_string(), "members": ms.len() })).into_response(),
        (Err(e), _) | (_, Err(e)) => node_fail(e),
    }
}

/// The event stream, one JSON object a line, until the client goes away.
async fn events(State(agent): State<Arc<Agent>>) -> Response {
    let mut stream = agent.node.events();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        while let Some(ev) = stream.next().await {
            let line = format!("{}\n", event_json(&ev));
            if tx.send(Ok(Bytes::from(line))).await.is_err() {
                break;
            }
        }
    });
    let body = Body::from_stream(ReceiverStream(rx));
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

/// An mpsc receiver as a stream of body chunks.
struct ReceiverStream(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for ReceiverStream {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    prefix: String,
}

async fn list_state(State(agent): State<Arc<Agent>>, Query(q): Query<ListQuery>) -> Response {
    match agent.node.state().entries(&q.prefix) {
        Ok(es) => Json(Value::Array(es.iter().map(entry_json).collect())).into_response(),
        Err(e) => node_fail(e),
    }
}

async fn get_state(State(agent): State<Arc<Agent>>, Path(key): Path<String>) -> Response {
    match agent.node.state().get(&key) {
        Ok(Some(e)) => Json(entry_json(&e)).into_response(),
        Ok(None) => fail(StatusCode::NOT_FOUND, format!("no value for key {key:?}")),
        Err(e) => node_fail(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutQuery {
    /// Seconds until the key expires.
    ttl: Option<f64>,
    /// Deleted when this node leaves or fails.
    #[serde(default)]
    ephemeral: bool,
}

async fn put_state(
    State(agent): State<Arc<Agent>>,
    Path(key): Path<String>,
    Query(q): Query<PutQuery>,
    body: Bytes,
) -> Response {
    let state = agent.node.state();
    let written = match (q.ttl, q.ephemeral) {
        (Some(_), true) => return fail(StatusCode::BAD_REQUEST, "ttl and ephemeral cannot be combined"),
        (Some(ttl), false) => match Duration::try_from_secs_f64(ttl) {
            Ok(ttl) => state.put_with_ttl(&key, &body, ttl),
            Err(_) => return fail(StatusCode::BAD_REQUEST, format!("ttl {ttl} is not a number of seconds above zero")),
        },
        (None, true) => state.put_ephemeral(&key, &body),
        (None, false) => state.put(&key, &body),
    };
    match written {
        Ok(ts) => Json(json!({ "key": key, "timestamp": ts.0 })).into_response(),
        Err(e) => node_fail(e),
    }
}

async fn delete_state(State(agent): State<Arc<Agent>>, Path(key): Path<String>) -> Response {
    match agent.node.state().delete(&key) {
        Ok(deleted) => Json(json!({ "key": key, "deleted": deleted.is_some() })).into_response(),
        Err(e) => node_fail(e),
    }
}

async fn broadcast(State(agent): State<Arc<Agent>>, body: Bytes) -> Response {
    if body.is_empty() {
        return fail(StatusCode::BAD_REQUEST, "the message is empty");
    }
    match agent.node.broadcast(&body) {
        Ok(()) => Json(json!({ "bytes": body.len() })).into_response(),
        Err(e) => node_fail(e),
    }
}

async fn list_keys(State(agent): State<Arc<Agent>>) -> Response {
    match agent.node.keys() {
        Ok(keys) => {
            let keys: Vec<String> = keys.iter().map(|k| encode_key(k)).collect();
            Json(json!({ "primary": keys.first(), "keys": keys })).into_response()
        }
        Err(e) => node_fail(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    key: String,
}

async fn change_key(
    State(agent): State<Arc<Agent>>,
    Path(action): Path<String>,
    body: Result<Json<KeyBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let key = match decode_key(&body.key) {
        Ok(k) => k,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e),
    };
    let done = match action.as_str() {
        "install" => agent.node.install_key(&key),
        "use" => agent.node.use_key(&key),
        "remove" => agent.node.remove_key(&key),
        other => return fail(StatusCode::NOT_FOUND, format!("no key action {other:?}: install, use or remove")),
    };
    match done {
        Ok(()) => Json(json!({ "done": action })).into_response(),
        Err(e) => node_fail(e),
    }
}

async fn metrics(State(agent): State<Arc<Agent>>, _headers: HeaderMap) -> Response {
    match agent.node.metrics() {
        Ok(m) => {
            let text = rumour::metrics::prometheus_text(&[m]);
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
        }
        Err(e) => node_fail(e),
    }
}
