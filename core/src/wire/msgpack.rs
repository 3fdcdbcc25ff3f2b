//! The subset of MessagePack that memberlist speaks.
//!
//! Go's `go-msgpack` (the codec memberlist uses, with a default
//! `MsgpackHandle`) writes structs as maps keyed by field name, strings and
//! byte slices as old-spec "raw" (fixraw, raw16, raw32; never str8 or bin),
//! and integers in their smallest form. The writer here produces exactly that;
//! the reader also accepts str8 and the bin family, which newer encoders emit.
//!
//! The reader never panics and never allocates more than the input holds:
//! every length read from the input is checked against the bytes left.

use super::DecodeError;

/// Deepest nesting `skip_value` follows before giving up, so a hostile input
/// of nested arrays cannot exhaust the stack.
const MAX_SKIP_DEPTH: u32 = 16;

/// Appends MessagePack values to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_type(msg_type: u8) -> Self {
        Self { buf: vec![msg_type] }
    }

    pub(crate) fn map_len(&mut self, len: usize) {
        if len < 16 {
            self.buf.push(0x80 | len as u8);
        } else if len <= u16::MAX as usize {
            self.buf.push(0xde);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.buf.push(0xdf);
            self.buf.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }

    /// Writes a string or byte slice the way go-msgpack's old spec does.
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        if len < 32 {
            self.buf.push(0xa0 | len as u8);
        } else if len <= u16::MAX as usize {
            self.buf.push(0xda);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.buf.push(0xdb);
            self.buf.extend_from_slice(&(len as u32).to_be_bytes());
        }
        self.buf.extend_from_slice(bytes);
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.raw(s.as_bytes());
    }

    pub(crate) fn uint(&mut self, v: u64) {
        if v < 128 {
            self.buf.push(v as u8);
        } else if v <= u8::MAX as u64 {
            self.buf.extend_from_slice(&[0xcc, v as u8]);
        } else if v <= u16::MAX as u64 {
            self.buf.push(0xcd);
            self.buf.extend_from_slice(&(v as u16).to_be_bytes());
        } else if v <= u32::MAX as u64 {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.push(if v { 0xc3 } else { 0xc2 });
    }

    pub(crate) fn nil(&mut self) {
        self.buf.push(0xc0);
    }

    /// A map key followed by a raw value.
    pub(crate) fn field_raw(&mut self, key: &str, value: &[u8]) {
        self.str(key);
        self.raw(value);
    }

    pub(crate) fn field_str(&mut self, key: &str, value: &str) {
        self.str(key);
        self.str(value);
    }

    pub(crate) fn field_uint(&mut self, key: &str, value: u64) {
        self.str(key);
        self.uint(value);
    }

    pub(crate) fn field_bool(&mut self, key: &str, value: bool) {
        self.str(key);
        self.bool(value);
    }

    /// A byte-slice field that Go declares `[]byte`: nil when empty, as Go
    /// writes a nil slice.
    pub(crate) fn field_opt_raw(&mut self, key: &str, value: &[u8]) {
        self.str(key);
        if value.is_empty() {
            self.nil();
        } else {
            self.raw(value);
        }
    }
}

/// Reads MessagePack values from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let out = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.buf.get(self.pos).copied().ok_or(DecodeError::Truncated)
    }

    /// A count of elements must fit in what is left, one byte each at least.
    fn checked_count(&self, n: u64) -> Result<usize, DecodeError> {
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(DecodeError::Truncated);
        }
        Ok(n as usize)
    }

    pub(crate) fn map_len(&mut self) -> Result<usize, DecodeError> {
        let n = match self.byte()? {
            b @ 0x80..=0x8f => (b & 0x0f) as u64,
            0xde => self.be(2)?,
            0xdf => self.be(4)?,
            0xc0 => 0,
            other => return Err(DecodeError::UnexpectedType { expected: "map", found: other }),
        };
        // A map entry is at least two bytes.
        self.checked_count(n.saturating_mul(2)).map(|_| n as usize)
    }

    fn array_len(&mut self) -> Result<usize, DecodeError> {
        let n = match self.byte()? {
            b @ 0x90..=0x9f => (b & 0x0f) as u64,
            0xdc => self.be(2)?,
            0xdd => self.be(4)?,
            0xc0 => 0,
            other => return Err(DecodeError::UnexpectedType { expected: "array", found: other }),
        };
        self.checked_count(n)
    }

    /// A string or byte slice in any of its encodings; nil reads as empty.
    pub(crate) fn raw(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = match self.byte()? {
            b @ 0xa0..=0xbf => (b & 0x1f) as usize,
            0xd9 | 0xc4 => self.be(1)? as usize,
            0xda | 0xc5 => self.be(2)? as usize,
            0xdb | 0xc6 => self.be(4)? as usize,
            0xc0 => 0,
            other => return Err(DecodeError::UnexpectedType { expected: "bytes", found: other }),
        };
        self.take(n)
    }

    pub(crate) fn string(&mut self) -> Result<String, DecodeError> {
        let raw = self.raw()?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// A byte string, or an array of small integers (how some encoders
    /// write `[]uint8`), into a fixed buffer: the first
    /// `out.len()` bytes are kept, the rest read and dropped, zeros fill a
    /// short value. No allocation (it runs for every member of a push-pull).
    pub(crate) fn bytes_into(&mut self, out: &mut [u8]) -> Result<(), DecodeError> {
        out.fill(0);
        if matches!(self.peek()?, 0x90..=0x9f | 0xdc | 0xdd) {
            let n = self.array_len()?;
            for i in 0..n {
                let v = self.uint()?;
                let b = u8::try_from(v).map_err(|_| DecodeError::OutOfRange("byte array element"))?;
                if let Some(o) = out.get_mut(i) {
                    *o = b;
                }
            }
            return Ok(());
        }
        for (o, b) in out.iter_mut().zip(self.raw()?) {
            *o = *b;
        }
        Ok(())
    }

    /// Any non-negative integer (also a float-free bool-free int family).
    pub(crate) fn uint(&mut self) -> Result<u64, DecodeError> {
        let b = self.byte()?;
        let v: i128 = match b {
            0x00..=0x7f => b as i128,
            0xe0..=0xff => (b as i8) as i128,
            0xcc => self.be(1)? as i128,
            0xcd => self.be(2)? as i128,
            0xce => self.be(4)? as i128,
            0xcf => self.be(8)? as i128,
            0xd0 => (self.be(1)? as u8 as i8) as i128,
            0xd1 => (self.be(2)? as u16 as i16) as i128,
            0xd2 => (self.be(4)? as u32 as i32) as i128,
            0xd3 => (self.be(8)? as i64) as i128,
            0xc0 => 0,
            other => return Err(DecodeError::UnexpectedType { expected: "integer", found: other }),
        };
        u64::try_from(v).map_err(|_| DecodeError::OutOfRange("negative integer"))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        u32::try_from(self.uint()?).map_err(|_| DecodeError::OutOfRange(what))
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        u16::try_from(self.uint()?).map_err(|_| DecodeError::OutOfRange(what))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.byte()? {
            0xc2 | 0xc0 => Ok(false),
            0xc3 => Ok(true),
            other => Err(DecodeError::UnexpectedType { expected: "bool", found: other }),
        }
    }

    /// Skips one value of any type, so unknown fields from newer peers are
    /// ignored as Go ignores them.
    pub(crate) fn skip_value(&mut self) -> Result<(), DecodeError> {
        self.skip_depth(0)
    }

    fn skip_depth(&mut self, depth: u32) -> Result<(), DecodeError> {
        if depth > MAX_SKIP_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let b = self.peek()?;
        match b {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => {
                self.pos += 1;
            }
            0xcc | 0xd0 => drop(self.take(2)?),
            0xcd | 0xd1 => drop(self.take(3)?),
            0xce | 0xd2 | 0xca => drop(self.take(5)?),
            0xcf | 0xd3 | 0xcb => drop(self.take(9)?),
            0xa0..=0xbf | 0xd9 | 0xda | 0xdb | 0xc4 | 0xc5 | 0xc6 => drop(self.raw()?),
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = self.array_len()?;
                for _ in 0..n {
                    self.skip_depth(depth + 1)?;
                }
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let n = self.map_len()?;
                for _ in 0..n {
                    self.skip_depth(depth + 1)?;
                    self.skip_depth(depth + 1)?;
                }
            }
            0xd4 => drop(self.take(3)?),
            0xd5 => drop(self.take(4)?),
            0xd6 => drop(self.take(6)?),
            0xd7 => drop(self.take(10)?),
            0xd8 => drop(self.take(18)?),
            0xc7..=0xc9 => {
                self.pos += 1;
                let n = self.be(match b {
                    0xc7 => 1,
                    0xc8 => 2,
                    _ => 4,
                })? as usize;
                self.take(n.checked_add(1).ok_or(DecodeError::Truncated)?)?;
            }
            0xc1 => return Err(DecodeError::UnexpectedType { expected: "any value", found: b }),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_old_spec_raw() {
        let mut w = Writer::default();
        w.str("abc");
        w.raw(&[7u8; 40]);
        assert_eq!(&w.buf[..4], &[0xa3, b'a', b'b', b'c']);
        assert_eq!(&w.buf[4..7], &[0xda, 0, 40]);
    }

    #[test]
    fn integers_use_their_smallest_form_and_read_back() {
        for v in [0u64, 127, 128, 255, 256, 65535, 65536, u32::MAX as u64, u64::MAX] {
            let mut w = Writer::default();
            w.uint(v);
            assert_eq!(Reader::new(&w.buf).uint().unwrap(), v);
        }
        let mut w = Writer::default();
        w.uint(300);
        assert_eq!(w.buf, vec![0xcd, 1, 44]);
    }

    #[test]
    fn reader_accepts_str8_and_bin_for_bytes() {
        assert_eq!(Reader::new(&[0xd9, 2, b'h', b'i']).raw().unwrap(), b"hi");
        assert_eq!(Reader::new(&[0xc4, 1, 9]).raw().unwrap(), &[9]);
        let mut vsn = [7u8; 3];
        Reader::new(&[0x92, 1, 2]).bytes_into(&mut vsn).unwrap();
        assert_eq!(vsn, [1, 2, 0], "an array of small integers, zero-filled");
        Reader::new(&[0xc4, 4, 1, 2, 3, 4]).bytes_into(&mut vsn).unwrap();
        assert_eq!(vsn, [1, 2, 3], "a longer value is cut to the buffer");
        let mut r = Reader::new(&[0x94, 1, 2, 3, 4, 0xc3]);
        r.bytes_into(&mut vsn).unwrap();
        assert!(r.bool().unwrap(), "the whole array is consumed");
    }

    #[test]
    fn declared_lengths_beyond_the_input_are_rejected_without_allocating() {
        assert_eq!(Reader::new(&[0xdb, 0xff, 0xff, 0xff, 0xff]).raw(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[0xdf, 0xff, 0xff, 0xff, 0xff]).map_len(), Err(DecodeError::Truncated));
        assert_eq!(Reader::new(&[0xdd, 0xff, 0xff, 0xff, 0xff]).skip_value(), Err(DecodeError::Truncated));
    }

    #[test]
    fn deeply_nested_input_is_refused() {
        let nested = vec![0x91u8; 100];
        assert_eq!(Reader::new(&nested).skip_value(), Err(DecodeError::TooDeep));
    }

    #[test]
    fn negative_numbers_are_out_of_range_for_unsigned_fields() {
        assert!(matches!(Reader::new(&[0xff]).uint(), Err(DecodeError::OutOfRange(_))));
    }
}
