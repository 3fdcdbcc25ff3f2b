//! The subcommands that talk to a running agent over its HTTP API.

use std::io::{BufRead, BufReader, Write};

use serde_json::{json, Value};

use crate::{read_token, Command, KeysCommand, Target, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE};

type Outcome = Result<(), (u8, String)>;

/// One agent, as a subcommand's flags name it.
struct Client {
    base: String,
    token: Option<String>,
    json: bool,
}

impl Client {
    fn new(t: &Target) -> Result<Client, (u8, String)> {
        let token = t.token_file.as_deref().map(read_token).transpose().map_err(|e| (EXIT_USAGE, e))?;
        let base = if t.http.contains("://") { t.http.clone() } else { format!("http://{}", t.http) };
        Ok(Client { base: base.trim_end_matches('/').to_string(), token, json: t.json })
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let req = ureq::request(method, &format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.set("Authorization", &format!("Bearer {t}")),
            None => req,
        }
    }

    /// Sends and reads a JSON answer; an HTTP error becomes exit code 1 with
    /// the agent's reason, no answer at all exit code 3.
    fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Value, (u8, String)> {
        let req = self.request(method, path);
        let sent = match body {
            Some(b) if b.starts_with(b"{") && path.starts_with("/v1/keys") => {
                req.set("Content-Type", "application/json").send_bytes(b)
            }
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        match sent {
            Ok(resp) => resp.into_json().map_err(|e| (EXIT_REFUSED, format!("the agent's answer is not JSON: {e}"))),
            Err(ureq::Error::Status(code, resp)) => {
                let reason = resp
                    .into_json::<Value>()
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(String::from))
                    .unwrap_or_else(|| if code == 401 { "wrong or missing token".into() } else { String::new() });
                Err((EXIT_REFUSED, format!("HTTP {code}: {reason}")))
            }
            Err(e) => Err((EXIT_UNREACHABLE, format!("cannot reach the agent at {}: {e}", self.base))),
        }
    }

    /// Prints `v` as JSON, or as `human` renders it.
    fn print(&self, v: &Value, human: impl FnOnce(&Value) -> String) {
        if self.json {
            println!("{v}");
        } else {
            let text = human(v);
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
}

/// Percent-encodes a key for a URL path (keep `/`: keys are paths).
fn encode_path(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn text(v: &Value, name: &str) -> String {
    match v.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => {
            v.get(format!("{name}_base64")).and_then(Value::as_str).map_or(String::new(), |b| format!("base64:{b}"))
        }
    }
}

/// Runs a subcommand that talks to an agent.
pub(crate) fn run(cmd: Command) -> Outcome {
    match cmd {
        Command::Members(t) => {
            let c = Client::new(&t)?;
            let v = c.call("GET", "/v1/members", None)?;
            c.print(&v, |v| {
                let mut rows = v.as_array().cloned().unwrap_or_default();
                rows.sort_by_key(|m| text(m, "name"));
                let mut out = format!("{:<24} {:<22} {:<8} {}", "NAME", "ADDRESS", "STATE", "INCARNATION");
                for m in rows {
                    out.push_str(&format!(
                        "\n{:<24} {:<22} {:<8} {}",
                        text(&m, "name"),
                        text(&m, "addr"),
                        text(&m, "state"),
                        text(&m, "incarnation")
                    ));
                }
                out
            });
            Ok(())
        }
        Command::Watch(t) => watch(&Client::new(&t)?),
        Command::Put { target, key, value, ttl, ephemeral } => {
            let c = Client::new(&target)?;
            let mut path = format!("/v1/state/{}", encode_path(&key));
            match (ttl, ephemeral) {
                (Some(ttl), _) => {
                    path.push_str(&format!("?ttl={ttl}{}", if ephemeral { "&ephemeral=true" } else { "" }))
                }
                (None, true) => path.push_str("?ephemeral=true"),
                (None, false) => {}
            }
            let v = c.call("PUT", &path, Some(value.as_bytes()))?;
            c.print(&v, |v| format!("{key} written (timestamp {})", text(v, "timestamp")));
            Ok(())
        }
        Command::Get { target, key } => {
            let c = Client::new(&target)?;
            let v = c.call("GET", &format!("/v1/state/{}", encode_path(&key)), None)?;
            c.print(&v, |v| text(v, "value"));
            Ok(())
        }
        Command::Del { target, key } => {
            let c = Client::new(&target)?;
            let v = c.call("DELETE", &format!("/v1/state/{}", encode_path(&key)), None)?;
            let deleted = v.get("deleted").and_then(Value::as_bool).unwrap_or(false);
            c.print(&v, |_| if deleted { format!("{key} deleted") } else { format!("{key} held no value") });
            Ok(())
        }
        Command::Ls { target, prefix } => {
            let c = Client::new(&target)?;
            let v = c.call("GET", &format!("/v1/state?prefix={}", encode_query(&prefix)), None)?;
            c.print(&v, |v| {
                let rows = v.as_array().cloned().unwrap_or_default();
                rows.iter().map(|e| format!("{}\t{}", text(e, "key"), text(e, "value"))).collect::<Vec<_>>().join("\n")
            });
            Ok(())
        }
        Command::Broadcast { target, message } => {
            let c = Client::new(&target)?;
            let v = c.call("POST", "/v1/broadcast", Some(message.as_bytes()))?;
            c.print(&v, |v| format!("sent ({} bytes)", text(v, "bytes")));
            Ok(())
        }
        Command::Keys(k) => keys(k),
        Command::Agent { .. } | Command::Keygen => unreachable!("handled in main"),
    }
}

/// Percent-encodes a query value.
fn encode_query(value: &str) -> String {
    encode_path(value).replace('/', "%2F")
}

fn keys(cmd: KeysCommand) -> Outcome {
    let (target, action, key) = match cmd {
        KeysCommand::Install { target, key } => (target, "install", key),
        KeysCommand::Use { target, key } => (target, "use", key),
        KeysCommand::Remove { target, key } => (target, "remove", key),
        KeysCommand::List(target) => {
            let c = Client::new(&target)?;
            let v = c.call("GET", "/v1/keys", None)?;
            c.print(&v, |v| {
                let keys = v.get("keys").and_then(Value::as_array).cloned().unwrap_or_default();
                if keys.is_empty() {
                    return "no keys: gossip is not encrypted".into();
                }
                keys.iter()
                    .enumerate()
                    .map(|(i, k)| format!("{} {}", if i == 0 { "*" } else { " " }, k.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            return Ok(());
        }
    };
    let c = Client::new(&target)?;
    let body = json!({ "key": key }).to_string();
    let v = c.call("POST", &format!("/v1/keys/{action}"), Some(body.as_bytes()))?;
    c.print(&v, |_| format!("key {action}: done"));
    Ok(())
}

/// Follows the event stream, one line each, until the agent goes away
/// (exit code 3) or the user interrupts.
fn watch(c: &Client) -> Outcome {
    let resp = match c.request("GET", "/v1/events").call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, _)) => return Err((EXIT_REFUSED, format!("HTTP {code}"))),
        Err(e) => return Err((EXIT_UNREACHABLE, format!("cannot reach the agent at {}: {e}", c.base))),
    };
    let stdout = std::io::stdout();
    for line in BufReader::new(resp.into_reader()).lines() {
        let line = line.map_err(|e| (EXIT_UNREACHABLE, format!("the event stream broke: {e}")))?;
        let out = if c.json {
            line
        } else {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => human_event(&v),
                Err(_) => continue,
            }
        };
        let mut lock = stdout.lock();
        // A closed pipe (`| head`) ends the watch quietly.
        if writeln!(lock, "{out}").and_then(|_| lock.flush()).is_err() {
            return Ok(());
        }
    }
    Err((EXIT_UNREACHABLE, "the agent closed the event stream".into()))
}

fn human_event(v: &Value) -> String {
    let kind = text(v, "event");
    match kind.as_str() {
        "joined" | "updated" | "suspect" | "recovered" | "failed" | "left" => {
            format!("{kind:<10} {} {}", text(v, "name"), text(v, "addr"))
        }
        "message" => format!("message    from {} ({}): {}", text(v, "from"), text(v, "kind"), text(v, "payload")),
        "state_put" => format!("put        {} = {} (by {})", text(v, "key"), text(v, "value"), text(v, "writer")),
        "state_deleted" => format!("deleted    {} (by {})", text(v, "key"), text(v, "writer")),
        _ => v.to_string(),
    }
}
