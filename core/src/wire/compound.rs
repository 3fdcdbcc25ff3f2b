//! Compound messages: `[7][count u8][count x u16 BE lengths][parts]`
//! (`makeCompoundMessage` / `decodeCompoundMessage` in `util.go`).

use super::{msg_type, DecodeError};

/// Most parts one compound message can hold (the count is one byte).
pub const MAX_PARTS: usize = u8::MAX as usize;

/// Packs messages into one compound message, type byte included.
///
/// Callers keep to [`MAX_PARTS`] parts of at most `u16::MAX` bytes each; the
/// packet builder in `proto` never asks for more, so this is checked only in
/// debug builds.
pub fn encode<P: AsRef<[u8]>>(parts: &[P]) -> Vec<u8> {
    debug_assert!(parts.len() <= MAX_PARTS);
    let body: usize = parts.iter().map(|p| p.as_ref().len()).sum();
    let mut out = Vec::with_capacity(2 + 2 * parts.len() + body);
    out.push(msg_type::COMPOUND);
    out.push(parts.len() as u8);
    for p in parts {
        debug_assert!(p.as_ref().len() <= u16::MAX as usize);
        out.extend_from_slice(&(p.as_ref().len() as u16).to_be_bytes());
    }
    for p in parts {
        out.extend_from_slice(p.as_ref());
    }
    out
}

/// Splits a compound body (after the type byte) into its parts.
///
/// Like Go, parts whose declared length runs past the end are dropped and
/// counted rather than failing the whole message; the count comes back as
/// the second value.
pub fn decode(body: &[u8]) -> Result<(Vec<&[u8]>, usize), DecodeError> {
    let (&count, rest) = body.split_first().ok_or(DecodeError::Truncated)?;
    let count = count as usize;
    if rest.len() < count * 2 {
        return Err(DecodeError::Truncated);
    }
    let (lengths, mut data) = rest.split_at(count * 2);
    let mut parts = Vec::with_capacity(count);
    for (i, len) in lengths.chunks_exact(2).enumerate() {
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        if data.len() < len {
            return Ok((parts, count - i));
        }
        let (part, tail) = data.split_at(len);
        parts.push(part);
        data = tail;
    }
    Ok((parts, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_round_trips() {
        let parts = vec![vec![1, 2, 3], vec![], vec![9; 300]];
        let enc = encode(&parts);
        assert_eq!(&enc[..4], &[7, 3, 0, 3]);
        let (got, truncated) = decode(&enc[1..]).unwrap();
        assert_eq!(truncated, 0);
        assert_eq!(got, parts.iter().map(|p| p.as_slice()).collect::<Vec<_>>());
    }

    #[test]
    fn truncated_parts_are_counted_not_fatal() {
        let mut enc = encode(&[vec![1], vec![2; 10]]);
        enc.truncate(enc.len() - 1);
        let (got, truncated) = decode(&enc[1..]).unwrap();
        assert_eq!(got, vec![&[1u8][..]]);
        assert_eq!(truncated, 1);
        assert_eq!(decode(&[5, 0]), Err(DecodeError::Truncated));
    }
}
