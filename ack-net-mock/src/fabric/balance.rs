//! How a load balancer's listener picks the backend of a new connection (a pure policy, so it
//! is tested without namespaces).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::model::LbBackend;

/// Smooth weighted round robin, the way CLB's `wrr` scheduler spreads new connections: over
/// any run of connections as long as the total weight, each backend gets as many as its
/// weight, interleaved rather than in bursts; a backend of weight 0 gets none. The state is
/// per listener and follows changes of the backends (a backend that leaves is forgotten).
///
/// ```
/// use ack_net_mock::fabric::{LbBackend, WeightedRoundRobin};
/// let b = |last: u8, weight: u8| LbBackend { ip: [10, 0, 0, last].into(), port: 80, weight };
/// let backends = [b(1, 2), b(2, 1), b(3, 0)];
/// let mut rr = WeightedRoundRobin::default();
/// let picks: Vec<u8> = (0..6).map(|_| rr.pick(&backends).unwrap().ip.octets()[3]).collect();
/// assert_eq!(picks, [1, 2, 1, 1, 2, 1]);
/// assert_eq!(rr.pick(&[b(3, 0)]), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WeightedRoundRobin {
    current: HashMap<(Ipv4Addr, u16), i64>,
}

impl WeightedRoundRobin {
    /// The backend for the next connection among `backends`, or `None` when every weight
    /// is 0 (the connection is refused).
    pub fn pick(&mut self, backends: &[LbBackend]) -> Option<LbBackend> {
        self.current.retain(|k, _| backends.iter().any(|b| (b.ip, b.port) == *k && b.weight > 0));
        let total: i64 = backends.iter().map(|b| i64::from(b.weight)).sum();
        let mut best: Option<(LbBackend, i64)> = None;
        for b in backends.iter().filter(|b| b.weight > 0) {
            let c = self.current.entry((b.ip, b.port)).or_insert(0);
            *c += i64::from(b.weight);
            if best.is_none_or(|(_, top)| *c > top) {
                best = Some((*b, *c));
            }
        }
        let (chosen, _) = best?;
        if let Some(c) = self.current.get_mut(&(chosen.ip, chosen.port)) {
            *c -= total;
        }
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(last: u8, weight: u8) -> LbBackend {
        LbBackend { ip: Ipv4Addr::new(10, 0, 0, last), port: 8080, weight }
    }

    fn count(rr: &mut WeightedRoundRobin, backends: &[LbBackend], n: usize) -> HashMap<u8, usize> {
        let mut out = HashMap::new();
        for _ in 0..n {
            *out.entry(rr.pick(backends).expect("a backend").ip.octets()[3]).or_default() += 1;
        }
        out
    }

    #[test]
    fn connections_follow_the_weights_and_weight_zero_gets_none() {
        let mut rr = WeightedRoundRobin::default();
        let backends = [b(1, 100), b(2, 50), b(3, 0), b(4, 50)];
        let got = count(&mut rr, &backends, 200);
        assert_eq!(got.get(&1), Some(&100));
        assert_eq!(got.get(&2), Some(&50));
        assert_eq!(got.get(&4), Some(&50));
        assert_eq!(got.get(&3), None, "weight 0 takes no new connection");
        assert_eq!(rr.pick(&[b(3, 0)]), None);
        assert_eq!(rr.pick(&[]), None);
    }

    #[test]
    fn a_change_of_backends_is_followed_at_once() {
        let mut rr = WeightedRoundRobin::default();
        let before = [b(1, 100), b(2, 100)];
        count(&mut rr, &before, 3);
        // b(1) drains (weight 0) and b(5) arrives: every new connection goes to 2 or 5, evenly.
        let after = [b(1, 0), b(2, 100), b(5, 100)];
        let got = count(&mut rr, &after, 100);
        assert_eq!(got.get(&1), None);
        assert_eq!(got.get(&2), Some(&50));
        assert_eq!(got.get(&5), Some(&50));
    }
}
