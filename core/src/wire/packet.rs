//! Packet layers, in the order memberlist applies them when sending
//! (`rawSendMsgPacket` in `net.go`): compress (kept only when smaller), CRC
//! (for peers that speak protocol 5), encrypt, label. Receiving peels them
//! in reverse (`ingestPacket`), then splits compound and compressed bodies
//! into messages (`handleCommand`).

use super::messages::Message;
use super::security::{self, Keyring, NONCE_SIZE};
use super::{compound, label, lzw, msg_type, msgpack, DecodeError};

/// Largest body a compressed packet may expand to. A UDP datagram carries at
/// most 64 KiB; memberlist never compresses more than one into a packet.
pub const MAX_PACKET_DECOMPRESSED: usize = 64 * 1024;
/// How deep compound-in-compress-in-compound nesting is followed.
const MAX_NESTING: u32 = 4;

/// How one node wraps what it sends and checks what it receives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layers {
    /// Cluster label; empty for none.
    pub label: String,
    /// Encryption keys; `None` sends and expects plaintext.
    pub keyring: Option<Keyring>,
    /// Compress outgoing packets and streams (memberlist `EnableCompression`).
    pub compress: bool,
    /// Refuse plaintext when a keyring is set (`GossipVerifyIncoming`).
    pub verify_incoming: bool,
    /// Encrypt outgoing traffic when a keyring is set (`GossipVerifyOutgoing`).
    pub verify_outgoing: bool,
}

impl Layers {
    /// Bytes the layers add to a packet at most, beyond compression: the
    /// gossip packer subtracts this from the UDP buffer size, as memberlist
    /// subtracts `encryptOverhead`.
    pub fn packet_overhead(&self) -> usize {
        if self.encrypts() {
            security::ENCRYPT_OVERHEAD
        } else {
            0
        }
    }

    pub(crate) fn encrypts(&self) -> bool {
        self.keyring.is_some() && self.verify_outgoing
    }
}

/// Wraps a message (or compound message) for the wire.
pub fn seal(layers: &Layers, mut payload: Vec<u8>, crc: bool, nonce: [u8; NONCE_SIZE]) -> Vec<u8> {
    if layers.compress {
        let c = compress_message(&payload);
        if c.len() < payload.len() {
            payload = c;
        }
    }
    if crc {
        let sum = crc32fast::hash(&payload);
        let mut framed = Vec::with_capacity(payload.len() + 5);
        framed.push(msg_type::HAS_CRC);
        framed.extend_from_slice(&sum.to_be_bytes());
        framed.extend_from_slice(&payload);
        payload = framed;
    }
    if let (Some(ring), true) = (&layers.keyring, layers.verify_outgoing) {
        payload = security::encrypt(ring, nonce, &payload, layers.label.as_bytes());
    }
    label::add(&layers.label, &payload)
}

/// `[9]` + msgpack `{Algo: 0, Buf: lzw}` (`compressPayload`).
pub(crate) fn compress_message(payload: &[u8]) -> Vec<u8> {
    let buf = lzw::compress(payload);
    let mut w = msgpack::Writer::with_type(msg_type::COMPRESS);
    w.map_len(2);
    w.field_uint("Algo", 0);
    w.field_raw("Buf", &buf);
    w.buf
}

/// Reads a compress body (after its type byte); returns the inner message
/// and how many bytes of `body` the wrapper used.
pub(crate) fn decompress_message(body: &[u8], limit: usize) -> Result<(Vec<u8>, usize), DecodeError> {
    let mut r = msgpack::Reader::new(body);
    let n = r.map_len()?;
    let (mut algo, mut buf) = (None, None);
    for _ in 0..n {
        match r.raw()? {
            b"Algo" => algo = Some(r.uint()?),
            b"Buf" => buf = Some(r.raw()?),
            _ => r.skip_value()?,
        }
    }
    if algo.ok_or(DecodeError::MissingField("Algo"))? != 0 {
        return Err(DecodeError::Decompress("unknown compression algorithm"));
    }
    let out = lzw::decompress(buf.ok_or(DecodeError::MissingField("Buf"))?, limit)?;
    Ok((out, r.position()))
}

/// Peels label, encryption and CRC off a received packet.
pub fn open(layers: &Layers, packet: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let body = label::check(&layers.label, packet)?;
    let plain;
    let mut body = match &layers.keyring {
        Some(ring) => match security::decrypt(ring, body, layers.label.as_bytes()) {
            Ok(p) => {
                plain = p;
                &plain[..]
            }
            Err(_) if !layers.verify_incoming => body,
            Err(e) => return Err(e),
        },
        None => body,
    };
    if body.len() >= 5 && body[0] == msg_type::HAS_CRC {
        let expected = u32::from_be_bytes([body[1], body[2], body[3], body[4]]);
        if crc32fast::hash(&body[5..]) != expected {
            return Err(DecodeError::BadChecksum);
        }
        body = &body[5..];
    }
    Ok(body.to_vec())
}

/// Splits an opened packet body into messages, following compound and
/// compressed wrappers. Parts that fail to decode are skipped, as memberlist
/// skips them; their errors are returned alongside so they can be counted.
pub fn split(body: &[u8]) -> (Vec<Message>, Vec<DecodeError>) {
    let mut msgs = Vec::new();
    let mut errors = Vec::new();
    split_into(body, 0, &mut msgs, &mut errors);
    (msgs, errors)
}

fn split_into(body: &[u8], depth: u32, msgs: &mut Vec<Message>, errors: &mut Vec<DecodeError>) {
    if depth > MAX_NESTING {
        errors.push(DecodeError::TooDeep);
        return;
    }
    let Some((&ty, rest)) = body.split_first() else {
        errors.push(DecodeError::Truncated);
        return;
    };
    match ty {
        msg_type::COMPOUND => match compound::decode(rest) {
            Ok((parts, truncated)) => {
                for p in parts {
                    split_into(p, depth + 1, msgs, errors);
                }
                if truncated > 0 {
                    errors.push(DecodeError::Truncated);
                }
            }
            Err(e) => errors.push(e),
        },
        msg_type::COMPRESS => match decompress_message(rest, MAX_PACKET_DECOMPRESSED) {
            Ok((inner, _)) => split_into(&inner, depth + 1, msgs, errors),
            Err(e) => errors.push(e),
        },
        _ => match Message::decode(body) {
            Ok(m) => msgs.push(m),
            Err(e) => errors.push(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::messages::{Nack, Suspect};

    fn sample() -> Vec<Message> {
        vec![
            Message::Nack(Nack { seq_no: 1 }),
            Message::Suspect(Suspect { incarnation: 2, node: "node-with-a-long-name".repeat(3), from: "b".into() }),
            Message::User(vec![0; 200]),
        ]
    }

    fn layers(keyed: bool, compress: bool, label: &str) -> Layers {
        Layers {
            label: label.into(),
            keyring: keyed.then(|| Keyring::new(&[5; 16], &[]).unwrap()),
            compress,
            verify_incoming: true,
            verify_outgoing: true,
        }
    }

    #[test]
    fn every_layer_combination_round_trips() {
        let parts: Vec<Vec<u8>> = sample().iter().map(Message::encode).collect();
        let body = compound::encode(&parts);
        for keyed in [false, true] {
            for compress in [false, true] {
                for crc in [false, true] {
                    for label in ["", "blue"] {
                        let l = layers(keyed, compress, label);
                        let wire = seal(&l, body.clone(), crc, [9; 12]);
                        let opened = open(&l, &wire).unwrap();
                        let (msgs, errs) = split(&opened);
                        assert!(errs.is_empty(), "{errs:?}");
                        assert_eq!(msgs, sample(), "keyed={keyed} compress={compress} crc={crc} label={label}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_corrupted_crc_packet_is_rejected() {
        let l = layers(false, false, "");
        let mut wire = seal(&l, Message::Nack(Nack { seq_no: 1 }).encode(), true, [0; 12]);
        let last = wire.len() - 1;
        wire[last] ^= 1;
        assert_eq!(open(&l, &wire), Err(DecodeError::BadChecksum));
    }

    #[test]
    fn plaintext_is_refused_when_keys_are_set_unless_verification_is_off() {
        let mut l = layers(true, false, "");
        let plain = Message::Nack(Nack { seq_no: 1 }).encode();
        assert!(open(&l, &plain).is_err());
        l.verify_incoming = false;
        assert_eq!(open(&l, &plain).unwrap(), plain);
    }

    #[test]
    fn one_bad_part_does_not_hide_the_others() {
        let body = compound::encode(&[vec![200, 1], Message::Nack(Nack { seq_no: 4 }).encode()]);
        let (msgs, errs) = split(&body);
        assert_eq!(msgs, vec![Message::Nack(Nack { seq_no: 4 })]);
        assert_eq!(errs, vec![DecodeError::UnknownMessageType(200)]);
    }
}
