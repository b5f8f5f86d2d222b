//! Request signing: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).
//!
//! Everything here is a pure function of the request, the credentials, the time and a nonce:
//! no clock, no randomness, no I/O. That makes every case a test vector (see
//! `tests/vectors/`), and lets the mock server verify signatures with the same code.

use std::fmt;

use chrono::{DateTime, Utc};

pub mod v1;
pub mod v3;

/// Which bytes stay literal in the API's percent-encoding: `A-Z a-z 0-9 - _ . ~`.
static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b'~';
        i += 1;
    }
    table
};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Per byte: its wire encoding (the byte itself, or `%XY`) in the low bytes and its length
/// in the top byte, so that encoding a byte is one store and one add, without a branch.
static WIRE_ENC: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if UNRESERVED[i] {
            i as u32 | 1 << 24
        } else {
            b'%' as u32 | (HEX_UPPER[i >> 4] as u32) << 8 | (HEX_UPPER[i & 0xf] as u32) << 16 | 3 << 24
        };
        i += 1;
    }
    table
};

/// Per byte: its double encoding (the byte itself, or `%25XY`) and its length in the top
/// byte.
static STS_ENC: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if UNRESERVED[i] {
            i as u64 | 1 << 56
        } else {
            b'%' as u64
                | (b'2' as u64) << 8
                | (b'5' as u64) << 16
                | (HEX_UPPER[i >> 4] as u64) << 24
                | (HEX_UPPER[i & 0xf] as u64) << 32
                | 5 << 56
        };
        i += 1;
    }
    table
};

/// Appends the API percent-encoding of `s` to `out`.
pub(crate) fn encode_into(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if !UNRESERVED[b as usize] {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice(&[b'%', HEX_UPPER[(b >> 4) as usize], HEX_UPPER[(b & 0xf) as usize]]);
            start = i + 1;
        }
    }
    out.extend_from_slice(&s[start..]);
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` (each below 0x80) that lies in `lo..=hi`.
#[inline(always)]
fn in_range(v: u64, lo: u8, hi: u8) -> u64 {
    (v + ONES * u64::from(0x80 - lo)) & !(v + ONES * u64::from(0x7f - hi)) & HIGHS
}

/// The high bit of each byte of `v` that must be escaped (not `A-Z a-z 0-9 - _ . ~`),
/// computed on the whole word at once.
#[inline(always)]
fn escapes(v: u64) -> u64 {
    let ascii = v & 0x7f7f_7f7f_7f7f_7f7f;
    let ok = in_range(ascii, b'0', b'9')
        | in_range(ascii | (ONES * 0x20), b'a', b'z')
        | in_range(ascii, b'-', b'.')
        | in_range(ascii, b'_', b'_')
        | in_range(ascii, b'~', b'~');
    !(ok & !v) & HIGHS
}

/// Whether all 8 bytes of `v` stay literal.
#[cfg(test)]
fn word_is_literal(v: u64) -> bool {
    escapes(v) == 0
}

/// Bytes `0..8` of `s` from offset `at` (`s.len() >= at + 8`).
#[inline(always)]
fn word_at(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"))
}

/// The bytes of a string shorter than 8 in the low bytes of a word, built from at most
/// three loads whatever the length (no loop, so no branch on the length per byte).
#[inline(always)]
pub(crate) fn short_word(s: &[u8]) -> u64 {
    let n = s.len();
    if n >= 4 {
        let lo = u64::from(u32::from_le_bytes(s[..4].try_into().expect("4 bytes")));
        let hi = u64::from(u32::from_le_bytes(s[n - 4..].try_into().expect("4 bytes")));
        // The two loads overlap on equal bytes, so or-ing them is exact.
        lo | (hi << (8 * (n - 4)))
    } else if n > 0 {
        u64::from(s[0]) | (u64::from(s[n / 2]) << (8 * (n / 2))) | (u64::from(s[n - 1]) << (8 * (n - 1)))
    } else {
        0
    }
}

/// Writes the V1 wire form (encoded once) and string to sign (encoded twice) side by side,
/// by index into buffers sized for the worst case plus [`DualWriter::SLACK`] bytes: literal
/// bytes are stored 8 at a time, and bytes stored past the end of a string are overwritten
/// by what follows.
pub(crate) struct DualWriter<'a> {
    wire: &'a mut [u8],
    w: usize,
    sts: &'a mut [u8],
    s: usize,
}

/// Copies `src` to `dst[at..]` in 8- and 16-byte stores (a string shorter than 8 bytes is
/// one store that may spill up to 7 bytes; longer ones end with an overlapping store).
#[inline(always)]
fn copy_words(dst: &mut [u8], at: usize, src: &[u8]) {
    let n = src.len();
    if n < 8 {
        dst[at..at + 8].copy_from_slice(&short_word(src).to_le_bytes());
    } else if n <= 16 {
        dst[at..at + 8].copy_from_slice(&src[..8]);
        dst[at + n - 8..at + n].copy_from_slice(&src[n - 8..]);
    } else {
        let mut i = 0;
        while i + 16 <= n {
            dst[at + i..at + i + 16].copy_from_slice(&src[i..i + 16]);
            i += 16;
        }
        dst[at + n - 16..at + n].copy_from_slice(&src[n - 16..]);
    }
}

impl<'a> DualWriter<'a> {
    /// Bytes each buffer needs beyond the worst case.
    pub(crate) const SLACK: usize = 8;

    /// A writer over `wire` (at least 3 bytes per input byte plus the slack) and `sts` (at
    /// least 5 per input byte plus the slack).
    pub(crate) fn new(wire: &'a mut [u8], sts: &'a mut [u8]) -> Self {
        Self { wire, w: 0, sts, s: 0 }
    }

    /// Appends `wire` to the wire form and `sts` to the string to sign, verbatim.
    #[inline(always)]
    pub(crate) fn raw(&mut self, wire: &[u8], sts: &[u8]) {
        copy_words(self.wire, self.w, wire);
        self.w += wire.len();
        copy_words(self.sts, self.s, sts);
        self.s += sts.len();
    }

    /// Starts the next parameter: `&` on the wire (`%26` in the string to sign), except
    /// before the first (only the method precedes it, in the string to sign alone).
    #[inline(always)]
    pub(crate) fn separate(&mut self) {
        if self.w > 0 {
            self.raw(b"&", b"%26");
        }
    }

    /// Appends one parameter, `name=value`, both encoded (after a separator).
    #[inline(never)]
    pub(crate) fn param(&mut self, name: &[u8], value: &[u8]) {
        self.separate();
        self.encode(name);
        self.raw(b"=", b"%3D");
        self.encode(value);
    }

    /// Appends `bytes` to the wire form only, encoded.
    pub(crate) fn encode_wire_only(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.wire_byte(b);
        }
    }

    #[inline(always)]
    fn wire_byte(&mut self, b: u8) {
        let e = WIRE_ENC[b as usize];
        self.wire[self.w..self.w + 4].copy_from_slice(&e.to_le_bytes());
        self.w += (e >> 24) as usize;
    }

    /// Appends the encoding of `bytes` to the wire form and its double encoding to the
    /// string to sign.
    pub(crate) fn encode(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        // Most names and values need no escaping: test them a word at a time (independent
        // tests; the last word overlaps the one before), then store them whole.
        if n < 8 {
            let word = short_word(bytes);
            if escapes(word) & !(!0u64 << (8 * n)) == 0 {
                let b = word.to_le_bytes();
                self.wire[self.w..self.w + 8].copy_from_slice(&b);
                self.sts[self.s..self.s + 8].copy_from_slice(&b);
                self.w += n;
                self.s += n;
                return;
            }
        } else {
            let mut bad = escapes(word_at(bytes, n - 8));
            let mut i = 0;
            while i + 8 <= n {
                bad |= escapes(word_at(bytes, i));
                i += 8;
            }
            if bad == 0 {
                self.raw(bytes, bytes);
                return;
            }
        }
        // Positions in locals: updates of `self`'s fields would go through memory (a store
        // and a reload per byte) since a failed bounds check must leave `self` consistent.
        let (wire, sts) = (&mut *self.wire, &mut *self.sts);
        let (mut w, mut s) = (self.w, self.s);
        for &b in bytes {
            let e = WIRE_ENC[b as usize];
            wire[w..w + 4].copy_from_slice(&e.to_le_bytes());
            w += (e >> 24) as usize;
            let e = STS_ENC[b as usize];
            sts[s..s + 8].copy_from_slice(&e.to_le_bytes());
            s += (e >> 56) as usize;
        }
        self.w = w;
        self.s = s;
    }

    /// The bytes written: the wire form and the string to sign.
    pub(crate) fn written(&self) -> (&[u8], &[u8]) {
        (&self.wire[..self.w], &self.sts[..self.s])
    }
}

/// Percent-encoded output is ASCII by construction.
pub(crate) fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("percent-encoding yields ASCII")
}

/// Percent-encodes a name or value the way the API canonicalizes it: UTF-8, uppercase hex,
/// only `A-Z a-z 0-9 - _ . ~` literal (so a space is `%20`, `*` is `%2A`, `~` stays `~`).
///
/// ```
/// assert_eq!(ack_net_core::sign::percent_encode("a b*~+/"), "a%20b%2A~%2B%2F");
/// ```
pub fn percent_encode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + s.len() / 2);
    encode_into(&mut out, s.as_bytes());
    ascii_string(out)
}

/// Encodes an already canonical query a second time, as the V1 string to sign wants it.
/// A canonical query holds only unreserved bytes, `%`, `=` and `&`, so only those three change.
pub(crate) fn reencode_canonical_into(out: &mut String, canonical: &str) {
    let mut start = 0;
    for (i, b) in canonical.bytes().enumerate() {
        let rep = match b {
            b'%' => "%25",
            b'=' => "%3D",
            b'&' => "%26",
            _ => continue,
        };
        out.push_str(&canonical[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&canonical[start..]);
}

/// The canonicalized query: parameters sorted by name (byte order), each name and value
/// percent-encoded, joined as `name=value` with `&`. Blank values are kept.
///
/// ```
/// let q = ack_net_core::sign::canonical_query([("b", "2"), ("a", "x y"), ("c", "")]);
/// assert_eq!(q, "a=x%20y&b=2&c=");
/// ```
pub fn canonical_query<'a, I>(params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut pairs: Vec<(&str, &str)> = params.into_iter().collect();
    sort_pairs(&mut pairs);
    encode_sorted(&pairs)
}

/// Sorts parameters by name in byte order (then value, for a total order).
pub(crate) fn sort_pairs(pairs: &mut [(&str, &str)]) {
    pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(b.1)));
}

/// `name=value&...`, percent-encoded, in the given order.
pub fn encode_sorted(pairs: &[(&str, &str)]) -> String {
    let cap = pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() * 5 / 4;
    let mut out = Vec::with_capacity(cap);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        encode_into(&mut out, n.as_bytes());
        out.push(b'=');
        encode_into(&mut out, v.as_bytes());
    }
    ascii_string(out)
}

/// Writes a time as `YYYY-MM-DDThh:mm:ssZ` into `out`, digit by digit (no format parser).
pub(crate) fn write_timestamp(out: &mut [u8; 20], time: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    fn two(out: &mut [u8], n: u32) {
        out[0] = b'0' + (n / 10 % 10) as u8;
        out[1] = b'0' + (n % 10) as u8;
    }
    // The UTC fields as stored: `date_naive` and `time` would add the (zero) offset again.
    let naive = time.naive_utc();
    let (date, clock) = (naive.date(), naive.time());
    let year = date.year().clamp(0, 9999) as u32;
    two(&mut out[0..2], year / 100);
    two(&mut out[2..4], year % 100);
    out[4] = b'-';
    two(&mut out[5..7], date.month());
    out[7] = b'-';
    two(&mut out[8..10], date.day());
    out[10] = b'T';
    let secs = clock.num_seconds_from_midnight();
    two(&mut out[11..13], secs / 3600);
    out[13] = b':';
    two(&mut out[14..16], secs / 60 % 60);
    out[16] = b':';
    two(&mut out[17..19], secs % 60);
    out[19] = b'Z';
}

/// Decodes an `application/x-www-form-urlencoded` string or a raw query into pairs, accepting
/// both `+` and `%20` for a space (clients differ), as a verifying server must.
pub fn decode_form(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The HTTP method of a call; it is part of what gets signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum HttpMethod {
    /// Parameters in the query string.
    Get,
    /// Parameters in a form-encoded body (V1) or the query string (V3).
    #[default]
    Post,
    /// Not an RPC method (a call sent with it is an invalid-input error): the ECS metadata
    /// service's session-token request, which the credential providers send through the
    /// client's [`Transport`](crate::Transport).
    Put,
}

impl HttpMethod {
    /// `GET`, `POST` or `PUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which signature scheme a client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignatureVersion {
    /// HMAC-SHA1 over the canonicalized query, `SignatureVersion=1.0` (the default).
    #[default]
    V1,
    /// `ACS3-HMAC-SHA256` in the `Authorization` header.
    V3,
}

/// Formats a time as the API wants it: UTC `YYYY-MM-DDThh:mm:ssZ`, no fractional seconds.
///
/// ```
/// use chrono::TimeZone;
/// let t = chrono::Utc.with_ymd_and_hms(2016, 2, 23, 12, 46, 24).unwrap();
/// assert_eq!(ack_net_core::sign::format_timestamp(t), "2016-02-23T12:46:24Z");
/// ```
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    let mut out = [0u8; 20];
    write_timestamp(&mut out, time);
    ascii_string(out.to_vec())
}

/// Parses a timestamp in the API's format (`YYYY-MM-DDThh:mm:ssZ`).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").ok().map(|t| t.and_utc())
}

/// What a signer needs to know of one call besides its credentials, time and nonce.
#[derive(Clone, Copy, Debug)]
pub struct SigningInput<'a> {
    /// The HTTP method.
    pub method: HttpMethod,
    /// The host the request goes to (part of the V3 signature).
    pub host: &'a str,
    /// The API action, e.g. `DescribeVpcs`.
    pub action: &'a str,
    /// The API version, e.g. `2016-04-28`.
    pub version: &'a str,
    /// The operation parameters (without any common parameter).
    pub params: &'a crate::Params,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_rules() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode(" "), "%20");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("+"), "%2B");
        assert_eq!(percent_encode("%"), "%25");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode(":"), "%3A");
    }

    #[test]
    fn word_classifier_matches_the_table() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut bytes = *b"aZ09-_.~";
                bytes[pos] = b;
                let expected = bytes.iter().all(|&x| UNRESERVED[x as usize]);
                assert_eq!(word_is_literal(u64::from_le_bytes(bytes)), expected, "byte {b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn short_words_hold_the_string() {
        let s = b"abcdefg";
        for n in 0..8 {
            let mut expected = [0u8; 8];
            expected[..n].copy_from_slice(&s[..n]);
            assert_eq!(short_word(&s[..n]).to_le_bytes(), expected, "length {n}");
        }
    }

    #[test]
    fn decode_accepts_plus_and_percent20() {
        assert_eq!(decode_form("a=x+y&b=x%20y"), vec![("a".into(), "x y".into()), ("b".into(), "x y".into())]);
    }

    #[test]
    fn timestamp_formatting_matches_chrono() {
        use chrono::TimeZone;
        for (y, mo, d, h, mi, se) in [(2016, 2, 23, 12, 46, 24), (2001, 1, 1, 0, 0, 0), (1999, 12, 31, 23, 59, 59)] {
            let t = Utc.with_ymd_and_hms(y, mo, d, h, mi, se).unwrap();
            assert_eq!(format_timestamp(t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let t = parse_timestamp("2023-10-26T10:22:32Z").unwrap();
        assert_eq!(format_timestamp(t), "2023-10-26T10:22:32Z");
        assert!(parse_timestamp("2023-10-26 10:22:32").is_none());
    }
}
