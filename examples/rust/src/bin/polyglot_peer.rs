//! The Rust peer of the polyglot test (protocol: tests/polyglot/README.md),
//! also the node the fault tests run in network namespaces:
//! `polyglot_peer NAME SEED [BIND [PRESET]]` (PRESET: lan, wan or local,
//! with `-swim` appended for plain SWIM without the Lifeguard refinements;
//! default 127.0.0.1:0 and local). SEED is `-` (none), an address joined
//! at start (up to 5 attempts, each failure printed as `join-failed N ERROR`), or
//! `seeds=ADDR[,ADDR...]`: `Config::seeds`, tried until one answers, with
//! `cluster-joined VIA` printed when the node joins. The environment
//! variable `RUMOUR_PEERS_FILE` sets `Config::peers_file`. It also prints `suspect NAME` when it
//! suspects a member, for the fault tests to count. Extra commands: `member NAME` answers
//! `member NAME STATE INCARNATION` (`member NAME none` when unknown);
//! `put KEY VALUE`, `del KEY`, `get KEY` (answers `get KEY VALUE`, or
//! `get KEY none`) and `root` (answers `root HEX`, the map's Merkle root).

use std::io::{BufRead, Write};
use std::sync::Mutex;

use rumour::{Config, Event, MemberState, Node};

static OUT: Mutex<()> = Mutex::new(());

fn say(line: String) {
    let _guard = OUT.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Joins `seed` once, trying again up to four more times a second apart:
/// on a lossy link (the fault tests drop 10 % of packets) a single TCP
/// push-pull can time out, and the test should see why, not a silent exit.
fn join_with_retries(node: &Node, seed: &str) -> Result<(), rumour::JoinError> {
    let mut attempt = 1;
    loop {
        match node.join(&[seed]) {
            Ok(_) => return Ok(()),
            Err(e) if attempt < 5 => {
                say(format!("join-failed {attempt} {e}"));
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let (name, seed, bind, preset) = (arg(1, ""), arg(2, "-"), arg(3, "127.0.0.1:0"), arg(4, "local"));
    let (preset, lifeguard) = match preset.strip_suffix("-swim") {
        Some(base) => (base, false),
        None => (preset.as_str(), true),
    };
    let base = match preset {
        "lan" => Config::lan(),
        "wan" => Config::wan(),
        _ => Config::local(),
    };
    let seeds: Vec<String> = match seed.strip_prefix("seeds=") {
        Some(list) => list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        None => Vec::new(),
    };
    let peers_file = std::env::var_os("RUMOUR_PEERS_FILE").map(std::path::PathBuf::from);
    let mut config = Config { name: name.clone(), bind, retransmit_mult: 4, seeds, peers_file, ..base };
    config.experiment.lifeguard = lifeguard;
    let node = Node::start_with_callback(config, |e: &Event| match e {
        Event::MemberJoined(m) => say(format!("joined {}", m.name)),
        Event::MemberFailed(m) => say(format!("failed {}", m.name)),
        Event::MemberSuspect(m) => say(format!("suspect {}", m.name)),
        Event::MemberLeft(m) => say(format!("left {}", m.name)),
        Event::Joined { via } => say(format!("cluster-joined {via}")),
        Event::MemberUpdated(m) => say(format!("updated {} {}", m.name, String::from_utf8_lossy(&m.meta))),
        Event::Message { from, payload, .. } => {
            say(format!("message {} {}", from.as_deref().unwrap_or("?"), String::from_utf8_lossy(payload)))
        }
        _ => {}
    })?;
    if seed != "-" && !seed.starts_with("seeds=") {
        join_with_retries(&node, &seed)?;
    }
    say(format!("ready {}", node.addr()));
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (cmd, arg) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        match cmd {
            "members" => {
                let mut names: Vec<String> = node
                    .members()?
                    .into_iter()
                    .filter(|m| m.state == MemberState::Alive)
                    .map(|m| m.name.to_string())
                    .collect();
                names.sort();
                say(format!("members {}", names.join(",")));
            }
            "broadcast" => node.broadcast(arg.as_bytes())?,
            "meta" => node.set_meta(arg.as_bytes())?,
            "meta_of" => {
                let meta = node.member(arg)?.map(|m| String::from_utf8_lossy(&m.meta).into_owned()).unwrap_or_default();
                say(format!("meta_of {arg} {meta}"));
            }
            "member" => match node.member(arg)? {
                Some(m) => say(format!("member {arg} {} {}", format!("{:?}", m.state).to_lowercase(), m.incarnation)),
                None => say(format!("member {arg} none")),
            },
            "put" => {
                let (key, value) = arg.split_once(' ').unwrap_or((arg, ""));
                node.state().put(key, value.as_bytes())?;
            }
            "del" => {
                node.state().delete(arg)?;
            }
            "get" => match node.state().get(arg)? {
                Some(e) => say(format!("get {arg} {}", String::from_utf8_lossy(&e.value))),
                None => say(format!("get {arg} none")),
            },
            "root" => say(format!("root {:016x}", node.state().summary()?.root)),
            "quit" => break,
            _ => {}
        }
    }
    node.shutdown();
    Ok(())
}
