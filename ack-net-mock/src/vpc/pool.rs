//! Address pools of one VSwitch: IPv4 as a bitmap over the CIDR (a /16 is 8 KiB), IPv6 as
//! a set of used interface ids with a lowest-free cursor. Both hand out the lowest free
//! address, in O(1) amortized for sequential allocation.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why an address could not be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakeError {
    /// Every usable address is taken.
    Full,
    /// The requested address is not inside the CIDR.
    Outside,
    /// The requested address is one of the reserved ones.
    Reserved,
    /// The requested address is already in use.
    Taken,
}

/// The IPv4 addresses of a VSwitch. The first address and the last three are reserved, as
/// on the real cloud (in 192.168.1.0/24: .0, .253, .254, .255), so a /24 offers 252.
#[derive(Clone, Debug)]
pub struct Ipv4Pool {
    net: Ipv4Net,
    size: u32,
    words: Vec<u64>,
    used: u32,
    /// No free usable offset lies below this one.
    low: u32,
}

impl Ipv4Pool {
    /// A pool over `net` with only the reserved addresses taken. `net` must be /30 or longer
    /// prefix-wise at most /29 in practice; anything shorter than /4 is not supported.
    pub fn new(net: Ipv4Net) -> Self {
        let net = net.trunc();
        let size: u32 = 1u32 << (32 - u32::from(net.prefix_len()).max(4));
        let words = vec![0u64; size.div_ceil(64) as usize];
        Self { net, size, words, used: 0, low: 1 }
    }

    /// The CIDR.
    pub fn net(&self) -> Ipv4Net {
        self.net
    }

    /// How many addresses a client can ever get (size minus the four reserved).
    pub fn usable(&self) -> u32 {
        self.size.saturating_sub(4)
    }

    /// How many usable addresses are free.
    pub fn available(&self) -> u32 {
        self.usable() - self.used
    }

    /// How many addresses are in use.
    pub fn used(&self) -> u32 {
        self.used
    }

    fn reserved(&self, off: u32) -> bool {
        off == 0 || off + 3 >= self.size
    }

    fn is_set(&self, off: u32) -> bool {
        self.words[(off / 64) as usize] & (1u64 << (off % 64)) != 0
    }

    fn set(&mut self, off: u32, on: bool) {
        let w = &mut self.words[(off / 64) as usize];
        if on {
            *w |= 1u64 << (off % 64);
        } else {
            *w &= !(1u64 << (off % 64));
        }
    }

    fn offset(&self, ip: Ipv4Addr) -> Option<u32> {
        self.net.contains(&ip).then(|| u32::from(ip) - u32::from(self.net.network()))
    }

    fn addr(&self, off: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.net.network()) + off)
    }

    /// Whether `ip` is in use.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.offset(ip).is_some_and(|o| !self.reserved(o) && self.is_set(o))
    }

    /// Takes `requested`, or the lowest free address.
    pub fn take(&mut self, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, TakeError> {
        let off = match requested {
            Some(ip) => {
                let off = self.offset(ip).ok_or(TakeError::Outside)?;
                if self.reserved(off) {
                    return Err(TakeError::Reserved);
                }
                if self.is_set(off) {
                    return Err(TakeError::Taken);
                }
                off
            }
            None => self.lowest_free().ok_or(TakeError::Full)?,
        };
        self.set(off, true);
        self.used += 1;
        if off == self.low {
            self.low += 1;
        }
        Ok(self.addr(off))
    }

    fn lowest_free(&mut self) -> Option<u32> {
        if self.available() == 0 {
            return None;
        }
        let last_usable = self.size - 4; // offsets 1..=size-4 are usable
        let mut w = (self.low / 64) as usize;
        let mut first = true;
        while w < self.words.len() {
            let mut bits = self.words[w];
            if first {
                // Offsets below `low` in this word count as used.
                let below = self.low % 64;
                if below > 0 {
                    bits |= (1u64 << below) - 1;
                }
                first = false;
            }
            if w == 0 {
                bits |= 1; // offset 0 is reserved
            }
            if bits != u64::MAX {
                let off = w as u32 * 64 + (!bits).trailing_zeros();
                if off > last_usable {
                    return None;
                }
                self.low = off;
                return Some(off);
            }
            w += 1;
        }
        None
    }

    /// Returns `ip`; `false` when it was not in use (or not in the pool).
    pub fn release(&mut self, ip: Ipv4Addr) -> bool {
        match self.offset(ip) {
            Some(off) if !self.reserved(off) && self.is_set(off) => {
                self.set(off, false);
                self.used -= 1;
                self.low = self.low.min(off);
                true
            }
            _ => false,
        }
    }

    /// The addresses in use, in order.
    pub fn in_use(&self) -> Vec<Ipv4Addr> {
        (1..self.size.saturating_sub(3)).filter(|o| self.is_set(*o)).map(|o| self.addr(o)).collect()
    }
}

/// The IPv6 addresses of a VSwitch's /64. Interface id 0 is reserved (the subnet-router
/// anycast address) and so are the last three, mirroring IPv4.
#[derive(Clone, Debug)]
pub struct Ipv6Pool {
    net: Ipv6Net,
    used: BTreeSet<u128>,
    low: u128,
}

impl Ipv6Pool {
    /// A pool over `net` (normally a /64).
    pub fn new(net: Ipv6Net) -> Self {
        Self { net: net.trunc(), used: BTreeSet::new(), low: 1 }
    }

    /// The CIDR.
    pub fn net(&self) -> Ipv6Net {
        self.net
    }

    /// How many addresses are in use.
    pub fn used(&self) -> usize {
        self.used.len()
    }

    fn host_bits(&self) -> u32 {
        128 - u32::from(self.net.prefix_len())
    }

    fn last_usable(&self) -> u128 {
        let bits = self.host_bits();
        let size_minus_one = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
        size_minus_one.saturating_sub(3)
    }

    fn offset(&self, ip: Ipv6Addr) -> Option<u128> {
        self.net.contains(&ip).then(|| u128::from(ip) - u128::from(self.net.network()))
    }

    /// Whether `ip` is in use.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        self.offset(ip).is_some_and(|o| self.used.contains(&o))
    }

    /// Takes `requested`, or the lowest free address.
    pub fn take(&mut self, requested: Option<Ipv6Addr>) -> Result<Ipv6Addr, TakeError> {
        let off = match requested {
            Some(ip) => {
                let off = self.offset(ip).ok_or(TakeError::Outside)?;
                if off == 0 || off > self.last_usable() {
                    return Err(TakeError::Reserved);
                }
                if self.used.contains(&off) {
                    return Err(TakeError::Taken);
                }
                off
            }
            None => {
                let mut off = self.low;
                while self.used.contains(&off) {
                    off += 1;
                }
                if off > self.last_usable() {
                    return Err(TakeError::Full);
                }
                self.low = off;
                off
            }
        };
        self.used.insert(off);
        Ok(Ipv6Addr::from(u128::from(self.net.network()) + off))
    }

    /// Returns `ip`; `false` when it was not in use.
    pub fn release(&mut self, ip: Ipv6Addr) -> bool {
        match self.offset(ip) {
            Some(off) if self.used.remove(&off) => {
                self.low = self.low.min(off);
                true
            }
            _ => false,
        }
    }

    /// The addresses in use, in order.
    pub fn in_use(&self) -> Vec<Ipv6Addr> {
        let base = u128::from(self.net.network());
        self.used.iter().map(|o| Ipv6Addr::from(base + o)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn slash24_offers_252_and_reserves_the_real_ones() {
        let mut p = Ipv4Pool::new("192.168.1.0/24".parse().unwrap());
        assert_eq!(p.available(), 252);
        let mut got = Vec::new();
        while let Ok(ip) = p.take(None) {
            got.push(ip);
        }
        assert_eq!(got.len(), 252);
        assert_eq!(got[0], v4("192.168.1.1"));
        assert_eq!(*got.last().unwrap(), v4("192.168.1.252"));
        assert_eq!(p.take(None), Err(TakeError::Full));
        for r in ["192.168.1.0", "192.168.1.253", "192.168.1.254", "192.168.1.255"] {
            assert_eq!(p.take(Some(v4(r))), Err(TakeError::Reserved));
        }
        assert_eq!(p.take(Some(v4("10.0.0.1"))), Err(TakeError::Outside));
        assert!(p.release(v4("192.168.1.77")));
        assert!(!p.release(v4("192.168.1.77")));
        assert_eq!(p.take(None), Ok(v4("192.168.1.77")));
    }

    #[test]
    fn slash29_and_requested() {
        let mut p = Ipv4Pool::new("10.0.0.8/29".parse().unwrap());
        assert_eq!(p.available(), 4);
        assert_eq!(p.take(Some(v4("10.0.0.10"))), Ok(v4("10.0.0.10")));
        assert_eq!(p.take(Some(v4("10.0.0.10"))), Err(TakeError::Taken));
        assert_eq!(p.take(None), Ok(v4("10.0.0.9")));
        assert_eq!(p.take(None), Ok(v4("10.0.0.11")));
        assert_eq!(p.take(None), Ok(v4("10.0.0.12")));
        assert_eq!(p.take(None), Err(TakeError::Full));
        assert_eq!(p.in_use().len(), 4);
        p.release(v4("10.0.0.9"));
        assert_eq!(p.available(), 1);
        assert_eq!(p.take(None), Ok(v4("10.0.0.9")));
    }

    #[test]
    fn slash16_lowest_free_across_words() {
        let mut p = Ipv4Pool::new("172.16.0.0/16".parse().unwrap());
        for _ in 0..1000 {
            p.take(None).unwrap();
        }
        p.release(v4("172.16.0.5"));
        p.release(v4("172.16.2.100"));
        assert_eq!(p.take(None), Ok(v4("172.16.0.5")));
        assert_eq!(p.take(None), Ok(v4("172.16.2.100")));
        assert_eq!(p.take(None), Ok(v4("172.16.3.233")));
        assert_eq!(p.available(), 65532 - 1001);
    }

    #[test]
    fn ipv6() {
        let mut p = Ipv6Pool::new("2408:4005:300:a00::/64".parse().unwrap());
        let a = p.take(None).unwrap();
        assert_eq!(a, "2408:4005:300:a00::1".parse::<Ipv6Addr>().unwrap());
        let b = p.take(None).unwrap();
        assert!(p.contains(b));
        assert!(p.release(a));
        assert_eq!(p.take(None).unwrap(), a);
        assert_eq!(p.take(Some(b)), Err(TakeError::Taken));
        assert_eq!(p.take(Some("2408::1".parse().unwrap())), Err(TakeError::Outside));
    }
}
