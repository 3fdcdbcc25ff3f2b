//! Interop with HashiCorp memberlist (Go): rumour nodes and Go nodes (the
//! peer in `tests/interop/peer`, Debian's memberlist 0.2.2) form one
//! cluster on 127.0.0.1. `tests/interop/build.sh` builds the peer, and
//! installs Go and memberlist from Debian when run as root; elsewhere the
//! tests skip, saying why. Both sides use their `local` presets.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rumour::{Config, Event, MemberState, Node};
use serde_json::{json, Value};

fn peer_binary() -> Option<PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let out = root.join("target/interop/peer");
            let status = Command::new("sh").arg(root.join("tests/interop/build.sh")).arg(&out).status();
            match status {
                Ok(s) if s.success() => Some(out),
                Ok(s) => {
                    eprintln!("skipped: the Go interop peer could not be built ({s}); see the message above");
                    None
                }
                Err(e) => {
                    eprintln!("skipped: cannot run tests/interop/build.sh: {e}");
                    None
                }
            }
        })
        .clone()
}

/// One Go memberlist node in a child process.
struct GoNode {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<Value>,
    events: Arc<Mutex<Vec<Value>>>,
    addr: String,
}

impl GoNode {
    fn start(bin: &PathBuf, name: &str, meta: &str) -> GoNode {
        let mut child =
            Command::new(bin).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the Go peer runs");
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (tx, answers) = channel();
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
                if v.get("event").is_some() {
                    ev.lock().unwrap().push(v);
                } else if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut g = GoNode { child, stdin, answers, events, addr: String::new() };
        let started = g.cmd(json!({"cmd": "start", "name": name, "preset": "local", "meta": meta}));
        g.addr = started["addr"].as_str().expect("an address").to_string();
        g
    }

    fn cmd(&mut self, c: Value) -> Value {
        writeln!(self.stdin, "{c}").expect("the Go peer reads");
        let answer = self.answers.recv_timeout(Duration::from_secs(20)).expect("the Go peer answers");
        assert_eq!(answer["ok"], json!(true), "Go peer refused {c}: {answer}");
        answer
    }

    fn members(&mut self) -> Vec<(String, String, String)> {
        let v = self.cmd(json!({"cmd": "members"}));
        let mut list: Vec<(String, String, String)> = v["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| {
                        let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
                        (s("name"), s("addr"), s("meta"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        list.sort();
        list
    }

    fn saw(&self, kind: &str, name: &str) -> bool {
        self.events.lock().unwrap().iter().any(|e| e["event"] == kind && e["name"] == name)
    }

    fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL: no leave, no goodbye
        let _ = self.child.wait();
    }
}

impl Drop for GoNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rumour_node(name: &str, meta: &[u8], log: &Arc<Mutex<Vec<Event>>>) -> Node {
    let cfg = Config { name: name.into(), bind: "127.0.0.1:0".into(), meta: meta.to_vec(), ..Config::local() };
    let log = log.clone();
    Node::start_with_callback(cfg, move |e: &Event| log.lock().unwrap().push(e.clone())).expect("rumour starts")
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn rumour_view(node: &Node) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = node
        .members()
        .unwrap()
        .iter()
        .filter(|m| m.state == MemberState::Alive)
        .map(|m| (m.name.to_string(), m.addr.to_string(), String::from_utf8_lossy(&m.meta).into_owned()))
        .collect();
    v.sort();
    v
}

#[test]
fn go_and_rumour_join_each_other_and_a_mixed_cluster_of_six_converges() {
    let Some(bin) = peer_binary() else { return };
    let log = Arc::new(Mutex::new(Vec::new()));
    let r1 = rumour_node("r1", b"lang=rust", &log);
    let mut g1 = GoNode::start(&bin, "g1", "lang=go");
    // Go joins rumour.
    assert_eq!(g1.cmd(json!({"cmd": "join", "seeds": [r1.addr().to_string()]}))["joined"], json!(1));
    // Rumour joins Go.
    let r2 = rumour_node("r2", b"lang=rust", &log);
    assert_eq!(r2.join(&[g1.addr.as_str()]), Ok(1));
    let r3 = rumour_node("r3", b"lang=rust", &log);
    assert_eq!(r3.join(&[r1.addr().to_string()]), Ok(1));
    let mut g2 = GoNode::start(&bin, "g2", "lang=go");
    let mut g3 = GoNode::start(&bin, "g3", "lang=go");
    g2.cmd(json!({"cmd": "join", "seeds": [g1.addr]}));
    g3.cmd(json!({"cmd": "join", "seeds": [r3.addr().to_string()]}));

    let mut expected = vec![
        ("g1".to_string(), g1.addr.clone(), "lang=go".to_string()),
        ("g2".to_string(), g2.addr.clone(), "lang=go".to_string()),
        ("g3".to_string(), g3.addr.clone(), "lang=go".to_string()),
    ];
    for r in [&r1, &r2, &r3] {
        expected.push((r.name().to_string(), r.addr().to_string(), "lang=rust".to_string()));
    }
    expected.sort();
    let converged = wait_until(Duration::from_secs(15), || {
        [&r1, &r2, &r3].iter().all(|r| rumour_view(r) == expected)
            && g1.members() == expected
            && g2.members() == expected
            && g3.members() == expected
    });
    assert!(
        converged,
        "all six list all six with addresses and metadata; r1 sees {:?}, g1 sees {:?}",
        rumour_view(&r1),
        g1.members()
    );
}

#[test]
fn metadata_updates_cross_both_ways() {
    let Some(bin) = peer_binary() else { return };
    let log = Arc::new(Mutex::new(Vec::new()));
    let r = rumour_node("mr", b"v=1", &log);
    let mut g = GoNode::start(&bin, "mg", "v=1");
    g.cmd(json!({"cmd": "join", "seeds": [r.addr().to_string()]}));
    r.set_meta(b"v=2").unwrap();
    let go_sees = |g: &mut GoNode| g.members().iter().any(|m| m.0 == "mr" && m.2 == "v=2");
    assert!(wait_until(Duration::from_secs(10), || go_sees(&mut g)), "Go sees rumour's new metadata");
    g.cmd(json!({"cmd": "meta", "meta": "v=3"}));
    let rumour_sees = || r.member("mg").unwrap().is_some_and(|m| m.meta == b"v=3");
    assert!(wait_until(Duration::from_secs(10), rumour_sees), "rumour sees Go's new metadata");
    assert!(log.lock().unwrap().iter().any(|e| matches!(e, Event::MemberUpdated(m) if &*m.name == "mg")));
}

#[test]
fn crashes_are_detected_both_ways() {
    let Some(bin) = peer_binary() else { return };
    let log = Arc::new(Mutex::new(Vec::new()));
    let r1 = rumour_node("cr1", b"", &log);
    let r2 = rumour_node("cr2", b"", &log);
    let g1 = GoNode::start(&bin, "cg1", "");
    let mut g2 = GoNode::start(&bin, "cg2", "");
    assert_eq!(r2.join(&[r1.addr().to_string()]), Ok(1));
    let mut g1 = g1;
    g1.cmd(json!({"cmd": "join", "seeds": [r1.addr().to_string()]}));
    g2.cmd(json!({"cmd": "join", "seeds": [r1.addr().to_string()]}));
    assert!(wait_until(Duration::from_secs(10), || r1.members().unwrap().len() == 4 && g2.members().len() == 4));

    g1.kill(); // kill -9 a Go node
    let failed = |name: &'static str| {
        let log = log.clone();
        move || log.lock().unwrap().iter().any(|e| matches!(e, Event::MemberFailed(m) if &*m.name == name))
    };
    assert!(wait_until(Duration::from_secs(20), failed("cg1")), "rumour declares the killed Go node failed");
    assert!(wait_until(Duration::from_secs(20), || g2.saw("leave", "cg1")), "the other Go node drops it too");

    r2.shutdown(); // a rumour node dies without leaving
    assert!(wait_until(Duration::from_secs(20), || g2.saw("leave", "cr2")), "Go drops the dead rumour node");
    assert!(wait_until(Duration::from_secs(20), failed("cr2")), "the other rumour node declares it failed");
}

#[test]
fn graceful_leaves_are_seen_as_leaves_both_ways() {
    let Some(bin) = peer_binary() else { return };
    let log = Arc::new(Mutex::new(Vec::new()));
    let r1 = rumour_node("lr1", b"", &log);
    let r2 = rumour_node("lr2", b"", &log);
    let mut g1 = GoNode::start(&bin, "lg1", "");
    let mut g2 = GoNode::start(&bin, "lg2", "");
    assert_eq!(r2.join(&[r1.addr().to_string()]), Ok(1));
    g1.cmd(json!({"cmd": "join", "seeds": [r1.addr().to_string()]}));
    g2.cmd(json!({"cmd": "join", "seeds": [r1.addr().to_string()]}));
    assert!(wait_until(Duration::from_secs(10), || r1.members().unwrap().len() == 4 && g2.members().len() == 4));

    g1.cmd(json!({"cmd": "leave", "timeout_ms": 3000}));
    g1.cmd(json!({"cmd": "shutdown"}));
    let left = |name: &'static str| {
        let log = log.clone();
        move || log.lock().unwrap().iter().any(|e| matches!(e, Event::MemberLeft(m) if &*m.name == name))
    };
    assert!(wait_until(Duration::from_secs(10), left("lg1")), "rumour sees the Go node leave");

    r2.leave(Duration::from_secs(3)).unwrap();
    r2.shutdown();
    assert!(wait_until(Duration::from_secs(10), || g2.saw("leave", "lr2")), "Go sees the rumour node go");
    std::thread::sleep(Duration::from_secs(1));
    let failures = log.lock().unwrap().iter().filter(|e| matches!(e, Event::MemberFailed(_))).count();
    assert_eq!(failures, 0, "no leave was taken for a failure");
    assert!(!g2.members().iter().any(|m| m.0 == "lr2"), "Go no longer lists it");
}
