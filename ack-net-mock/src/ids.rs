//! Deterministic ids, MACs and request ids: the same seed gives the same sequence.

/// Generates resource ids (`vpc-...`), MAC addresses and request ids from a seed.
#[derive(Debug)]
pub struct IdGen {
    rng: fastrand::Rng,
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl IdGen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { rng: fastrand::Rng::with_seed(seed) }
    }

    /// `prefix` followed by a region-like tag and 20 lowercase letters and digits
    /// (`vpc-bp1...`), as the real ids look.
    pub fn id(&mut self, prefix: &str) -> String {
        let mut s = String::with_capacity(prefix.len() + 23);
        s.push_str(prefix);
        s.push_str("bp1");
        for _ in 0..20 {
            s.push(ALNUM[self.rng.usize(..ALNUM.len())] as char);
        }
        s
    }

    /// A locally administered unicast MAC (`00:16:3e:xx:xx:xx`, Alibaba Cloud's OUI).
    pub fn mac(&mut self) -> String {
        format!("00:16:3e:{:02x}:{:02x}:{:02x}", self.rng.u8(..), self.rng.u8(..), self.rng.u8(..))
    }

    /// A request id in the API's format (uppercase UUID).
    pub fn request_id(&mut self) -> String {
        let b: [u8; 16] = std::array::from_fn(|_| self.rng.u8(..));
        format!(
            "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        )
    }

    /// A random number in `0..n` (for fault injection decisions and the like).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.rng.u64(..n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        assert_eq!(a.id("vpc-"), b.id("vpc-"));
        assert_eq!(a.mac(), b.mac());
        assert_eq!(a.request_id(), b.request_id());
        assert_ne!(a.id("vpc-"), IdGen::new(8).id("vpc-"));
    }
}
