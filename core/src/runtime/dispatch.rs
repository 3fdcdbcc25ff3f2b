//! Events leave the protocol task through a bounded queue to one dispatch
//! thread, which calls the user's callback serially and feeds the async
//! event streams. Protocol work never waits on user code: a full queue drops
//! the event, counts it, and reports the count as [`Event::EventsLost`]
//! ahead of the next event that fits.
//!
//! A batch callback ([`Callback::Batch`]) gets, in one call, every event
//! queued when the thread woke (at most [`MAX_BATCH`]), in order: one
//! crossing into a binding's language instead of one per event. The queue,
//! its depth and the loss accounting are the same for both kinds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::{JoinHandle, ThreadId};

use crate::proto::Event;

/// Events queued for the dispatch thread before new ones are dropped.
pub(crate) const EVENT_QUEUE_DEPTH: usize = 4096;

/// Events an async stream holds before it starts losing them.
const STREAM_DEPTH: usize = 4096;

/// Events a batch callback gets at most in one call. A batch is taken out
/// of the queue before the call, so the thread holds at most this many
/// events beyond [`EVENT_QUEUE_DEPTH`]; larger batches save nothing
/// measurable, since the crossing is already paid once per 1,024 events.
pub(crate) const MAX_BATCH: usize = 1024;

/// A callback called once per event.
pub(crate) type EachFn = Box<dyn FnMut(&Event) + Send>;

/// A callback called once per batch.
pub(crate) type BatchFn = Box<dyn FnMut(&[Event]) + Send>;

/// The user's callback.
pub(crate) enum Callback {
    /// Called once per event.
    Each(EachFn),
    /// Called once per batch: the events queued when the dispatch thread
    /// woke, oldest first, never empty.
    Batch(BatchFn),
}

/// Counters shared by the producer, the dispatch thread and `stats()`.
#[derive(Debug, Default)]
pub(crate) struct DispatchCounters {
    pub(crate) events_lost: AtomicU64,
    pub(crate) callback_panics: AtomicU64,
}

/// Shared with the dispatch thread: stream subscribers and the stop flag.
#[derive(Default)]
pub(crate) struct Subscribers {
    streams: Mutex<Vec<StreamFeed>>,
    /// Set by `shutdown()` called from inside a callback: no callback runs after.
    pub(crate) stopped: AtomicBool,
}

struct StreamFeed {
    tx: tokio::sync::mpsc::Sender<Event>,
    lost: u64,
    /// Only [`Event::StateChanged`] for keys with this prefix (a watch).
    prefix: Option<String>,
}

impl StreamFeed {
    fn wants(&self, event: &Event) -> bool {
        match (&self.prefix, event) {
            (None, _) => true,
            (Some(p), Event::StateChanged(c)) => c.key.starts_with(p.as_str()),
            (Some(_), _) => false,
        }
    }
}

/// The producing end, owned by the protocol task.
pub(crate) struct EventSink {
    tx: Option<SyncSender<Event>>,
    /// Events sent and not yet counted out by the dispatch thread, which
    /// lowers it after each receive. Only this end reads it, after its own
    /// sends, so it never reads less than the queue holds:
    /// `EVENT_QUEUE_DEPTH - queued` is room the next sends are sure to find.
    queued: Arc<AtomicUsize>,
    lost: u64,
    counters: Arc<DispatchCounters>,
}

impl EventSink {
    /// The counters shared with the dispatch thread (events lost).
    pub(crate) fn counters(&self) -> &DispatchCounters {
        &self.counters
    }

    /// Queues an event without ever blocking.
    pub(crate) fn push(&mut self, event: Event) {
        let Some(tx) = &self.tx else { return };
        let queued = &self.queued;
        let try_send = |e| match tx.try_send(e) {
            Ok(()) => {
                queued.fetch_add(1, Ordering::AcqRel);
                Sent::Yes
            }
            Err(TrySendError::Full(_)) => Sent::Full,
            Err(TrySendError::Disconnected(_)) => Sent::Closed,
        };
        let room = || EVENT_QUEUE_DEPTH.saturating_sub(queued.load(Ordering::Acquire));
        send_or_count(&mut self.lost, &self.counters.events_lost, event, room, try_send);
    }

    /// No more events: the dispatch thread ends once it has delivered the
    /// rest. A loss not yet reported is queued first, waiting for room:
    /// shutdown waits for the dispatch thread anyway.
    pub(crate) fn close(&mut self) {
        if let (Some(tx), true) = (&self.tx, self.lost > 0) {
            let _ = tx.send(Event::EventsLost(self.lost));
            self.lost = 0;
        }
        self.tx = None;
    }
}

/// The consuming end, owned by the dispatch thread.
struct EventQueue {
    rx: Receiver<Event>,
    queued: Arc<AtomicUsize>,
}

impl EventQueue {
    /// Waits for the next event; `None` once the sink is closed and the
    /// queue empty.
    fn recv(&self) -> Option<Event> {
        let event = self.rx.recv().ok()?;
        self.queued.fetch_sub(1, Ordering::AcqRel);
        Some(event)
    }

    /// Moves what is queued now, up to `limit` events, into `batch`.
    fn take_waiting(&self, batch: &mut Vec<Event>, limit: usize) {
        let before = batch.len();
        batch.extend(self.rx.try_iter().take(limit));
        self.queued.fetch_sub(batch.len() - before, Ordering::AcqRel);
    }
}

/// The dispatch thread's handle.
pub(crate) struct Dispatcher {
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
}

impl Dispatcher {
    /// Starts the dispatch thread for `callback` (or none) and returns the
    /// producing end.
    pub(crate) fn start(
        name: &str,
        callback: Option<Callback>,
        subscribers: Arc<Subscribers>,
        counters: Arc<DispatchCounters>,
    ) -> std::io::Result<(Dispatcher, EventSink)> {
        let (tx, rx) = sync_channel(EVENT_QUEUE_DEPTH);
        let queued = Arc::new(AtomicUsize::new(0));
        let queue = EventQueue { rx, queued: queued.clone() };
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name(format!("rumour-events-{name}"))
            .spawn(move || dispatch_loop(queue, callback, &subscribers, &thread_counters))?;
        let thread_id = thread.thread().id();
        let sink = EventSink { tx: Some(tx), queued, lost: 0, counters };
        Ok((Dispatcher { thread: Some(thread), thread_id }, sink))
    }

    /// Whether the caller is the dispatch thread (a callback calling in).
    pub(crate) fn is_current(&self) -> bool {
        std::thread::current().id() == self.thread_id
    }

    /// Waits until every queued event has been delivered. The sink must be
    /// closed first, or this waits forever.
    pub(crate) fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            // The loop catches callback panics, so the thread itself ends cleanly.
            let _ = t.join();
        }
    }
}

fn dispatch_loop(rx: EventQueue, callback: Option<Callback>, subscribers: &Subscribers, counters: &DispatchCounters) {
    match callback {
        Some(Callback::Batch(cb)) => batch_loop(rx, cb, subscribers, counters),
        Some(Callback::Each(cb)) => each_loop(rx, Some(cb), subscribers, counters),
        None => each_loop(rx, None, subscribers, counters),
    }
}

fn each_loop(rx: EventQueue, mut callback: Option<EachFn>, subscribers: &Subscribers, counters: &DispatchCounters) {
    while let Some(event) = rx.recv() {
        if subscribers.stopped.load(Ordering::Acquire) {
            break;
        }
        if let Some(cb) = callback.as_mut() {
            if catch_unwind(AssertUnwindSafe(|| cb(&event))).is_err() {
                report_panic(counters);
            }
        }
        feed_streams(subscribers, &event, counters);
    }
}

/// Waits for one event, takes what else is queued (up to [`MAX_BATCH`]),
/// hands the batch over in one call, then feeds the streams in order.
fn batch_loop(rx: EventQueue, mut callback: BatchFn, subscribers: &Subscribers, counters: &DispatchCounters) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv() {
        batch.push(first);
        rx.take_waiting(&mut batch, MAX_BATCH - 1);
        if subscribers.stopped.load(Ordering::Acquire) {
            break;
        }
        if catch_unwind(AssertUnwindSafe(|| callback(&batch))).is_err() {
            report_panic(counters);
        }
        for event in batch.drain(..) {
            feed_streams(subscribers, &event, counters);
        }
    }
}

fn report_panic(counters: &DispatchCounters) {
    counters.callback_panics.fetch_add(1, Ordering::Relaxed);
    tracing::error!(target: "rumour", "an event callback panicked; the node keeps running");
}

fn feed_streams(subscribers: &Subscribers, event: &Event, counters: &DispatchCounters) {
    use tokio::sync::mpsc::error::TrySendError;
    let mut streams = subscribers.streams.lock().unwrap_or_else(|p| p.into_inner());
    streams.retain_mut(|feed| {
        if !feed.wants(event) {
            return !feed.tx.is_closed();
        }
        let tx = &feed.tx;
        let try_send = |e| match tx.try_send(e) {
            Ok(()) => Sent::Yes,
            Err(TrySendError::Full(_)) => Sent::Full,
            Err(TrySendError::Closed(_)) => Sent::Closed,
        };
        // Only this thread fills a stream, so its free capacity only grows.
        send_or_count(&mut feed.lost, &counters.events_lost, event.clone(), || tx.capacity(), try_send)
    });
}

/// What a non-blocking send on a bounded channel came to.
enum Sent {
    Yes,
    Full,
    Closed,
}

/// The one overflow rule, for the dispatch queue and every stream alike:
/// never wait; report a loss not yet reported just ahead of the next event
/// that fits, the two going in together (a report alone in the last free
/// slot would be followed by another report instead); drop and count what
/// does not fit. `room` is free space the sends that follow are sure to
/// find. False once the receiver is gone.
fn send_or_count(
    lost: &mut u64,
    counter: &AtomicU64,
    event: Event,
    room: impl Fn() -> usize,
    mut try_send: impl FnMut(Event) -> Sent,
) -> bool {
    let drop_one = |lost: &mut u64| {
        *lost += 1;
        counter.fetch_add(1, Ordering::Relaxed);
        true
    };
    if *lost > 0 {
        if room() < 2 {
            return drop_one(lost);
        }
        match try_send(Event::EventsLost(*lost)) {
            Sent::Yes => *lost = 0,
            Sent::Full => return drop_one(lost),
            Sent::Closed => return false,
        }
    }
    match try_send(event) {
        Sent::Yes => true,
        Sent::Full => drop_one(lost),
        Sent::Closed => false,
    }
}

impl Subscribers {
    /// A new async stream of the events from now on; with a `prefix`, only
    /// the replicated map's changes to keys under it.
    pub(crate) fn subscribe(&self, prefix: Option<String>) -> EventStream {
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_DEPTH);
        self.streams.lock().unwrap_or_else(|p| p.into_inner()).push(StreamFeed { tx, lost: 0, prefix });
        EventStream { rx }
    }

    /// Ends every stream (after the events already in them), reporting a
    /// loss not yet reported where there is room for it.
    pub(crate) fn close_streams(&self) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        for feed in streams.iter().filter(|f| f.lost > 0) {
            let _ = feed.tx.try_send(Event::EventsLost(feed.lost));
        }
        streams.clear();
    }
}

/// The node's events as an async stream (see [`super::Node::events`]). It
/// ends when the node shuts down. A stream that is not read keeps up to
/// 4096 events, then reports what it dropped as [`Event::EventsLost`].
#[derive(Debug)]
pub struct EventStream {
    rx: tokio::sync::mpsc::Receiver<Event>,
}

impl EventStream {
    /// The next event, or `None` once the node has shut down.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is waiting, without blocking.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }

    /// Waits for the next event from a plain thread (not inside an async
    /// task), up to `timeout`.
    pub fn next_blocking(&mut self, timeout: std::time::Duration) -> Option<Event> {
        super::block::block_on_timeout(self.rx.recv(), timeout).flatten()
    }
}

impl futures_core::Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(i: u32) -> Event {
        Event::MemberUpdated(crate::proto::Member {
            name: format!("n{i}").into(),
            addr: "127.0.0.1:1".parse().unwrap(),
            meta: vec![],
            state: crate::proto::MemberState::Alive,
            incarnation: i,
            protocol: [1, 5, 2, 0, 0, 0],
        })
    }

    /// A callback that blocks on its first event until released, and keeps
    /// what it is given.
    fn stalling_callback() -> (Callback, std::sync::mpsc::Sender<()>, Arc<Mutex<Vec<Event>>>) {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        let callback = Callback::Each(Box::new(move |e: &Event| {
            if kept.lock().unwrap().is_empty() {
                let _ = release_rx.recv();
            }
            kept.lock().unwrap().push(e.clone());
        }));
        (callback, release_tx, seen)
    }

    #[test]
    fn a_stalled_callback_loses_events_and_is_told_how_many() {
        let (callback, release_tx, seen) = stalling_callback();
        let counters = Arc::new(DispatchCounters::default());
        let (mut dispatcher, mut sink) =
            Dispatcher::start("t", Some(callback), Arc::default(), counters.clone()).unwrap();
        let total = EVENT_QUEUE_DEPTH as u32 + 500;
        for i in 0..total {
            sink.push(update(i));
        }
        release_tx.send(()).unwrap();
        let start = std::time::Instant::now();
        while seen.lock().unwrap().len() < EVENT_QUEUE_DEPTH && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        sink.push(update(total)); // the loss report goes in front of it
        sink.close();
        dispatcher.join();
        let seen = seen.lock().unwrap();
        let lost: u64 = seen.iter().filter_map(|e| if let Event::EventsLost(n) = e { Some(*n) } else { None }).sum();
        let delivered = seen.iter().filter(|e| matches!(e, Event::MemberUpdated(_))).count() as u64;
        assert!(lost > 0, "some events were dropped");
        assert_eq!(delivered + lost, u64::from(total) + 1, "every event is either delivered or counted");
        assert_eq!(counters.events_lost.load(Ordering::Relaxed), lost);
        assert!(matches!(seen.last(), Some(Event::MemberUpdated(m)) if m.incarnation == total), "the last one arrives");
    }

    #[test]
    fn an_unread_stream_loses_events_and_is_told_at_close() {
        let subscribers = Subscribers::default();
        let counters = DispatchCounters::default();
        let mut stream = subscribers.subscribe(None);
        for i in 0..STREAM_DEPTH as u32 + 5 {
            feed_streams(&subscribers, &update(i), &counters);
        }
        assert_eq!(counters.events_lost.load(Ordering::Relaxed), 5);
        assert!(stream.try_next().is_some(), "the reader makes room for one");
        subscribers.close_streams();
        let mut last = None;
        while let Some(e) = stream.try_next() {
            last = Some(e);
        }
        assert_eq!(last, Some(Event::EventsLost(5)));
    }

    #[test]
    fn a_loss_not_yet_reported_is_reported_at_close() {
        let (callback, release_tx, seen) = stalling_callback();
        let (mut dispatcher, mut sink) =
            Dispatcher::start("t", Some(callback), Arc::default(), Arc::default()).unwrap();
        for i in 0..EVENT_QUEUE_DEPTH as u32 + 10 {
            sink.push(update(i));
        }
        release_tx.send(()).unwrap();
        sink.close();
        dispatcher.join();
        assert!(matches!(seen.lock().unwrap().last(), Some(Event::EventsLost(n)) if *n > 0));
    }

    /// Every batch a callback was given, in order.
    type Batches = Arc<Mutex<Vec<Vec<Event>>>>;

    /// A batch callback that blocks on its first batch until released, and
    /// keeps every batch it is given.
    fn stalling_batch_callback() -> (Callback, std::sync::mpsc::Sender<()>, Batches) {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        let callback = Callback::Batch(Box::new(move |batch: &[Event]| {
            if kept.lock().unwrap().is_empty() {
                let _ = release_rx.recv();
            }
            kept.lock().unwrap().push(batch.to_vec());
        }));
        (callback, release_tx, seen)
    }

    fn incarnations(events: &[Event]) -> Vec<u32> {
        events.iter().filter_map(|e| if let Event::MemberUpdated(m) = e { Some(m.incarnation) } else { None }).collect()
    }

    #[test]
    fn a_batch_callback_gets_what_queued_while_it_ran_in_one_call_in_order() {
        let (callback, release_tx, seen) = stalling_batch_callback();
        let subscribers = Arc::new(Subscribers::default());
        let mut stream = subscribers.subscribe(None);
        let (mut dispatcher, mut sink) =
            Dispatcher::start("t", Some(callback), subscribers.clone(), Arc::default()).unwrap();
        for i in 0..500 {
            sink.push(update(i));
        }
        release_tx.send(()).unwrap();
        sink.close();
        dispatcher.join();
        let batches = seen.lock().unwrap();
        // The first call holds what was queued when the thread woke; the
        // second, everything queued while the first was stalled.
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert!(batches.len() <= 2, "at most two crossings for 500 events: {sizes:?}");
        assert!(batches.iter().all(|b| !b.is_empty()));
        let all: Vec<Event> = batches.concat();
        assert_eq!(incarnations(&all), (0..500).collect::<Vec<_>>(), "every event once, in order");
        let mut streamed = Vec::new();
        while let Some(e) = stream.try_next() {
            streamed.push(e);
        }
        assert_eq!(incarnations(&streamed), (0..500).collect::<Vec<_>>(), "streams see the same order");
    }

    #[test]
    fn a_batch_is_never_larger_than_max_batch() {
        let (callback, release_tx, seen) = stalling_batch_callback();
        let (mut dispatcher, mut sink) =
            Dispatcher::start("t", Some(callback), Arc::default(), Arc::default()).unwrap();
        for i in 0..EVENT_QUEUE_DEPTH as u32 {
            sink.push(update(i));
        }
        release_tx.send(()).unwrap();
        sink.close();
        dispatcher.join();
        let batches = seen.lock().unwrap();
        assert!(batches.iter().all(|b| b.len() <= MAX_BATCH));
        assert_eq!(incarnations(&batches.concat()).len(), EVENT_QUEUE_DEPTH, "nothing lost within the queue's depth");
    }

    #[test]
    fn a_stalled_batch_callback_loses_events_and_is_told_how_many() {
        let (callback, release_tx, seen) = stalling_batch_callback();
        let counters = Arc::new(DispatchCounters::default());
        let (mut dispatcher, mut sink) =
            Dispatcher::start("t", Some(callback), Arc::default(), counters.clone()).unwrap();
        // The stalled thread holds at most one batch; the queue the rest.
        let total = (EVENT_QUEUE_DEPTH + MAX_BATCH) as u32 + 500;
        for i in 0..total {
            sink.push(update(i));
        }
        release_tx.send(()).unwrap();
        let start = std::time::Instant::now();
        let delivered = |seen: &Mutex<Vec<Vec<Event>>>| incarnations(&seen.lock().unwrap().concat()).len();
        while delivered(&seen) < EVENT_QUEUE_DEPTH && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        sink.push(update(total)); // a loss not yet reported goes in front of it
        sink.close();
        dispatcher.join();
        let all = seen.lock().unwrap().concat();
        let lost: u64 = all.iter().filter_map(|e| if let Event::EventsLost(n) = e { Some(*n) } else { None }).sum();
        let got = incarnations(&all);
        assert!(lost > 0, "some events were dropped");
        assert_eq!(got.len() as u64 + lost, u64::from(total) + 1, "every event is either delivered or counted");
        assert_eq!(counters.events_lost.load(Ordering::Relaxed), lost);
        assert!(got.windows(2).all(|w| w[0] < w[1]), "what arrives arrives in order");
        assert!(matches!(all.last(), Some(Event::MemberUpdated(m)) if m.incarnation == total), "the last one arrives");
        // Reported when room came: just ahead of the next event that fit.
        let reports: Vec<usize> = (0..all.len()).filter(|&i| matches!(all[i], Event::EventsLost(_))).collect();
        assert!(reports.iter().all(|&i| matches!(all.get(i + 1), Some(Event::MemberUpdated(_)))), "{reports:?}");
    }

    #[test]
    fn a_loss_report_goes_in_only_together_with_the_event_after_it() {
        // A bounded queue with `free` slots left.
        let queue = std::cell::RefCell::new(Vec::new());
        let free = std::cell::Cell::new(1usize);
        let try_send = |e| {
            if free.get() == 0 {
                return Sent::Full;
            }
            free.set(free.get() - 1);
            queue.borrow_mut().push(e);
            Sent::Yes
        };
        let counter = AtomicU64::new(0);
        let mut lost = 3;
        // One slot: a report there would leave the event no room.
        assert!(send_or_count(&mut lost, &counter, update(0), || free.get(), try_send));
        assert!(queue.borrow().is_empty(), "no report without room for the event too");
        assert_eq!((lost, counter.load(Ordering::Relaxed)), (4, 1));
        free.set(2);
        assert!(send_or_count(&mut lost, &counter, update(1), || free.get(), try_send));
        let sent = queue.borrow();
        assert!(matches!(sent[..], [Event::EventsLost(4), Event::MemberUpdated(ref m)] if m.incarnation == 1));
        assert_eq!(lost, 0);
    }

    #[test]
    fn a_panicking_batch_callback_counts_once_per_batch_and_the_next_batch_still_comes() {
        let counters = Arc::new(DispatchCounters::default());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let kept = calls.clone();
        let callback = Callback::Batch(Box::new(move |batch: &[Event]| {
            kept.lock().unwrap().push(batch.len());
            if kept.lock().unwrap().len() == 1 {
                panic!("first batch");
            }
        }));
        let (mut dispatcher, mut sink) =
            Dispatcher::start("t", Some(callback), Arc::default(), counters.clone()).unwrap();
        sink.push(update(0));
        let start = std::time::Instant::now();
        while calls.lock().unwrap().is_empty() && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        sink.push(update(1));
        sink.close();
        dispatcher.join();
        assert_eq!(counters.callback_panics.load(Ordering::Relaxed), 1);
        assert_eq!(calls.lock().unwrap().iter().sum::<usize>(), 2);
    }
}
