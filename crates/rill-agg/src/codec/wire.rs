//! Byte primitives of the key-state encoding: LEB128 varints, zigzag for signed values,
//! little-endian fixed-width numbers, and a bounds-checked reader. The reader never indexes
//! past its input: every read that runs out is a [`DecodeError::Truncated`] naming the byte.

use super::DecodeError;

/// Appends `v` as an unsigned LEB128 varint (7 bits a byte, low bits first).
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Zigzag: small magnitudes of either sign become small unsigned numbers.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub(crate) fn unzigzag(u: u64) -> i64 {
    (u >> 1) as i64 ^ -((u & 1) as i64)
}

#[inline]
pub(crate) fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, zigzag(v));
}

/// Appends the exact bits of `x` (NaN payloads and the sign of zero included).
#[inline]
pub(crate) fn put_f64(out: &mut Vec<u8>, x: f64) {
    out.extend_from_slice(&x.to_bits().to_le_bytes());
}

/// Reads an encoding front to back. `agg` names the aggregator being read, for errors.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    pub agg: &'a str,
}

pub(crate) type Res<T> = Result<T, DecodeError>;

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            agg: "",
        }
    }

    /// Offset of the next byte to read.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn truncated(&self, what: &'static str) -> DecodeError {
        DecodeError::Truncated {
            at: self.pos,
            len: self.bytes.len(),
            what,
        }
    }

    /// A value read at byte `at` that does not fit the aggregator being read.
    #[cold]
    pub fn invalid_at(&self, at: usize, what: impl Into<String>) -> DecodeError {
        DecodeError::Invalid {
            at,
            aggregator: self.agg.to_string(),
            what: what.into(),
        }
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize, what: &'static str) -> Res<&'a [u8]> {
        if self.remaining() < n {
            return Err(self.truncated(what));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    pub fn u8(&mut self, what: &'static str) -> Res<u8> {
        Ok(self.take(1, what)?[0])
    }

    #[inline]
    pub fn u64_le(&mut self, what: &'static str) -> Res<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    #[inline]
    pub fn f64(&mut self, what: &'static str) -> Res<f64> {
        Ok(f64::from_bits(self.u64_le(what)?))
    }

    /// An unsigned LEB128 varint of at most 64 bits.
    #[inline]
    pub fn varint(&mut self, what: &'static str) -> Res<u64> {
        let start = self.pos;
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8(what)?;
            if i == 9 && b > 1 {
                return Err(self.invalid_at(start, format!("{what}: varint longer than 64 bits")));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        unreachable!("the tenth byte of a varint ends it or is rejected")
    }

    /// A varint that must be at most `max`.
    #[inline]
    pub fn varint_max(&mut self, max: u64, what: &'static str) -> Res<u64> {
        let at = self.pos;
        let v = self.varint(what)?;
        if v > max {
            return Err(self.invalid_at(at, format!("{what} {v} is more than {max}")));
        }
        Ok(v)
    }

    #[inline]
    pub fn zigzag(&mut self, what: &'static str) -> Res<i64> {
        Ok(unzigzag(self.varint(what)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_round_trip_at_the_edges() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            u32::MAX as u64,
            u64::MAX >> 1,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(
                b.len(),
                (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
            );
            let mut r = Reader::new(&b);
            assert_eq!(r.varint("v").unwrap(), v);
            assert_eq!(r.remaining(), 0);
        }
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        // Eleven bytes, or a tenth byte above 1, do not fit 64 bits.
        let long = [0xffu8; 9].iter().copied().chain([2]).collect::<Vec<_>>();
        assert!(matches!(
            Reader::new(&long).varint("v"),
            Err(DecodeError::Invalid { at: 0, .. })
        ));
        assert!(matches!(
            Reader::new(&[0x80, 0x80]).varint("v"),
            Err(DecodeError::Truncated { at: 2, .. })
        ));
    }
}
