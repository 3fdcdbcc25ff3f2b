//! Protocol decisions reach `tracing` (target "rumour"): a crash produces
//! "probe failed", "suspect raised" and "declared dead". A minimal
//! subscriber of our own collects the messages; it is process-wide, because
//! each node logs from its own runtime thread, hence a test file of its own.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wait_until;
use rumour::{Config, Node};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Collect {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "rumour"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        self.0.lock().unwrap().push(m.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn a_crash_is_logged_as_probe_failed_suspect_raised_and_declared_dead() {
    let collect = Collect::default();
    tracing::subscriber::set_global_default(collect.clone()).expect("the only subscriber in this binary");
    let config = |name: &str| Config { name: name.into(), bind: "127.0.0.1:0".into(), ..Config::local() };
    let nodes: Vec<Node> = (0..3).map(|i| Node::start(config(&format!("tr{i}"))).unwrap()).collect();
    for n in &nodes[1..] {
        assert_eq!(n.join(&[nodes[0].addr().to_string()]), Ok(1));
    }
    std::thread::sleep(Duration::from_secs(1));
    nodes[2].shutdown();
    let has = |text: &str| collect.0.lock().unwrap().iter().any(|m| m.contains(text));
    let all = || has("probe failed") && has("suspect raised") && has("declared dead");
    assert!(wait_until(Duration::from_secs(30), all), "logged: {:?}", collect.0.lock().unwrap());
}
