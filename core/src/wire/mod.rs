//! The HashiCorp memberlist wire format.
//!
//! Every packet or stream message is one type byte followed by a
//! MessagePack body ([`messages`]). Around that sit optional layers, outermost
//! first: a label ([`label`]), AES-GCM encryption ([`security`]), a CRC
//! ([`packet`]), LZW compression ([`lzw`], [`packet`]) and compound framing
//! ([`compound`]). The Go source (`net.go`, `util.go`, `security.go`) is the
//! specification; constants cite where they come from.
//!
//! Decoders return [`DecodeError`] and never panic on any input; lengths read
//! from the wire are checked before anything is allocated.

pub mod compound;
pub mod label;
pub mod lzw;
pub mod messages;
pub(crate) mod msgpack;
pub mod packet;
pub mod security;
pub mod stream;

pub use messages::{
    Ack, Alive, Dead, IndirectPing, Message, Nack, NodeStateKind, Ping, PushNodeState, PushNodeView, PushPullHeader,
    Suspect,
};
pub use security::{Keyring, KeyringError};

/// Message type bytes, from memberlist `net.go`. Append only: the numbers are
/// the protocol.
pub mod msg_type {
    /// Direct probe.
    pub const PING: u8 = 0;
    /// Probe through a helper (ping-req).
    pub const INDIRECT_PING: u8 = 1;
    /// Answer to a ping.
    pub const ACK_RESP: u8 = 2;
    /// Rumour: a member is suspected.
    pub const SUSPECT: u8 = 3;
    /// Rumour: a member is alive (also join and metadata updates).
    pub const ALIVE: u8 = 4;
    /// Rumour: a member is dead (or left, when it says so itself).
    pub const DEAD: u8 = 5;
    /// Full state exchange, over a stream.
    pub const PUSH_PULL: u8 = 6;
    /// Several messages in one packet.
    pub const COMPOUND: u8 = 7;
    /// Opaque user data.
    pub const USER: u8 = 8;
    /// Compressed payload.
    pub const COMPRESS: u8 = 9;
    /// Encrypted stream payload.
    pub const ENCRYPT: u8 = 10;
    /// A helper could not reach the target of an indirect ping.
    pub const NACK_RESP: u8 = 11;
    /// CRC32-checked packet.
    pub const HAS_CRC: u8 = 12;
    /// Error reply on a stream.
    pub const ERR: u8 = 13;
    /// Label (cluster name) header, newer memberlist (`label.go`).
    pub const HAS_LABEL: u8 = 244;
}

/// Largest node metadata memberlist accepts (`MetaMaxSize`, `net.go`).
pub const META_MAX_SIZE: usize = 512;
/// Largest push-pull state a peer may send (`maxPushStateBytes`, `net.go`).
pub const MAX_PUSH_STATE_BYTES: usize = 20 * 1024 * 1024;
/// Longest label (`label.go`: one length byte).
pub const LABEL_MAX_SIZE: usize = 255;
/// Compound header overhead assumed by memberlist (`compoundHeaderOverhead`).
pub const COMPOUND_HEADER_OVERHEAD: usize = 2;
/// Per-part overhead in a compound message (`compoundOverhead`).
pub const COMPOUND_OVERHEAD: usize = 2;
/// Overhead of the user message type byte (`userMsgOverhead`).
pub const USER_MSG_OVERHEAD: usize = 1;

/// Why bytes could not be decoded. Decoding has no side effects, so after any
/// of these nothing has changed; the caller drops the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did (for a stream: read more).
    #[error("input is truncated")]
    Truncated,
    /// A value of another MessagePack type stood where one was expected.
    #[error("expected {expected}, found type byte {found:#04x}")]
    UnexpectedType {
        /// What the decoder wanted.
        expected: &'static str,
        /// The type byte it found.
        found: u8,
    },
    /// A number does not fit the field it is for.
    #[error("value out of range for {0}")]
    OutOfRange(&'static str),
    /// A string field was not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// Nesting deeper than the decoder follows.
    #[error("input nests too deeply")]
    TooDeep,
    /// An unknown message type byte.
    #[error("unknown message type {0}")]
    UnknownMessageType(u8),
    /// A message type that may not appear here (a stream type in a packet, ...).
    #[error("message type {0} is not allowed here")]
    UnexpectedMessage(u8),
    /// A required field was absent.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// An address field was neither 4 nor 16 bytes.
    #[error("address of {0} bytes is neither IPv4 nor IPv6")]
    BadAddress(usize),
    /// The CRC did not match the payload.
    #[error("checksum mismatch")]
    BadChecksum,
    /// Compression used an unknown algorithm or a corrupt LZW stream.
    #[error("cannot decompress: {0}")]
    Decompress(&'static str),
    /// A payload exceeds a protocol limit.
    #[error("{what} of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Which payload.
        what: &'static str,
        /// Its declared or actual size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Decryption failed with every key, or the payload was malformed.
    #[error("cannot decrypt: {0}")]
    Decrypt(&'static str),
    /// Encrypted data arrived and no key is configured, or the reverse.
    #[error("encryption mismatch: {0}")]
    EncryptionMismatch(&'static str),
    /// The label did not match ours.
    #[error("label mismatch: expected {expected:?}, got {got:?}")]
    LabelMismatch {
        /// Our label.
        expected: String,
        /// Theirs (empty when none).
        got: String,
    },
}
