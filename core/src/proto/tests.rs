//! Whole-machine tests: a node driven by hand with explicit time, no sockets
//! and no sleeping. `addr`, `member`, `sealed`, `suspect_packet` and
//! `dead_packet` serve the other modules' tests too.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::wire::packet::{self, Layers};
use crate::wire::{Alive, Message, Ping, Suspect};

pub(super) fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 2, (i >> 8) as u8, i as u8], 7946))
}

pub(super) fn member(i: usize) -> Member {
    Member {
        name: format!("n{i}").into(),
        addr: addr(i),
        meta: vec![],
        state: MemberState::Alive,
        incarnation: 1,
        protocol: [1, 5, 2, 0, 0, 0],
    }
}

fn lan_node_in_cluster_of(n: usize, now: Instant) -> Proto {
    let cfg = Config { name: "n0".into(), enable_compression: false, ..Config::lan() };
    let mut p = Proto::new(cfg, addr(0), 0xF0CA, now).unwrap();
    p.bootstrap_members((1..n).map(member), now);
    p
}

pub(super) fn suspect_packet(node: &str, from: &str) -> Vec<u8> {
    sealed(Message::Suspect(Suspect { incarnation: 1, node: node.into(), from: from.into() }))
}

/// PAPER-CHECKS 5: memberlist's LAN preset at N=1000, checked on the running
/// machine, not only on the formulas: suspicion timeout 72 s at first, 34.144
/// s after one independent confirmation (34.1 s in the check's rounding), 12
/// s at the minimum; retransmit limit 16; awareness caps the probe interval
/// at 8 times.
#[test]
fn paper_check_5() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(1000, t0);
    p.handle_packet(addr(2), &suspect_packet("n1", "n2"), t0);
    assert_eq!(p.suspicion_deadline("n1"), Some(t0 + Duration::from_secs(72)));
    p.handle_packet(addr(3), &suspect_packet("n1", "n3"), t0);
    assert_eq!(p.suspicion_deadline("n1"), Some(t0 + Duration::from_millis(34_144)));
    p.handle_packet(addr(4), &suspect_packet("n1", "n4"), t0);
    assert_eq!(p.suspicion_deadline("n1"), Some(t0 + Duration::from_secs(12)));
    assert_eq!(suspicion_timeout(4, 1000, Duration::from_secs(1)), Duration::from_secs(12));
    assert_eq!(retransmit_limit(4, 1000), 16);
    p.awareness.apply_delta(1_000);
    assert_eq!(p.awareness.scale(p.cfg.probe_interval), Duration::from_secs(8));
}

#[test]
fn a_node_refutes_a_suspicion_about_itself_with_a_higher_incarnation() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(5, t0);
    let before = p.local().incarnation;
    let msg = Message::Suspect(Suspect { incarnation: before + 3, node: "n0".into(), from: "n1".into() }).encode();
    p.handle_packet(addr(1), &packet::seal(&Layers::default(), msg, false, [0; 12]), t0);
    assert_eq!(p.local().incarnation, before + 4);
    assert_eq!(p.local().state, MemberState::Alive);
    assert_eq!(p.stats().refutes, 1);
    assert_eq!(p.health_score(), 1, "having to refute lowers our own health");
}

/// Messages of the packets `p` sent, with where each went.
fn sent_messages(p: &mut Proto) -> Vec<(SocketAddr, Message)> {
    let mut out = Vec::new();
    while let Some(t) = p.poll_transmit() {
        let body = packet::open(&Layers::default(), &t.payload).expect("our own packet opens");
        out.extend(packet::split(&body).0.into_iter().map(|m| (t.to, m)));
    }
    out
}

/// An accusation of n0 by n1 at `incarnation`.
fn accusation(kind: &str, incarnation: u32) -> Vec<u8> {
    let (node, from) = ("n0".to_string(), "n1".to_string());
    sealed(match kind {
        "suspect" => Message::Suspect(Suspect { incarnation, node, from }),
        _ => Message::Dead(crate::wire::Dead { incarnation, node, from }),
    })
}

/// Someone who missed our refutation still accuses us at the old
/// incarnation (a peer passes it on): we spread our current alive again,
/// without a new incarnation, and a flood of such accusations queues it once.
#[test]
fn a_stale_accusation_spreads_our_alive_again_once_it_has_run_out() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(5, t0);
    let stale = p.local().incarnation;
    p.handle_packet(addr(1), &accusation("suspect", stale), t0);
    let current = p.local().incarnation;
    assert_eq!((current, p.stats().refutes, p.stats().reasserts), (stale + 1, 1, 0));
    assert!(p.broadcasts.holds("n0"), "the refutation is queued");
    while !p.broadcasts.is_empty() {
        p.broadcasts.take(0, usize::MAX, 1);
    }
    for kind in ["suspect", "dead", "suspect"] {
        p.handle_packet(addr(2), &accusation(kind, stale), t0);
    }
    assert!(p.broadcasts.holds("n0"), "our alive is queued again");
    assert_eq!(p.stats().reasserts, 1, "once while it is queued");
    assert_eq!((p.local().incarnation, p.stats().refutes), (current, 1), "no new incarnation, no new refute");
    let queued = p.broadcasts.take(0, usize::MAX, 1);
    let alive = queued.iter().find_map(|m| match Message::decode(m) {
        Ok(Message::Alive(a)) if a.node == "n0" => Some(a.incarnation),
        _ => None,
    });
    assert_eq!(alive, Some(current));
}

/// Whoever sends us an accusation gets our alive straight back, once per
/// probe interval per address: gossip alone, twice to random members in a
/// small cluster, can pass the accuser by.
#[test]
fn an_accuser_gets_our_alive_straight_back_once_per_probe_interval() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(5, t0);
    let stale = p.local().incarnation;
    sent_messages(&mut p);
    p.handle_packet(addr(1), &accusation("dead", stale), t0);
    p.handle_packet(addr(1), &accusation("suspect", stale), t0 + Duration::from_millis(10));
    p.handle_packet(addr(1), &accusation("suspect", stale), t0 + Duration::from_millis(20));
    let answers = |sent: &[(SocketAddr, Message)]| {
        sent.iter()
            .filter_map(|(to, m)| match m {
                Message::Alive(a) if a.node == "n0" && *to == addr(1) => Some(a.incarnation),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let sent = sent_messages(&mut p);
    let current = p.local().incarnation;
    assert_eq!(current, stale + 1, "the first accusation was refuted");
    assert!(answers(&sent).contains(&current), "{sent:?}");
    assert_eq!(p.stats().accusers_answered, 1, "one answer within a probe interval");
    p.handle_packet(addr(1), &accusation("suspect", stale), t0 + p.config().probe_interval);
    assert_eq!(p.stats().accusers_answered, 2);
    assert!(answers(&sent_messages(&mut p)).contains(&current));
}

/// A member we hold as left (it refuted, and the refutation passed us by)
/// pings us: we answer the ping and send it our verdict, which it answers
/// with its alive, straight back.
#[test]
fn a_member_held_gone_that_pings_us_is_told_our_verdict() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(5, t0);
    p.handle_packet(
        addr(1),
        &sealed(Message::Dead(crate::wire::Dead { incarnation: 1, node: "n1".into(), from: "n1".into() })),
        t0,
    );
    assert_eq!(p.member("n1").map(|m| m.state), Some(MemberState::Left));
    sent_messages(&mut p);
    let ping = Ping { seq_no: 7, node: "n0".into(), source: Some(addr(1)), source_node: "n1".into() };
    p.handle_packet(addr(1), &sealed(Message::Ping(ping.clone())), t0);
    let sent = sent_messages(&mut p);
    assert!(sent.iter().any(|(to, m)| *to == addr(1) && matches!(m, Message::Ack(a) if a.seq_no == 7)));
    let verdict = sent.iter().find_map(|(to, m)| match m {
        Message::Dead(d) if *to == addr(1) && d.node == "n1" => Some((d.incarnation, d.from.clone())),
        _ => None,
    });
    assert_eq!(verdict, Some((1, "n1".to_string())), "{sent:?}");
    // A member we hold alive gets the ack alone.
    let ping = Ping { source: Some(addr(2)), source_node: "n2".into(), ..ping };
    p.handle_packet(addr(2), &sealed(Message::Ping(ping)), t0);
    assert!(!sent_messages(&mut p).iter().any(|(_, m)| matches!(m, Message::Dead(_))));
}

#[test]
fn a_suspicion_that_runs_out_becomes_a_failure_event() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(5, t0);
    p.handle_packet(addr(2), &suspect_packet("n1", "n2"), t0);
    assert!(matches!(p.poll_event(), Some(Event::MemberSuspect(m)) if *m.name == *"n1"));
    let deadline = p.suspicion_deadline("n1").unwrap();
    p.handle_timeout(deadline);
    let failed = std::iter::from_fn(|| p.poll_event()).any(|e| matches!(e, Event::MemberFailed(m) if *m.name == *"n1"));
    assert!(failed);
    assert_eq!(p.member("n1").unwrap().state, MemberState::Dead);
}

#[test]
fn garbage_packets_are_counted_and_change_nothing() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(3, t0);
    for junk in [&b""[..], b"\x07\xff", b"\x04\x81\xa4Node\xc0", b"\xf4\x05ab"] {
        p.handle_packet(addr(9), junk, t0);
    }
    assert_eq!(p.stats().decode_errors, 4);
    assert_eq!(p.num_members(), 3);
    assert!(p.poll_event().is_none());
}

#[test]
fn commands_reject_bad_input_with_typed_errors() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(3, t0);
    assert_eq!(p.set_meta(vec![0; 513], t0), Err(CommandError::MetaTooLarge(513)));
    assert!(matches!(p.broadcast(&vec![0; 2000]), Err(CommandError::MessageTooLarge { .. })));
    assert_eq!(p.send("nobody", b"x", false, t0), Err(CommandError::UnknownMember("nobody".into())));
    p.leave(t0);
    assert_eq!(p.broadcast(b"x"), Err(CommandError::Left));
}

fn node(name: &str, i: usize, now: Instant) -> Proto {
    Proto::new(Config { name: name.into(), ..Config::lan() }, addr(i), i as u64, now).unwrap()
}

/// Runs the stream `from` opened through `to` and hands the reply back.
fn exchange(from: &mut Proto, to: &mut Proto, now: Instant) -> crate::proto::StreamRequest {
    let req = from.poll_stream().expect("a stream to open");
    let reply = match to.handle_stream(from.addr, &req.payload, now) {
        StreamOutcome::Done { reply: Some(reply) } => reply,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(from.handle_stream_reply(req.id, &reply, now), ReplyOutcome::Done(Ok(())));
    req
}

#[test]
fn a_join_is_followed_by_one_more_exchange_with_the_seed_two_gossip_intervals_later() {
    let t0 = Instant::now();
    let (mut seed, mut joiner) = (node("seed", 1, t0), node("joiner", 2, t0));
    joiner.join(seed.addr, t0);
    let first = exchange(&mut joiner, &mut seed, t0);
    assert_eq!(first.to, seed.addr);
    let at = t0 + Config::lan().gossip_interval * 2;
    assert!(joiner.poll_timeout().is_some_and(|t| t <= at), "woken for the resync");
    joiner.handle_timeout(at - Duration::from_millis(1));
    assert!(joiner.poll_stream().is_none(), "not before its time");
    joiner.handle_timeout(at);
    let second = exchange(&mut joiner, &mut seed, at);
    assert_eq!(second.to, seed.addr, "the same seed again");
    joiner.handle_timeout(at + Duration::from_millis(50));
    assert!(joiner.poll_stream().is_none(), "only once");
}

#[test]
fn resyncs_go_on_while_the_seed_knows_more_members_at_each() {
    let t0 = Instant::now();
    let (mut seed, mut joiner) = (node("seed", 1, t0), node("joiner", 2, t0));
    joiner.join(seed.addr, t0);
    exchange(&mut joiner, &mut seed, t0);
    let gap = Config::lan().gossip_interval * 2;
    // Others join the seed meanwhile: the first resync finds it knowing more.
    seed.bootstrap_members((3..6).map(member), t0);
    let mut at = t0 + gap;
    joiner.handle_timeout(at);
    assert_eq!(exchange(&mut joiner, &mut seed, at).to, seed.addr);
    assert_eq!(joiner.num_members(), 5, "the resync taught the newcomers");
    // The seed learned more again, so another follows; then it knows no
    // more, and the resyncs stop.
    seed.bootstrap_members((6..8).map(member), at);
    at += gap;
    joiner.handle_timeout(at);
    assert_eq!(exchange(&mut joiner, &mut seed, at).to, seed.addr, "a second resync");
    assert_eq!(joiner.num_members(), 7);
    at += gap;
    joiner.handle_timeout(at);
    assert_eq!(exchange(&mut joiner, &mut seed, at).to, seed.addr, "a third: the second still found more");
    joiner.handle_timeout(at + gap);
    // (Other streams are probes' TCP fallbacks: nobody answers pings here.)
    let push_pulls_to_seed = std::iter::from_fn(|| joiner.poll_stream())
        .filter(|s| s.to == seed.addr && listed(&s.payload).is_some())
        .count();
    assert_eq!(push_pulls_to_seed, 0, "the seed knew no more: no fourth");
}

/// A join hands the joiner the whole table, and the resyncs that follow
/// repeat that while the seed learns more. The members they add are no
/// burst of gossiped joins to catch up on: a cluster that starts at once
/// would otherwise make a full exchange more per node.
#[test]
fn members_learned_from_a_join_and_its_resyncs_arm_no_catch_up_pull() {
    let t0 = Instant::now();
    let (mut seed, mut joiner) = (node("seed", 1, t0), node("joiner", 2, t0));
    seed.bootstrap_members((3..13).map(member), t0);
    joiner.join(seed.addr, t0);
    exchange(&mut joiner, &mut seed, t0);
    assert_eq!(joiner.num_members(), 12, "the join taught the ten");
    seed.bootstrap_members((13..20).map(member), t0);
    let at = t0 + Config::lan().gossip_interval * 2;
    joiner.handle_timeout(at);
    exchange(&mut joiner, &mut seed, at);
    assert_eq!(joiner.num_members(), 19, "the resync taught seven more");
    assert_eq!(joiner.catch_up.deadline(), None, "no catch-up pull is armed");
    // The same burst reaching a settled member by gossip arms one.
    let mut settled = lan_node_in_cluster_of(3, t0);
    for i in 20..25 {
        settled.handle_packet(addr(1), &alive_packet(i, 1), at);
    }
    assert!(settled.catch_up.deadline().is_some(), "gossiped joins arm a pull");
}

/// The members listed in a push-pull stream (request or answer); `None`
/// for any other stream.
fn listed(payload: &[u8]) -> Option<Vec<String>> {
    match crate::wire::stream::open(&Layers::default(), payload) {
        Ok((crate::wire::stream::StreamMessage::PushPull { nodes, .. }, _)) => {
            Some(nodes.into_iter().map(|n| n.name).collect())
        }
        _ => None,
    }
}

/// `to`'s answer to the stream `payload` from `from`, and its members.
fn answer(to: &mut Proto, from: SocketAddr, payload: &[u8], now: Instant) -> (Vec<u8>, Vec<String>) {
    match to.handle_stream(from, payload, now) {
        StreamOutcome::Done { reply: Some(reply) } => {
            let members = listed(&reply).expect("a push-pull answer");
            (reply, members)
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// The resyncs after a join only pull: they send our own entry, not our
/// table, so a seed that a thousand nodes resync with has one member to
/// merge from each, not a thousand.
#[test]
fn a_resync_sends_only_our_own_entry_and_takes_the_seed_s_table() {
    let t0 = Instant::now();
    let (mut seed, mut joiner) = (node("seed", 1, t0), node("joiner", 2, t0));
    joiner.bootstrap_members((3..8).map(member), t0);
    joiner.join(seed.addr, t0);
    let join = joiner.poll_stream().expect("the join");
    assert_eq!(listed(&join.payload).expect("a push-pull").len(), 6, "a join sends the whole table");
    let (reply, _) = answer(&mut seed, joiner.addr, &join.payload, t0);
    assert_eq!(joiner.handle_stream_reply(join.id, &reply, t0), ReplyOutcome::Done(Ok(())));
    seed.bootstrap_members((8..12).map(member), t0);
    let at = t0 + Config::lan().gossip_interval * 2;
    joiner.handle_timeout(at);
    let resync = joiner.poll_stream().expect("the resync");
    assert_eq!(listed(&resync.payload), Some(vec!["joiner".to_string()]), "a resync sends only us");
    let (reply, members) = answer(&mut seed, joiner.addr, &resync.payload, at);
    assert_eq!(members.len(), seed.num_members(), "and gets the seed's whole table");
    assert_eq!(joiner.handle_stream_reply(resync.id, &reply, at), ReplyOutcome::Done(Ok(())));
    assert_eq!(joiner.num_members(), seed.num_members());
}

/// Answers asked for within half a gossip interval of each other are
/// encoded and compressed once; a change to our own entry, or the time
/// running out, makes a fresh one.
#[test]
fn push_pull_answers_in_quick_succession_are_built_once() {
    let t0 = Instant::now();
    let mut seed = node("seed", 1, t0);
    seed.bootstrap_members((3..8).map(member), t0);
    let ask = |seed: &mut Proto, joiner: usize, now: Instant| -> Vec<String> {
        let mut j = node(&format!("j{joiner}"), joiner, t0);
        j.join(seed.addr, now);
        let req = j.poll_stream().expect("a join");
        answer(seed, j.addr, &req.payload, now).1
    };
    let first = ask(&mut seed, 20, t0);
    assert_eq!(first.len(), 6, "the seed and its five");
    // The first joiner is merged after the answer, as memberlist does; the
    // next answer, 10 ms later, is the same one.
    let soon = t0 + Duration::from_millis(10);
    assert_eq!(ask(&mut seed, 21, soon), first, "served again");
    let later = t0 + Config::lan().gossip_interval / 2;
    assert_eq!(ask(&mut seed, 22, later).len(), 8, "half a gossip interval on, a fresh table");
    // Our own entry changing (a refutation) makes a fresh one at once.
    let before = seed.local().incarnation;
    let suspect = Suspect { incarnation: before, node: "seed".into(), from: "n3".into() };
    seed.handle_packet(addr(3), &sealed(Message::Suspect(suspect)), later);
    assert!(seed.local().incarnation > before);
    assert_eq!(ask(&mut seed, 23, later + Duration::from_millis(1)).len(), 9, "fresh after a refutation");
}

pub(super) fn sealed(msg: Message) -> Vec<u8> {
    packet::seal(&Layers::default(), msg.encode(), false, [0; 12])
}

pub(super) fn dead_packet(node: &str, from: &str) -> Vec<u8> {
    sealed(Message::Dead(crate::wire::Dead { incarnation: 1, node: node.into(), from: from.into() }))
}

/// Member `i` (as [`member`] builds it) announcing itself alive at
/// `incarnation`: a refutation, or a return from failed.
fn alive_packet(i: usize, incarnation: u32) -> Vec<u8> {
    let m = member(i);
    sealed(Message::Alive(Alive { incarnation, node: m.name.to_string(), addr: m.addr, meta: m.meta, vsn: m.protocol }))
}

/// After a partition heals, a member just back from failed passes on the
/// verdicts it reached while cut off. Those are taken as suspicions (the
/// accused refutes them), while the same verdict from a member that has
/// been alive here all along fails the accused at once.
#[test]
fn a_verdict_from_a_member_just_back_from_failed_is_only_a_suspicion() {
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(6, t0);
    let t1 = t0 + Duration::from_secs(30);
    // n2 is failed (a suspicion timeout after it was suspected), then
    // comes back with a higher incarnation.
    let settle = suspicion_timeout(p.cfg.suspicion_mult, 6, p.cfg.probe_interval);
    p.handle_packet(addr(3), &suspect_packet("n2", "n3"), t1 - settle);
    p.handle_packet(addr(3), &dead_packet("n2", "n3"), t1);
    assert_eq!(p.member("n2").unwrap().state, MemberState::Dead);
    p.handle_packet(addr(2), &alive_packet(2, 2), t1);
    assert_eq!(p.member("n2").unwrap().state, MemberState::Alive);

    // n1 is suspected; n2's stale verdict on it only confirms the suspicion.
    p.handle_packet(addr(4), &suspect_packet("n1", "n4"), t1);
    let before = p.suspicion_deadline("n1").unwrap();
    p.handle_packet(addr(2), &dead_packet("n1", "n2"), t1);
    assert_eq!(p.member("n1").unwrap().state, MemberState::Suspect);
    assert!(p.suspicion_deadline("n1").unwrap() < before, "counted as a confirmation");
    // So is a verdict from a member this node does not know.
    p.handle_packet(addr(9), &dead_packet("n1", "stranger"), t1);
    assert_eq!(p.member("n1").unwrap().state, MemberState::Suspect);

    // Once n2 has been back for a suspicion timeout, its verdicts count.
    let t2 = t1 + settle;
    p.handle_packet(addr(2), &dead_packet("n1", "n2"), t2);
    assert_eq!(p.member("n1").unwrap().state, MemberState::Dead);
}

#[test]
fn a_verdict_hard_on_the_heels_of_its_suspicion_is_only_a_confirmation() {
    // The soak's false failures after a partition: an accuser that was cut
    // off kept its suspicion, and the rest heard of it only a moment before
    // its verdict, leaving the member no time to refute.
    let t0 = Instant::now();
    let mut p = lan_node_in_cluster_of(6, t0);
    let t1 = t0 + Duration::from_secs(30);
    let settle = suspicion_timeout(p.cfg.suspicion_mult, 6, p.cfg.probe_interval);
    p.handle_packet(addr(3), &suspect_packet("n1", "n3"), t1);
    p.handle_packet(addr(3), &dead_packet("n1", "n3"), t1 + Duration::from_millis(200));
    assert_eq!(p.member("n1").unwrap().state, MemberState::Suspect);
    p.handle_packet(addr(1), &alive_packet(1, 2), t1 + Duration::from_millis(300));
    assert_eq!(p.member("n1").unwrap().state, MemberState::Alive, "the member had time to refute");

    // A verdict that ends a suspicion heard here a whole timeout earlier,
    // as a genuine one does, is taken at once.
    p.handle_packet(addr(4), &suspect_packet("n2", "n4"), t1);
    p.handle_packet(addr(4), &dead_packet("n2", "n4"), t1 + settle);
    assert_eq!(p.member("n2").unwrap().state, MemberState::Dead);
}
