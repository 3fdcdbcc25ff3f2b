//! The `rumour` command driven as a user would: agents on 127.0.0.1
//! (ports chosen by the system, read from each agent's first line), every
//! action through the command alone. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "../../tests/common/mod.rs"]
mod common;

use common::wait_until;

const BIN: &str = env!("CARGO_BIN_EXE_rumour");

/// A running agent and the addresses it printed.
struct Agent {
    child: Child,
    gossip: String,
    http: String,
}

impl Agent {
    fn start(args: &[&str]) -> Agent {
        let mut child = Command::new(BIN)
            .arg("agent")
            .args(["--bind", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the agent starts");
        let line = first_line(child.stdout.take().unwrap(), Duration::from_secs(10));
        // agent NAME gossip ADDR http ADDR
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((words.len(), words[0], words[2], words[4]), (6, "agent", "gossip", "http"), "{line}");
        Agent { child, gossip: words[3].to_string(), http: words[5].to_string() }
    }

    /// Runs `rumour ARGS --http <this agent>`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).args(["--http", &self.http]).output().expect("the command runs")
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line of `out`, within `limit`.
fn first_line(out: ChildStdout, limit: Duration) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(limit).expect("the agent printed its addresses").trim().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn alive_count(a: &Agent) -> usize {
    let o = a.run(&["members", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v.as_array().map_or(0, |ms| ms.iter().filter(|m| m["state"] == "alive").count())
}

#[test]
fn three_agents_form_a_cluster_share_the_map_and_watch_sees_a_failure() {
    let a = Agent::start(&["--name", "a", "--config", &local_config()]);
    let b = Agent::start(&["--name", "b", "--config", &local_config(), "--seed", &a.gossip]);
    let mut c = Agent::start(&["--name", "c", "--config", &local_config(), "--seed", &a.gossip]);
    assert!(wait_until(Duration::from_secs(10), || [&a, &b, &c].iter().all(|x| alive_count(x) == 3)));

    let members = a.run(&["members"]);
    assert!(members.status.success(), "{}", stderr(&members));
    let text = stdout(&members);
    assert!(text.starts_with("NAME") && ["a ", "b ", "c "].iter().all(|n| text.contains(n)), "{text}");

    // Put on one, get on another.
    let put = a.run(&["put", "svc/web", "10.0.0.5:8080"]);
    assert!(put.status.success(), "{}", stderr(&put));
    assert!(wait_until(Duration::from_secs(5), || stdout(&b.run(&["get", "svc/web"])).trim() == "10.0.0.5:8080"));
    // c may get the write after b did: wait for it there too before reading its listing.
    let listing = || serde_json::from_slice::<serde_json::Value>(&c.run(&["ls", "svc/", "--json"]).stdout).unwrap();
    assert!(wait_until(Duration::from_secs(5), || listing()[0]["key"] == "svc/web"), "{}", listing());
    let entries = listing();
    assert_eq!(entries[0]["key"], "svc/web");
    assert_eq!(entries[0]["writer"], "a");
    let missing = b.run(&["get", "svc/none"]);
    assert_eq!(missing.status.code(), Some(1), "a key with no value is exit code 1");
    assert!(stderr(&missing).contains("no value"), "{}", stderr(&missing));
    let del = b.run(&["del", "svc/web"]);
    assert!(del.status.success() && stdout(&del).contains("deleted"));

    // Watch on a, then kill c: the failure shows.
    let mut watch = Command::new(BIN)
        .args(["watch", "--json", "--http", &a.http])
        .stdout(Stdio::piped())
        .spawn()
        .expect("watch runs");
    let lines = lines_of(watch.stdout.take().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    let sent = b.run(&["broadcast", "deploy 42 done"]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    // A broadcast is best effort: b's few transmissions may all go to c,
    // which passes it on to a. So c stays up until a has it.
    let mut seen = Vec::new();
    let mut watch_until = |what: &dyn Fn(&serde_json::Value) -> bool, within: Duration| {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
                let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON object a line");
                seen.push(line);
                if what(&v) {
                    return true;
                }
            }
        }
        false
    };
    let message = watch_until(&|v| v["event"] == "message" && v["payload"] == "deploy 42 done", Duration::from_secs(5));
    c.child.kill().unwrap();
    let failed = watch_until(&|v| v["event"] == "failed" && v["name"] == "c", Duration::from_secs(15));
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(message, "watch saw no broadcast: {seen:?}");
    assert!(failed, "watch saw no failure of c: {seen:?}");
    assert!(!c.running());
}

/// The lines of `out`, as they come.
fn lines_of(out: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A config file with `local()` timings, in a fresh temporary folder.
fn local_config() -> String {
    write_file("local.toml", "preset = \"local\"\n")
}

fn write_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("rumour-cli-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn bad_input_is_named_and_the_agent_keeps_running() {
    // A config key that does not exist, and a wrong type: the key and the line.
    let bad = write_file("bad.toml", "preset = \"local\"\nname = \"x\"\nprobe_intervall = 1\n");
    let o = Command::new(BIN).args(["agent", "--config", &bad]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 3") && stderr(&o).contains("probe_intervall"), "{}", stderr(&o));
    let bad = write_file("bad-type.toml", "probe_interval = \"fast\"\n");
    let o = Command::new(BIN).args(["agent", "--config", &bad]).output().unwrap();
    assert!(o.status.code() == Some(2) && stderr(&o).contains("line 1") && stderr(&o).contains("probe_interval"));
    // No token on a non-loopback address: refused before starting.
    let o = Command::new(BIN).args(["agent", "--name", "x", "--http", "0.0.0.0:0"]).output().unwrap();
    assert!(o.status.code() == Some(2) && stderr(&o).contains("token"), "{}", stderr(&o));

    // With a token: a wrong one gets 401 and nothing else.
    let token = write_file("token", "s3cret\n");
    let wrong = write_file("wrong", "guess\n");
    let mut a = Agent::start(&["--name", "t", "--config", &local_config(), "--token-file", &token]);
    let o = a.run(&["members", "--token-file", &wrong]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));
    let (status, body) = raw_request(&a.http, "GET /v1/members HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer guess\r\n");
    assert!(status.starts_with("HTTP/1.1 401") && body.is_empty(), "{status} {body:?}");
    let o = a.run(&["members", "--token-file", &token]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Malformed requests: 400 with a reason.
    let auth = "Authorization: Bearer s3cret\r\n";
    let (status, body) = raw_request(&a.http, &format!("GET /v1/state?prefix=a&bogus=1 HTTP/1.1\r\nHost: x\r\n{auth}"));
    assert!(status.starts_with("HTTP/1.1 400") && body.contains("bogus"), "{status} {body}");
    let (status, body) = raw_request(
        &a.http,
        &format!("POST /v1/keys/install HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{{\"key\":1}}"),
    );
    assert!(status.starts_with("HTTP/1.1 400") && body.contains("key"), "{status} {body}");
    let (status, body) = raw_request(
        &a.http,
        &format!("PUT /v1/state/k?ttl=-3 HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 1\r\n\r\nv"),
    );
    assert!(status.starts_with("HTTP/1.1 400") && body.contains("ttl"), "{status} {body}");
    let o = a.run(&["keys", "install", "not base64!", "--token-file", &token]);
    assert!(o.status.code() == Some(1) && stderr(&o).contains("base64"), "{}", stderr(&o));
    // Unreachable agent: exit code 3.
    let o = Command::new(BIN).args(["members", "--http", "127.0.0.1:1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(3));

    assert!(a.running(), "the agent kept running");
    assert!(a.run(&["members", "--token-file", &token]).status.success());
}

#[test]
fn keygen_prints_a_key_the_config_takes_and_metrics_are_served() {
    let o = Command::new(BIN).arg("keygen").output().unwrap();
    let key = stdout(&o).trim().to_string();
    assert!(o.status.success() && key.len() == 44, "{key}");
    let file = write_file("keyed.toml", &format!("preset = \"local\"\nkeys = [\"{key}\"]\n"));
    let a = Agent::start(&["--name", "k", "--config", &file]);
    let listed = a.run(&["keys", "list"]);
    assert!(stdout(&listed).contains(&format!("* {key}")), "{}", stdout(&listed));
    let second = stdout(&Command::new(BIN).arg("keygen").output().unwrap()).trim().to_string();
    assert!(a.run(&["keys", "install", &second]).status.success());
    assert!(a.run(&["keys", "use", &second]).status.success());
    assert!(stdout(&a.run(&["keys", "list"])).starts_with(&format!("* {second}")));
    assert!(a.run(&["keys", "remove", &key]).status.success());

    let (status, body) = raw_request(&a.http, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains("# TYPE memberlist_health_score gauge") && body.contains("node=\"k\""), "{body}");
    let help = Command::new(BIN).args(["put", "--help"]).output().unwrap();
    assert!(stdout(&help).contains("Examples:"));
    assert!(Path::new(BIN).exists());
}

/// Sends a raw HTTP/1.1 request (headers without the blank line, and a
/// body if any) and returns the status line and the body.
fn raw_request(http: &str, head: &str) -> (String, String) {
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let request = if head.contains("\r\n\r\n") {
        head.replacen("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n", 1)
    } else {
        format!("{head}Connection: close\r\n\r\n")
    };
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.lines().next().unwrap_or("").to_string();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}
