//! Interop with HashiCorp memberlist (Go): rumour nodes and Go nodes (the
//! peer in `tests/interop/peer`, Debian's memberlist 0.2.2) form one
//! cluster on 127.0.0.1. `tests/interop/build.sh` builds the peer, and
//! installs Go and memberlist from Debian when run as root; elsewhere the
//! tests skip, saying why. Both sides use their `local` presets with LAN's
//! retransmit multiplier (4): `local`'s 2 sends each rumour only twice per
//! holder, and in clusters this small a node then misses a join now and
//! then until the next push-pull, 15 s or more later, on either side.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::wait_until;
use rumour::{Config, Event, MemberState, Node};
use serde_json::{json, Value};

/// Retransmit multiplier on both sides (see the module documentation).
const RETRANSMIT_MULT: u32 = 4;

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
        Self::start_with(bin, json!({"cmd": "start", "name": name, "preset": "local", "meta": meta}))
    }

    /// Starts with a full `start` command (keys, compression, protocol).
    fn start_with(bin: &PathBuf, mut start: Value) -> GoNode {
        start["retransmit_mult"] = json!(RETRANSMIT_MULT);
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
        let started = g.cmd(start);
        g.addr = started["addr"].as_str().expect("an address").to_string();
        g
    }

    fn cmd(&mut self, c: Value) -> Value {
        let answer = self.try_cmd(c.clone());
        assert_eq!(answer["ok"], json!(true), "Go peer refused {c}: {answer}");
        answer
    }

    /// A command whose refusal is an expected outcome.
    fn try_cmd(&mut self, c: Value) -> Value {
        writeln!(self.stdin, "{c}").expect("the Go peer reads");
        self.answers.recv_timeout(Duration::from_secs(20)).expect("the Go peer answers")
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
    let cfg = Config {
        name: name.into(),
        bind: "127.0.0.1:0".into(),
        meta: meta.to_vec(),
        retransmit_mult: RETRANSMIT_MULT,
        ..Config::local()
    };
    let log = log.clone();
    Node::start_with_callback(cfg, move |e: &Event| log.lock().unwrap().push(e.clone())).expect("rumour starts")
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

    // The local preset's bound (the same on both sides): the longest
    // suspicion (SuspicionMult·log10 scale·ProbeInterval, times
    // SuspicionMaxTimeoutMult), plus a probe round to notice and one more
    // to spread the verdict.
    let preset = Config::local();
    let bound = rumour::proto::suspicion_timeout(preset.suspicion_mult, 4, preset.probe_interval)
        * preset.suspicion_max_timeout_mult
        + preset.probe_interval * 2;
    let started = Instant::now();
    g1.kill(); // kill -9 a Go node
    let failed = |name: &'static str| {
        let log = log.clone();
        move || log.lock().unwrap().iter().any(|e| matches!(e, Event::MemberFailed(m) if &*m.name == name))
    };
    assert!(wait_until(bound, failed("cg1")), "rumour declares the killed Go node failed within {bound:?}");
    assert!(wait_until(bound.saturating_sub(started.elapsed()), || g2.saw("leave", "cg1")), "Go too, within {bound:?}");
    let (go_detect, started) = (started.elapsed(), Instant::now());

    r2.shutdown(); // a rumour node dies without leaving
    assert!(wait_until(bound, || g2.saw("leave", "cr2")), "Go drops the dead rumour node within {bound:?}");
    assert!(wait_until(bound.saturating_sub(started.elapsed()), failed("cr2")), "rumour too, within {bound:?}");
    println!("crash detected by all: Go node {go_detect:?}, rumour node {:?} (bound {bound:?})", started.elapsed());
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

fn rumour_with(cfg: Config) -> Node {
    Node::start(Config { bind: "127.0.0.1:0".into(), retransmit_mult: RETRANSMIT_MULT, ..cfg }).expect("rumour starts")
}

fn names(node: &Node) -> Vec<String> {
    let mut v: Vec<String> = node.members().unwrap().iter().map(|m| m.name.to_string()).collect();
    v.sort();
    v
}

#[test]
fn compression_on_and_off_interoperate() {
    let Some(bin) = peer_binary() else { return };
    for (go_compress, rumour_compress) in [(true, true), (false, true), (true, false), (false, false)] {
        let r = rumour_with(Config { name: "zr".into(), enable_compression: rumour_compress, ..Config::local() });
        let mut g =
            GoNode::start_with(&bin, json!({"cmd": "start", "name": "zg", "preset": "local", "compress": go_compress}));
        g.cmd(json!({"cmd": "join", "seeds": [r.addr().to_string()]}));
        let both = wait_until(Duration::from_secs(10), || names(&r) == ["zg", "zr"] && g.members().len() == 2);
        assert!(both, "Go compression {go_compress}, rumour compression {rumour_compress}");
        // Push-pull went one way; packets (gossip, probes) must flow too.
        r.set_meta(b"after").unwrap();
        let seen = wait_until(Duration::from_secs(10), || g.members().iter().any(|m| m.0 == "zr" && m.2 == "after"));
        assert!(seen, "a gossiped update crosses with Go compression {go_compress}, rumour {rumour_compress}");
    }
}

#[test]
fn a_shared_keyring_works_a_wrong_key_is_kept_out_and_rotation_keeps_the_mixed_cluster_whole() {
    let Some(bin) = peer_binary() else { return };
    let (k16, k32, wrong) = ([0x11u8; 16], [0x22u8; 32], [0x33u8; 16]);
    let hex = |k: &[u8]| k.iter().map(|b| format!("{b:02x}")).collect::<String>();
    for key in [&k16[..], &k32[..]] {
        let r = rumour_with(Config { name: format!("kr{}", key.len()), keys: vec![key.to_vec()], ..Config::local() });
        let mut g = GoNode::start_with(
            &bin,
            json!({"cmd": "start", "name": format!("kg{}", key.len()), "preset": "local", "keys": [hex(key)]}),
        );
        assert_eq!(r.join(&[g.addr.as_str()]), Ok(1), "{}-byte key", key.len());
        assert!(wait_until(Duration::from_secs(10), || g.members().len() == 2));
        // A rumour node with the wrong key cannot join Go, nor a Go node with it join rumour.
        let outsider = rumour_with(Config { name: "kx".into(), keys: vec![wrong.to_vec()], ..Config::local() });
        assert!(outsider.join(&[g.addr.as_str()]).is_err(), "wrong key kept out by Go");
        let mut go_outsider =
            GoNode::start_with(&bin, json!({"cmd": "start", "name": "kgx", "preset": "local", "keys": [hex(&wrong)]}));
        let answer = go_outsider.try_cmd(json!({"cmd": "join", "seeds": [r.addr().to_string()]}));
        assert_eq!(answer["ok"], json!(false), "wrong key kept out by rumour: {answer}");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(names(&r).len(), 2, "nobody got in: {:?}", names(&r));
    }

    // Rotation across a mixed cluster: install everywhere, use everywhere, remove everywhere.
    let r = rumour_with(Config { name: "rot-r".into(), keys: vec![k16.to_vec()], ..Config::local() });
    let mut g =
        GoNode::start_with(&bin, json!({"cmd": "start", "name": "rot-g", "preset": "local", "keys": [hex(&k16)]}));
    assert_eq!(r.join(&[g.addr.as_str()]), Ok(1));
    r.install_key(&k32).unwrap();
    g.cmd(json!({"cmd": "key", "op": "install", "key": hex(&k32)}));
    r.use_key(&k32).unwrap();
    g.cmd(json!({"cmd": "key", "op": "use", "key": hex(&k32)}));
    r.remove_key(&k16).unwrap();
    g.cmd(json!({"cmd": "key", "op": "remove", "key": hex(&k16)}));
    r.set_meta(b"rotated").unwrap();
    let seen = wait_until(Duration::from_secs(10), || g.members().iter().any(|m| m.0 == "rot-r" && m.2 == "rotated"));
    assert!(seen, "traffic still flows on the new key");
    let old_only = rumour_with(Config { name: "rot-old".into(), keys: vec![k16.to_vec()], ..Config::local() });
    assert!(old_only.join(&[g.addr.as_str()]).is_err(), "the removed key no longer gets in");
}

#[test]
fn go_nodes_at_protocol_versions_2_to_5_join_rumour_side_by_side() {
    let Some(bin) = peer_binary() else { return };
    let r = rumour_with(Config { name: "pv-r".into(), ..Config::local() });
    let mut gs: Vec<GoNode> = (2..=5)
        .map(|v| {
            GoNode::start_with(
                &bin,
                json!({"cmd": "start", "name": format!("pv-g{v}"), "preset": "local", "protocol": v}),
            )
        })
        .collect();
    for g in &mut gs {
        g.cmd(json!({"cmd": "join", "seeds": [r.addr().to_string()]}));
    }
    let all = ["pv-g2", "pv-g3", "pv-g4", "pv-g5", "pv-r"];
    assert!(wait_until(Duration::from_secs(15), || names(&r) == all), "rumour sees {:?}", names(&r));
    for g in &mut gs {
        let ok = wait_until(Duration::from_secs(15), || g.members().len() == 5);
        let (seen, events) = (g.members(), g.events.lock().unwrap().clone());
        assert!(ok, "a Go node sees only {seen:?}; its events: {events:?}; rumour sees {:?}", r.members());
    }
    // Probes between every pair keep everyone alive: nobody is suspected.
    std::thread::sleep(Duration::from_secs(3));
    let alive = r.members().unwrap().iter().filter(|m| m.state == MemberState::Alive).count();
    assert_eq!(alive, 5);

    // The version 5 node dies: rumour and the version 2 node both notice.
    let preset = Config::local();
    let bound = rumour::proto::suspicion_timeout(preset.suspicion_mult, 5, preset.probe_interval)
        * preset.suspicion_max_timeout_mult
        + preset.probe_interval * 2;
    gs.pop().expect("pv-g5").kill();
    let dead = || r.member("pv-g5").unwrap().is_some_and(|m| m.state == MemberState::Dead);
    assert!(wait_until(bound, dead), "rumour declares the version 5 node failed within {bound:?}");
    assert!(wait_until(bound, || gs[0].saw("leave", "pv-g5")), "the version 2 Go node drops it too");
}

#[test]
fn user_broadcasts_and_reliable_messages_cross_byte_for_byte() {
    let Some(bin) = peer_binary() else { return };
    let log = Arc::new(Mutex::new(Vec::new()));
    let cfg = Config {
        name: "ur".into(),
        bind: "127.0.0.1:0".into(),
        raw_user_messages: true,
        retransmit_mult: RETRANSMIT_MULT,
        ..Config::local()
    };
    let ev = log.clone();
    let r = Node::start_with_callback(cfg, move |e: &Event| ev.lock().unwrap().push(e.clone())).unwrap();
    let mut g = GoNode::start(&bin, "ug", "");
    g.cmd(json!({"cmd": "join", "seeds": [r.addr().to_string()]}));
    assert!(wait_until(Duration::from_secs(10), || r.members().unwrap().len() == 2));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let go_got = |g: &GoNode, data: &[u8]| {
        let h = hex(data);
        g.events.lock().unwrap().iter().filter(|e| e["event"] == "msg" && e["data"] == h.as_str()).count()
    };
    let rumour_got = |data: &[u8]| {
        log.lock().unwrap().iter().filter(|e| matches!(e, Event::Message { payload, .. } if payload == data)).count()
    };

    let to_go: &[u8] = b"rumour -> go \x00\x01\xfe\xff broadcast";
    r.broadcast(to_go).unwrap();
    assert!(wait_until(Duration::from_secs(10), || go_got(&g, to_go) >= 1), "Go's NotifyMsg gets the exact bytes");
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    r.send_reliable("ug", &big).unwrap();
    assert!(wait_until(Duration::from_secs(10), || go_got(&g, &big) == 1), "a 200 KB reliable message, exact");

    let to_rumour: &[u8] = b"go -> rumour \x00\xff broadcast";
    g.cmd(json!({"cmd": "broadcast", "data": hex(to_rumour)}));
    assert!(wait_until(Duration::from_secs(10), || rumour_got(to_rumour) >= 1), "Go's delegate broadcast arrives");
    let reliable: &[u8] = b"go -> rumour reliable \x07";
    g.cmd(json!({"cmd": "send", "to": "ur", "data": hex(reliable)}));
    assert!(wait_until(Duration::from_secs(10), || rumour_got(reliable) == 1), "Go's SendReliable arrives");
    let plain = log.lock().unwrap().iter().any(|e| {
        matches!(e, Event::Message { kind: rumour::proto::MessageKind::Plain, from: None, payload } if payload == reliable)
    });
    assert!(plain, "a Go message is a plain one, with no sender");
    // Plain memberlist broadcasts carry no id, so every copy is delivered,
    // on both sides: up to the retransmit limit, 4·ceil(log10(2+1)) = 4.
    std::thread::sleep(Duration::from_millis(500));
    let copies = (go_got(&g, to_go), rumour_got(to_rumour));
    assert!((1..=4).contains(&copies.0) && (1..=4).contains(&copies.1), "copies delivered: {copies:?}");
    assert_eq!((go_got(&g, &big), rumour_got(reliable)), (1, 1), "reliable messages arrive once");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn push_pull_user_state_crosses_both_ways() {
    let Some(bin) = peer_binary() else { return };
    let log = Arc::new(Mutex::new(Vec::new()));
    let r = rumour_node("ps-r", b"", &log);
    let ours: &[u8] = b"rumour local state \x00\xff";
    let theirs: &[u8] = b"go local state \x01";
    r.set_local_state(ours).unwrap();
    let mut g = GoNode::start(&bin, "ps-g", "");
    g.cmd(json!({"cmd": "state", "data": hex(theirs)}));
    let rumour_got =
        || log.lock().unwrap().iter().filter(|e| matches!(e, Event::RemoteState(s) if s == theirs)).count();
    let go_got = |g: &GoNode| {
        let h = hex(ours);
        g.events.lock().unwrap().iter().filter(|e| e["event"] == "remote_state" && e["data"] == h.as_str()).count()
    };
    // Go starts the exchange (its join): its state comes in, ours goes back.
    g.cmd(json!({"cmd": "join", "seeds": [r.addr().to_string()]}));
    assert!(wait_until(Duration::from_secs(10), || rumour_got() == 1), "Go's LocalState reaches rumour");
    assert!(wait_until(Duration::from_secs(10), || go_got(&g) == 1), "rumour's reply reaches MergeRemoteState");
    // Rumour starts one (a join through Go): the same, the other way round.
    assert_eq!(r.join(&[g.addr.as_str()]), Ok(1));
    assert!(wait_until(Duration::from_secs(10), || rumour_got() >= 2 && go_got(&g) >= 2), "both ways again");
}

#[test]
fn the_replicated_map_converges_among_rumour_nodes_and_go_sees_none_of_it() {
    let Some(bin) = peer_binary() else { return };
    let log = Arc::new(Mutex::new(Vec::new()));
    let r1 = rumour_node("kv-r1", b"", &log);
    let mut g = GoNode::start(&bin, "kv-g", "");
    g.cmd(json!({"cmd": "join", "seeds": [r1.addr().to_string()]}));
    let r2 = rumour_node("kv-r2", b"", &log);
    // r2 joins through the Go node: it learns r1 from Go's member table.
    assert_eq!(r2.join(&[g.addr.as_str()]), Ok(1));
    assert!(
        wait_until(Duration::from_secs(10), || r1.members().unwrap().len() == 3 && r2.members().unwrap().len() == 3)
    );
    for i in 0..100 {
        let node = if i % 2 == 0 { &r1 } else { &r2 };
        node.state().put(&format!("k/{i:03}"), format!("value {i}").as_bytes()).unwrap();
    }
    r1.state().put_ephemeral("svc/r1", b"up").unwrap();
    r2.state().put("big", &[9u8; 30_000]).unwrap();
    let agree = || {
        let (a, b) = (r1.state().summary().unwrap(), r2.state().summary().unwrap());
        a.root == b.root && a.live == 102
    };
    assert!(wait_until(Duration::from_secs(20), agree), "both rumour replicas hold the same 102 keys");
    assert_eq!(r2.state().get("k/042").unwrap().map(|e| e.value), Some(b"value 42".to_vec()));
    // Nothing of the map reached the Go node's delegate.
    std::thread::sleep(Duration::from_millis(500));
    let go_events: Vec<Value> = g
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "msg" || e["event"] == "remote_state")
        .cloned()
        .collect();
    assert!(go_events.is_empty(), "Go saw {go_events:?}");
    assert_eq!(g.members().len(), 3, "and it still lists everyone");
}

#[test]
fn a_rumour_node_started_before_its_go_seed_joins_it_once_it_is_up() {
    let Some(bin) = peer_binary() else { return };
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let early =
        rumour_with(Config { name: "early".into(), seeds: vec![format!("127.0.0.1:{port}")], ..Config::local() });
    std::thread::sleep(Duration::from_secs(2));
    let mut go = GoNode::start_with(&bin, json!({"cmd": "start", "name": "go-seed", "preset": "local", "port": port}));
    let via = early.joined(Duration::from_secs(15)).expect("joined the Go seed once it was up");
    assert_eq!(via.to_string(), go.addr);
    assert!(wait_until(Duration::from_secs(10), || go.members().len() == 2), "Go lists the rumour node");
    assert!(go.saw("join", "early"));
}
