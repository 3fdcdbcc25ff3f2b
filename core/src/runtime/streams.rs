//! TCP exchanges: a peer's stream to us, ours to a peer, and the
//! resolution of seed names. Each runs as its own task under a timeout and
//! a size limit, holding one of a fixed number of permits, so a peer that
//! stalls or sends garbage costs bounded memory and time. The bytes are
//! judged by the protocol task, the only decoder.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::admission::Ticket;
use super::driver::{IncomingStep, Input, RuntimeCounters};
use crate::proto::{with_default_port, Resolved, SeedFailure, StreamRequest};
use crate::wire::MAX_PUSH_STATE_BYTES;

/// Largest stream message read (memberlist's `maxPushStateBytes`, plus
/// room for the layers' headers).
pub(crate) const MAX_STREAM_BYTES: usize = MAX_PUSH_STATE_BYTES + 64;

const READ_CHUNK: usize = 64 * 1024;

enum Ended {
    /// Nothing arrived within the first-byte deadline.
    Silent,
    Closed,
    Oversized,
    Io(std::io::Error),
    Gone,
}

/// How long a peer's stream may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    /// For its first bytes.
    pub(crate) first_byte: Duration,
    /// For the whole exchange.
    pub(crate) exchange: Duration,
}

/// Reads a peer's stream until the protocol has a whole message, answers,
/// closes. The ticket is its place among the held connections (see
/// `admission`): it reports when the peer last sent bytes, and frees the
/// place when this ends. Reading the first chunk needs no slot: most
/// messages fit in it, so a flood of connections waiting for slots cannot
/// hold up real peers; a longer message takes one of the `slots` for the
/// rest, which bounds the memory of large transfers.
pub(crate) async fn serve_incoming(
    mut conn: TcpStream,
    from: SocketAddr,
    deadlines: Deadlines,
    inputs: mpsc::Sender<Input>,
    counters: Arc<RuntimeCounters>,
    slots: Arc<Semaphore>,
    ticket: Ticket,
) {
    let exchange = async {
        let mut buf = Vec::new();
        match tokio::time::timeout(deadlines.first_byte, read_some(&mut conn, &mut buf)).await {
            Ok(read) => read?,
            Err(_) => return Err(Ended::Silent),
        }
        ticket.heard();
        let mut slot = None;
        loop {
            let (back, answer) = oneshot::channel();
            ticket.set_busy(true);
            inputs.send(Input::Incoming { from, buf, back }).await.map_err(|_| Ended::Gone)?;
            let step = answer.await.map_err(|_| Ended::Gone)?;
            ticket.set_busy(false);
            match step {
                IncomingStep::NeedMore(b) => {
                    buf = b;
                    if slot.is_none() {
                        slot = Some(slots.clone().acquire_owned().await.map_err(|_| Ended::Gone)?);
                    }
                    read_some(&mut conn, &mut buf).await?;
                    ticket.heard();
                }
                IncomingStep::Done(reply) => {
                    if let Some(reply) = reply {
                        conn.write_all(&reply).await.map_err(Ended::Io)?;
                        counters.tcp_bytes_sent.fetch_add(reply.len() as u64, Ordering::Relaxed);
                    }
                    let _ = conn.shutdown().await;
                    return Ok(());
                }
            }
        }
    };
    match tokio::time::timeout(deadlines.exchange, exchange).await {
        Ok(Ok(())) => {}
        Ok(Err(ended)) => count_end(&counters, &ended),
        Err(_) => {
            RuntimeCounters::bump(&counters.streams_timed_out);
            tracing::debug!(target: "rumour", peer = %from, "incoming stream timed out");
        }
    }
}

/// Opens our stream, writes it, and reads the reply if one is expected.
pub(crate) async fn open_outgoing(
    req: StreamRequest,
    inputs: mpsc::Sender<Input>,
    counters: Arc<RuntimeCounters>,
    _permit: OwnedSemaphorePermit,
) {
    let id = req.id;
    let exchange = async {
        let mut conn = TcpStream::connect(req.to).await.map_err(Ended::Io)?;
        conn.write_all(&req.payload).await.map_err(Ended::Io)?;
        counters.tcp_bytes_sent.fetch_add(req.payload.len() as u64, Ordering::Relaxed);
        if !req.expects_reply {
            let _ = conn.shutdown().await;
            return Ok(());
        }
        let mut buf = Vec::new();
        loop {
            read_some(&mut conn, &mut buf).await?;
            let (back, answer) = oneshot::channel();
            inputs.send(Input::Reply { id, buf, back }).await.map_err(|_| Ended::Gone)?;
            match answer.await.map_err(|_| Ended::Gone)? {
                Some(b) => buf = b,
                None => return Ok(()),
            }
        }
    };
    let reason = match tokio::time::timeout(req.timeout, exchange).await {
        Ok(Ok(())) => return,
        Ok(Err(Ended::Gone)) => return,
        Ok(Err(ended)) => {
            count_end(&counters, &ended);
            RuntimeCounters::bump(&counters.streams_failed);
            describe(&ended)
        }
        Err(_) => {
            RuntimeCounters::bump(&counters.streams_timed_out);
            RuntimeCounters::bump(&counters.streams_failed);
            format!("no answer within {:?}", req.timeout)
        }
    };
    let _ = inputs.send(Input::Failed { id, reason }).await;
}

async fn read_some(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), Ended> {
    let room = MAX_STREAM_BYTES.saturating_sub(buf.len());
    if room == 0 {
        return Err(Ended::Oversized);
    }
    let old = buf.len();
    buf.resize(old + READ_CHUNK.min(room), 0);
    let n = conn.read(&mut buf[old..]).await.map_err(Ended::Io);
    let n = match n {
        Ok(n) => n,
        Err(e) => {
            buf.truncate(old);
            return Err(e);
        }
    };
    buf.truncate(old + n);
    if n == 0 {
        return Err(Ended::Closed);
    }
    Ok(())
}

fn count_end(counters: &RuntimeCounters, ended: &Ended) {
    match ended {
        Ended::Silent => RuntimeCounters::bump(&counters.streams_silent),
        Ended::Oversized => RuntimeCounters::bump(&counters.streams_oversized),
        Ended::Closed | Ended::Io(_) => RuntimeCounters::bump(&counters.streams_rejected),
        Ended::Gone => {}
    }
}

fn describe(ended: &Ended) -> String {
    match ended {
        Ended::Silent => "the peer sent nothing in time".into(),
        Ended::Closed => "the peer closed the connection before a whole reply".into(),
        Ended::Oversized => format!("the reply exceeds {MAX_STREAM_BYTES} bytes"),
        Ended::Io(e) => e.to_string(),
        Ended::Gone => "the node is shutting down".into(),
    }
}

/// The longest wait for one name's records; a resolver that hangs fails
/// that name for this attempt.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves "host:port" names to every address they have.
pub(crate) async fn resolve_names(names: &[String]) -> Vec<Resolved> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let addrs = match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(name.as_str())).await {
            Ok(Ok(found)) => {
                let mut unique: Vec<SocketAddr> = Vec::new();
                for a in found {
                    if !unique.contains(&a) {
                        unique.push(a);
                    }
                }
                Ok(unique)
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {RESOLVE_TIMEOUT:?}")),
        };
        out.push(Resolved { name: name.clone(), addrs });
    }
    out
}

/// Resolves "host:port" seeds (a missing port means 7946) to addresses,
/// for an explicit join.
pub(crate) async fn resolve_seeds(seeds: &[String]) -> (Vec<(String, SocketAddr)>, Vec<SeedFailure>) {
    let (mut addrs, mut failures) = (Vec::new(), Vec::new());
    let names: Vec<String> = seeds.iter().map(|s| with_default_port(s)).collect();
    for (seed, resolved) in seeds.iter().zip(resolve_names(&names).await) {
        match resolved.addrs {
            Ok(found) if found.is_empty() => {
                failures.push(SeedFailure { seed: seed.clone(), reason: "resolves to no address".into() })
            }
            Ok(found) => addrs.extend(found.into_iter().map(|a| (seed.clone(), a))),
            Err(e) => failures.push(SeedFailure { seed: seed.clone(), reason: format!("cannot resolve: {e}") }),
        }
    }
    (addrs, failures)
}
