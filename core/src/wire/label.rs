//! Labels: `[244][len u8][label]` in front of every packet and stream, so
//! clusters sharing a network ignore each other (memberlist `label.go`). The
//! label is also the additional data of the encryption, so a sender cannot
//! move a ciphertext between clusters.

use super::{msg_type, DecodeError, LABEL_MAX_SIZE};

/// Prefixes `buf` with the label header; an empty label adds nothing.
pub fn add(label: &str, buf: &[u8]) -> Vec<u8> {
    if label.is_empty() {
        return buf.to_vec();
    }
    let mut out = Vec::with_capacity(2 + label.len() + buf.len());
    out.extend_from_slice(&header(label));
    out.extend_from_slice(buf);
    out
}

/// The header bytes alone (for streams, written before anything else).
pub fn header(label: &str) -> Vec<u8> {
    debug_assert!(!label.is_empty() && label.len() <= LABEL_MAX_SIZE);
    let mut out = Vec::with_capacity(2 + label.len());
    out.push(msg_type::HAS_LABEL);
    out.push(label.len() as u8);
    out.extend_from_slice(label.as_bytes());
    out
}

/// Splits off a label header if there is one: `(label, rest)`.
pub fn strip(buf: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    match buf {
        [msg_type::HAS_LABEL, len, rest @ ..] => {
            let len = *len as usize;
            if len == 0 {
                return Err(DecodeError::MissingField("label"));
            }
            if rest.len() < len {
                return Err(DecodeError::Truncated);
            }
            Ok(rest.split_at(len))
        }
        [msg_type::HAS_LABEL] => Err(DecodeError::Truncated),
        _ => Ok((&[], buf)),
    }
}

/// Strips the label and checks it is ours (both empty counts as a match).
pub fn check<'a>(ours: &str, buf: &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let (theirs, rest) = strip(buf)?;
    if theirs != ours.as_bytes() {
        return Err(DecodeError::LabelMismatch {
            expected: ours.to_string(),
            got: String::from_utf8_lossy(theirs).into_owned(),
        });
    }
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_must_match() {
        let framed = add("prod", b"\x00body");
        assert_eq!(&framed[..6], &[244, 4, b'p', b'r', b'o', b'd']);
        assert_eq!(check("prod", &framed).unwrap(), b"\x00body");
        assert!(matches!(check("dev", &framed), Err(DecodeError::LabelMismatch { .. })));
        assert!(matches!(check("prod", b"\x00body"), Err(DecodeError::LabelMismatch { .. })));
        assert_eq!(check("", b"\x00body").unwrap(), b"\x00body");
        assert_eq!(strip(&[244, 9, 1]), Err(DecodeError::Truncated));
        assert!(strip(&[244, 0]).is_err());
    }
}
