//! `make demo`: five real nodes on 127.0.0.1 in one process, narrated as
//! node-0 sees them. Four start before their seed (node-0) and join once it
//! is up, one changes its metadata, one broadcasts,
//! two write to the replicated map (one registers itself with an ephemeral
//! key), one is killed without leaving (suspected, then failed, and its
//! registration reaped), one leaves gracefully, and the killed one restarts
//! under its name, rejoins and registers again.
//! Every wait is bounded; the whole run takes well under a minute.

use std::time::{Duration, Instant};

use rumour::{Config, Event, MemberState, Node};

/// `local()` timings, with LAN's retransmit multiplier: in a cluster of five
/// `local()`'s 2 sends a rumour only twice per holder, and a leave can then
/// miss a node (which would see a failure instead).
fn config(name: &str, bind: &str) -> Config {
    Config { name: name.into(), bind: bind.into(), retransmit_mult: 4, ..Config::local() }
}

/// Polls `done` every 20 ms for up to `limit`; false on timeout.
fn wait(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A port free for both TCP and UDP on 127.0.0.1 right now.
fn free_port() -> std::io::Result<u16> {
    for _ in 0..20 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no free port on 127.0.0.1"))
}

fn alive(node: &Node) -> usize {
    node.members().map_or(0, |m| m.iter().filter(|m| m.state == MemberState::Alive).count())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let stamp = move || format!("[{:>6.2} s]", t0.elapsed().as_secs_f64());
    let say = |text: &str| println!("{} {text}", stamp());

    // The seed's address is fixed before anything starts, as a deployment
    // fixes it; node-0 then starts last, as happens in a rollout.
    let seed = format!("127.0.0.1:{}", free_port()?);
    say(&format!("node-1..4 start first, seeded with node-0's address {seed}, where nothing runs yet"));
    let mut others: Vec<Option<Node>> = Vec::new();
    for i in 1..5 {
        let node = Node::start(Config { seeds: vec![seed.clone()], ..config(&format!("node-{i}"), "127.0.0.1:0") })?;
        others.push(Some(node));
    }
    std::thread::sleep(Duration::from_millis(1500));
    say("node-0 starts now, on the seed address; node-0 narrates what it sees, the others run quietly");
    let observer = Node::start_with_callback(config("node-0", &seed), move |event: &Event| {
        let line = match event {
            Event::MemberJoined(m) => format!("joined: {} at {}", m.name, m.addr),
            Event::MemberUpdated(m) => format!("updated: {} meta={:?}", m.name, String::from_utf8_lossy(&m.meta)),
            Event::MemberSuspect(m) => format!("suspect: {} (missed its probes)", m.name),
            Event::MemberRecovered(m) => format!("recovered: {} refuted the suspicion", m.name),
            Event::MemberFailed(m) => format!("FAILED: {} (suspicion timed out)", m.name),
            Event::MemberLeft(m) => format!("left: {} (gracefully)", m.name),
            Event::Message { from, payload, .. } => {
                format!("message from {}: {:?}", from.as_deref().unwrap_or("?"), String::from_utf8_lossy(payload))
            }
            Event::StateChanged(c) => match &c.value {
                Some(v) => format!("state: {} = {:?} (written by {})", c.key, String::from_utf8_lossy(v), c.writer),
                None => format!("state: {} deleted (by {})", c.key, c.writer),
            },
            Event::RemoteState(s) => format!("push-pull state from a memberlist peer: {} bytes", s.len()),
            Event::EventsLost(n) => format!("{n} events lost"),
            Event::Joined { via } => format!("in a cluster now (through {via})"),
            Event::JoinGaveUp { attempts, .. } => format!("gave up joining its seeds after {attempts} attempts"),
        };
        println!("{} node-0 sees  {line}", stamp());
    })?;
    let seed_started = Instant::now();
    for node in others.iter().flatten() {
        node.joined(Duration::from_secs(10))?;
    }
    say(&format!(
        "node-1..4 retried the seed and are in ({} ms after node-0 started)",
        seed_started.elapsed().as_millis()
    ));
    let joined = Instant::now();
    let everyone = |o: &[Option<Node>]| o.iter().flatten().all(|n| alive(n) == 5) && alive(&observer) == 5;
    if !wait(Duration::from_secs(10), || everyone(&others)) {
        return Err("the five nodes did not converge within 10 s".into());
    }
    say(&format!("all five nodes see each other ({} ms later)", joined.elapsed().as_millis()));

    say("node-2 sets its metadata to role=cache");
    others[1].as_ref().expect("running").set_meta(b"role=cache")?;
    wait(Duration::from_secs(5), || observer.member("node-2").ok().flatten().is_some_and(|m| m.meta == b"role=cache"));

    say("node-3 broadcasts a message to everyone");
    others[2].as_ref().expect("running").broadcast(b"hello from node-3")?;
    std::thread::sleep(Duration::from_millis(500));

    say("node-3 writes config/feature-x = on; node-4 registers services/cache/node-4 (ephemeral)");
    others[2].as_ref().expect("running").state().put("config/feature-x", b"on")?;
    let node4 = others[3].as_ref().expect("running");
    node4.state().put_ephemeral("services/cache/node-4", node4.addr().to_string().as_bytes())?;
    let registered = || observer.state().get("services/cache/node-4").ok().flatten().is_some();
    if !wait(Duration::from_secs(5), registered) {
        return Err("node-4's registration did not reach node-0 within 5 s".into());
    }

    let killed_at = others[3].as_ref().expect("running").bound_addr();
    say("node-4 is killed without leaving");
    others[3].take().expect("running").shutdown();
    let gone = || observer.member("node-4").ok().flatten().is_some_and(|m| m.state == MemberState::Dead);
    if !wait(Duration::from_secs(30), gone) {
        return Err("node-4's crash was not detected within 30 s".into());
    }
    wait(Duration::from_secs(2), || !registered());

    say("node-1 leaves gracefully");
    let leaver = others[0].take().expect("running");
    leaver.leave(Duration::from_secs(3))?;
    leaver.shutdown();
    wait(Duration::from_secs(5), || {
        observer.member("node-1").ok().flatten().is_some_and(|m| m.state == MemberState::Left)
    });

    say("node-4 restarts under its name on its old address and rejoins");
    let again = Node::start(config("node-4", &killed_at.to_string()))?;
    again.join(&[seed.as_str()])?;
    let back = || observer.member("node-4").ok().flatten().is_some_and(|m| m.state == MemberState::Alive);
    if !wait(Duration::from_secs(10), back) {
        return Err("node-4 did not come back within 10 s".into());
    }
    again.state().put_ephemeral("services/cache/node-4", again.addr().to_string().as_bytes())?;
    wait(Duration::from_secs(5), registered);
    std::thread::sleep(Duration::from_millis(300));
    let members = observer.members()?;
    let names: Vec<String> = members.iter().map(|m| format!("{} (incarnation {})", m.name, m.incarnation)).collect();
    say(&format!("node-0's view now: {}", names.join(", ")));
    let entries = observer.state().entries("")?;
    let listed: Vec<String> =
        entries.iter().map(|e| format!("{}={}", e.key, String::from_utf8_lossy(&e.value))).collect();
    say(&format!("node-0's replica of the map: {}", listed.join(", ")));
    let stats = observer.stats()?;
    say(&format!(
        "node-0 sent {} packets ({} bytes), received {}, ran {} probes",
        stats.proto.packets_sent, stats.proto.bytes_sent, stats.proto.packets_received, stats.proto.probes
    ));

    again.shutdown();
    for node in others.into_iter().flatten() {
        node.shutdown();
    }
    observer.shutdown();
    say("done");
    Ok(())
}
