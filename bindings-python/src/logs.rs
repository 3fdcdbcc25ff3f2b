//! rumour's `tracing` records, forwarded to Python's `logging` (logger
//! "rumour", or "rumour.state" for target "rumour::state").
//!
//! The protocol threads never wait for Python: a record is formatted and
//! offered to a bounded queue (dropped, and counted, when it is full, as
//! when another thread holds the GIL for long); one log thread takes them
//! and calls `logging` with the GIL. Only targets under "rumour" are taken.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Records waiting for the log thread before new ones are dropped.
const QUEUE: usize = 1024;

/// Records dropped because the queue was full.
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Line {
    logger: String,
    level: u8,
    message: String,
}

struct ToPython {
    tx: SyncSender<Line>,
    next_span: AtomicU64,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Subscriber for ToPython {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("rumour") && *metadata.level() <= Level::DEBUG
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed).max(1))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = match *meta.level() {
            Level::ERROR => 40,
            Level::WARN => 30,
            Level::INFO => 20,
            Level::DEBUG => 10,
            Level::TRACE => 5,
        };
        let line = Line { logger: meta.target().replace("::", "."), level, message: fields.0 };
        if let Err(TrySendError::Full(_)) = self.tx.try_send(line) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn forward(rx: Receiver<Line>) {
    while let Ok(line) = rx.recv() {
        // None while the interpreter shuts down: nobody to tell.
        let _ = Python::try_attach(|py| {
            let logged = py
                .import("logging")
                .and_then(|logging| logging.call_method1("getLogger", (line.logger.as_str(),)))
                .and_then(|logger| logger.call_method1("log", (line.level, line.message.as_str())));
            if let Err(e) = logged {
                e.write_unraisable(py, None);
            }
        });
    }
}

/// Installs the forwarder as the process's `tracing` subscriber, unless the
/// program already installed one (then that one gets the records).
pub(crate) fn install() {
    let (tx, rx) = sync_channel(QUEUE);
    let subscriber = ToPython { tx, next_span: AtomicU64::new(1) };
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        let _ = std::thread::Builder::new().name("rumour-logs".into()).spawn(move || forward(rx));
    }
}
