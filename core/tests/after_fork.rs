//! A node started in a child process after `fork()`, while the parent runs
//! a node of its own (a pre-fork server's master and workers), joins the
//! parent's node. Its own binary without the test harness, so the process
//! forks from a known state: one main thread plus the parent node's.

use std::time::{Duration, Instant};

use rumour::{Config, MemberState, Node};

fn config(name: &str) -> Config {
    Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::local() }
}

fn child(seed: &str) -> bool {
    let Ok(node) = Node::start(config("fork-child")) else { return false };
    let joined = node.join(&[seed]) == Ok(1);
    std::thread::sleep(Duration::from_millis(300));
    node.shutdown();
    joined
}

fn main() {
    let parent = Node::start(config("fork-parent")).expect("the parent's node starts");
    let seed = parent.addr().to_string();
    // SAFETY: the child only starts a node (new threads, new runtime) and
    // leaves with `_exit`; it never touches the parent's node.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(|| child(&seed)).unwrap_or(false);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's node did not join (status {status})"
    );
    let start = Instant::now();
    let seen = loop {
        let m = parent.member("fork-child").expect("parent running");
        if m.is_some() || start.elapsed() > Duration::from_secs(5) {
            break m;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(seen.is_some_and(|m| m.state != MemberState::Left), "the parent saw the child join");
    parent.shutdown();
    println!("after_fork: a node started after fork() joined the parent's node: ok");
}
