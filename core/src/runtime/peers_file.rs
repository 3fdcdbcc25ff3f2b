//! The peer file on disk (`Config::peers_file`): read once at start, and
//! written atomically (a temporary file beside it, then a rename) when its
//! content changed, at most every [`SAVE_EVERY`], and at leave and
//! shutdown. The format and what goes in it are the protocol's
//! ([`crate::proto::PeerSnapshot`]); a file that cannot be used is logged
//! and counted, and never stops the node.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use super::driver::RuntimeCounters;
use crate::proto::{PeerSnapshot, Proto, MAX_PEER_FILE_BYTES};

/// The most often the file is rewritten (only when its content changed).
pub(crate) const SAVE_EVERY: Duration = Duration::from_secs(3);

/// The peer file of a running node.
#[derive(Debug)]
pub(crate) struct PeersFile {
    path: PathBuf,
    /// What the file holds now, as far as we know.
    written: Vec<u8>,
    next_save: Instant,
    /// A write failed and was logged at warning level; later failures are
    /// logged at debug level (and counted).
    warned: bool,
}

impl PeersFile {
    /// Reads `path` into `proto` (its peers are tried with the seeds; the
    /// node continues above its old incarnation). Whatever is wrong with
    /// the file is logged and counted; the node starts regardless.
    pub(crate) fn open(path: &Path, proto: &mut Proto, now: Instant, errors: &AtomicU64) -> PeersFile {
        let file = PeersFile { path: path.to_path_buf(), written: Vec::new(), next_save: now, warned: false };
        match read(path) {
            Ok(None) => {
                tracing::info!(target: "rumour", path = %path.display(), "no peer file yet; it will be written")
            }
            Ok(Some(bytes)) => match PeerSnapshot::decode(&bytes).map(|s| proto.restore_peers(s, now)) {
                Ok(Ok(peers)) => {
                    tracing::info!(target: "rumour", path = %path.display(), peers, "peer file read; trying its peers with the seeds")
                }
                Ok(Err(e)) | Err(e) => {
                    RuntimeCounters::bump(errors);
                    tracing::warn!(target: "rumour", path = %path.display(), error = %e, "peer file ignored")
                }
            },
            Err(e) => {
                RuntimeCounters::bump(errors);
                tracing::warn!(target: "rumour", path = %path.display(), error = %e, "peer file ignored")
            }
        }
        file
    }

    /// When the next write may happen.
    pub(crate) fn next_save(&self) -> Instant {
        self.next_save
    }

    /// Writes `snapshot` if it differs from what the file holds.
    pub(crate) fn save(&mut self, snapshot: &PeerSnapshot, now: Instant, finally: bool, errors: &AtomicU64) {
        self.next_save = now + SAVE_EVERY;
        let bytes = snapshot.encode();
        if bytes == self.written {
            return;
        }
        match write_atomically(&self.path, &bytes) {
            Ok(()) => self.written = bytes,
            Err(e) => {
                RuntimeCounters::bump(errors);
                if self.warned && !finally {
                    tracing::debug!(target: "rumour", path = %self.path.display(), error = %e, "cannot write the peer file")
                } else {
                    self.warned = true;
                    tracing::warn!(target: "rumour", path = %self.path.display(), error = %e, "cannot write the peer file; a restart will rely on the seeds alone")
                }
            }
        }
    }
}

/// The file's bytes; `None` when it does not exist.
fn read(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if meta.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    if meta.len() > MAX_PEER_FILE_BYTES as u64 {
        return Err(std::io::Error::other(format!(
            "{} bytes; a peer file is at most {MAX_PEER_FILE_BYTES}",
            meta.len()
        )));
    }
    std::fs::read(path).map(Some)
}

/// A temporary file beside `path`, synced, then renamed over it: a crash
/// leaves the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
