//! TCP exchanges: a peer's stream to us, ours to a peer, and the
//! resolution of seed names. Each runs as its own task under a timeout and
//! a size limit, holding one of a fixed number of permits, so a peer that
//! stalls or sends garbage costs bounded memory and time. The bytes are
//! judged by the protocol task, the only decoder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::driver::{IncomingStep, Input, RuntimeCounters};
use crate::proto::{with_default_port, Resolved, SeedFailure, StreamRequest};
use crate::wire::MAX_PUSH_STATE_BYTES;

/// Largest stream message read (memberlist's `maxPushStateBytes`, plus
/// room for the layers' headers).
pub(crate) const MAX_STREAM_BYTES: usize = MAX_PUSH_STATE_BYTES + 64;

const READ_CHUNK: usize = 64 * 1024;

enum Ended {
    Closed,
    Oversized,
    Io(std::io::Error),
    Gone,
}

/// Reads a peer's stream until the protocol has a whole message, answers,
/// closes.
pub(crate) async fn serve_incoming(
    mut conn: TcpStream,
    from: SocketAddr,
    timeout: Duration,
    inputs: mpsc::Sender<Input>,
    counters: Arc<RuntimeCounters>,
    slots: Arc<Semaphore>,
    _queued: OwnedSemaphorePermit,
) {
    let exchange = async {
        // The wait for a slot counts against the same timeout.
        let _slot = slots.acquire_owned().await.map_err(|_| Ended::Gone)?;
        let mut buf = Vec::new();
        loop {
            read_some(&mut conn, &mut buf).await?;
            let (back, answer) = oneshot::channel();
            inputs.send(Input::Incoming { from, buf, back }).await.map_err(|_| Ended::Gone)?;
            match answer.await.map_err(|_| Ended::Gone)? {
                IncomingStep::NeedMore(b) => buf = b,
                IncomingStep::Done(reply) => {
                    if let Some(reply) = reply {
                        conn.write_all(&reply).await.map_err(Ended::Io)?;
                    }
                    let _ = conn.shutdown().await;
                    return Ok(());
                }
            }
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
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
        Ended::Oversized => RuntimeCounters::bump(&counters.streams_oversized),
        Ended::Closed | Ended::Io(_) => RuntimeCounters::bump(&counters.streams_rejected),
        Ended::Gone => {}
    }
}

fn describe(ended: &Ended) -> String {
    match ended {
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
