//! Fault injection: throttling, 5xx, added latency, dropped connections, hung requests and lost
//! replies, per action or for every action, decided by a seeded generator so runs repeat.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::MockError;

/// Added latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Latency {
    /// Always this many milliseconds.
    Fixed(u64),
    /// Uniformly between the two bounds, in milliseconds.
    Uniform(u64, u64),
}

impl Latency {
    fn sample(self, rng: &mut fastrand::Rng) -> Duration {
        match self {
            Latency::Fixed(ms) => Duration::from_millis(ms),
            Latency::Uniform(lo, hi) if hi > lo => Duration::from_millis(rng.u64(lo..=hi)),
            Latency::Uniform(lo, _) => Duration::from_millis(lo),
        }
    }
}

/// What to inject into calls of one action (or of all actions). Rates are probabilities
/// from 0 to 1, checked in this order: drop, timeout, throttle, server error, lost reply.
///
/// As text (the binary's `--fault ACTION=SPEC` and [`FaultSpec::from_str`]): comma-separated
/// `throttle:0.2`, `5xx:0.05`, `latency:100ms` or `latency:50ms-200ms`, `drop:0.01`,
/// `timeout:0.01` (hang for 30 s) or `timeout:0.01/5s`, `lost:0.1` (the call takes effect, then
/// the connection is reset) or `lost:0.1/5s` (it takes effect, then hangs 5 s and closes).
///
/// ```
/// use ack_net_mock::{FaultSpec, Latency};
/// let f: FaultSpec = "throttle:0.2,5xx:0.05,latency:10ms-20ms".parse().unwrap();
/// assert_eq!(f.throttle, 0.2);
/// assert_eq!(f.latency, Some(Latency::Uniform(10, 20)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSpec {
    /// Share of calls answered `Throttling.User` (HTTP 400), as the real flow control does.
    pub throttle: f64,
    /// Share of calls answered `ServiceUnavailable` (503) or `InternalError` (500), half each.
    pub server_error: f64,
    /// Latency added to every call.
    pub latency: Option<Latency>,
    /// Share of calls whose connection is closed without an answer.
    pub drop: f64,
    /// Share of calls that hang for `timeout_ms` and then lose their connection.
    pub timeout: f64,
    /// How long a hung call hangs (default 30 s).
    pub timeout_ms: Option<u64>,
    /// Share of calls that take effect but whose answer never arrives: the cloud acted, the
    /// network lost the reply. A retry with the same ClientToken gets the first answer.
    pub lost_reply: f64,
    /// How long a call with a lost reply hangs before its connection closes; `None` resets
    /// the connection at once.
    pub lost_reply_hang_ms: Option<u64>,
}

impl FaultSpec {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Throttle this share of calls.
    pub fn throttle(rate: f64) -> Self {
        Self { throttle: rate, ..Self::default() }
    }

    /// Answer this share of calls with a 5xx.
    pub fn server_error(rate: f64) -> Self {
        Self { server_error: rate, ..Self::default() }
    }

    /// Add a fixed latency to every call.
    pub fn latency(d: Duration) -> Self {
        Self { latency: Some(Latency::Fixed(d.as_millis() as u64)), ..Self::default() }
    }

    /// Sets the latency to a uniform range.
    pub fn with_latency_range(mut self, lo: Duration, hi: Duration) -> Self {
        self.latency = Some(Latency::Uniform(lo.as_millis() as u64, hi.as_millis() as u64));
        self
    }

    /// Sets the throttling rate.
    pub fn with_throttle(mut self, rate: f64) -> Self {
        self.throttle = rate;
        self
    }

    /// Sets the 5xx rate.
    pub fn with_server_error(mut self, rate: f64) -> Self {
        self.server_error = rate;
        self
    }

    /// Sets the dropped-connection rate.
    pub fn with_drop(mut self, rate: f64) -> Self {
        self.drop = rate;
        self
    }

    /// Sets the hang rate and how long a hung call hangs.
    pub fn with_timeout(mut self, rate: f64, hang: Duration) -> Self {
        self.timeout = rate;
        self.timeout_ms = Some(hang.as_millis() as u64);
        self
    }

    /// Sets the lost-reply rate: the call takes effect and its connection is reset unanswered.
    pub fn with_lost_reply(mut self, rate: f64) -> Self {
        self.lost_reply = rate;
        self.lost_reply_hang_ms = None;
        self
    }

    /// Sets the lost-reply rate, the unanswered call hanging this long (until the client's own
    /// timeout, when `hang` is longer) before its connection closes.
    pub fn with_lost_reply_hang(mut self, rate: f64, hang: Duration) -> Self {
        self.lost_reply = rate;
        self.lost_reply_hang_ms = Some(hang.as_millis() as u64);
        self
    }

    fn validate(&self) -> Result<(), String> {
        for (name, r) in [
            ("throttle", self.throttle),
            ("5xx", self.server_error),
            ("drop", self.drop),
            ("timeout", self.timeout),
            ("lost", self.lost_reply),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("{name} rate {r} is not between 0 and 1"));
            }
        }
        Ok(())
    }
}

fn parse_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("bad duration {s:?}"))?;
    if v < 0.0 {
        return Err(format!("negative duration {s:?}"));
    }
    Ok((v * mult) as u64)
}

/// Parses a duration as the command line writes it: `250ms`, `2s`, `1.5s`, or bare
/// milliseconds.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(ack_net_mock::parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_ms(s).map(Duration::from_millis)
}

fn parse_rate(s: &str) -> Result<f64, String> {
    s.trim().parse::<f64>().map_err(|_| format!("bad rate {s:?}"))
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut f = FaultSpec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once(':').ok_or_else(|| format!("expected KIND:VALUE, got {part:?}"))?;
            match k.trim() {
                "throttle" => f.throttle = parse_rate(v)?,
                "5xx" | "server_error" => f.server_error = parse_rate(v)?,
                "drop" => f.drop = parse_rate(v)?,
                "latency" => {
                    f.latency = Some(match v.split_once('-') {
                        Some((lo, hi)) => Latency::Uniform(parse_ms(lo)?, parse_ms(hi)?),
                        None => Latency::Fixed(parse_ms(v)?),
                    })
                }
                "timeout" => match v.split_once('/') {
                    Some((rate, hang)) => {
                        f.timeout = parse_rate(rate)?;
                        f.timeout_ms = Some(parse_ms(hang)?);
                    }
                    None => f.timeout = parse_rate(v)?,
                },
                "lost" | "lost_reply" => match v.split_once('/') {
                    Some((rate, hang)) => {
                        f.lost_reply = parse_rate(rate)?;
                        f.lost_reply_hang_ms = Some(parse_ms(hang)?);
                    }
                    None => f.lost_reply = parse_rate(v)?,
                },
                other => return Err(format!("unknown fault kind {other:?}")),
            }
        }
        f.validate()?;
        Ok(f)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.throttle > 0.0 {
            parts.push(format!("throttle:{}", self.throttle));
        }
        if self.server_error > 0.0 {
            parts.push(format!("5xx:{}", self.server_error));
        }
        match self.latency {
            Some(Latency::Fixed(ms)) => parts.push(format!("latency:{ms}ms")),
            Some(Latency::Uniform(lo, hi)) => parts.push(format!("latency:{lo}ms-{hi}ms")),
            None => {}
        }
        if self.drop > 0.0 {
            parts.push(format!("drop:{}", self.drop));
        }
        if self.timeout > 0.0 {
            parts.push(format!("timeout:{}/{}ms", self.timeout, self.timeout_ms.unwrap_or(30_000)));
        }
        if self.lost_reply > 0.0 {
            match self.lost_reply_hang_ms {
                Some(ms) => parts.push(format!("lost:{}/{ms}ms", self.lost_reply)),
                None => parts.push(format!("lost:{}", self.lost_reply)),
            }
        }
        f.write_str(&parts.join(","))
    }
}

/// What happens to one call.
#[derive(Clone, Debug, PartialEq)]
pub enum Injected {
    /// Answer normally (after `delay`).
    Pass,
    /// Answer with this error instead (after `delay`).
    Error(MockError),
    /// Close the connection without an answer.
    Drop,
    /// Hang this long, then close the connection.
    Hang(Duration),
    /// Run the call, then lose its answer: reset the connection at once (`None`) or after
    /// hanging this long.
    LoseReply(Option<Duration>),
}

/// The fault rules: one for all actions (`"*"`) and any per action; an action's own rule
/// replaces the global one for that action.
#[derive(Debug)]
pub struct Faults {
    rules: BTreeMap<String, FaultSpec>,
    /// Replies still to lose for sure, by action (before any rule is consulted).
    lose_next: BTreeMap<String, u32>,
    rng: fastrand::Rng,
}

impl Faults {
    /// No rules, decisions seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { rules: BTreeMap::new(), lose_next: BTreeMap::new(), rng: fastrand::Rng::with_seed(seed ^ 0x5eed_fa17) }
    }

    /// Sets the rule for `target` (an action name, or `*` for all); an empty spec removes it.
    pub fn set(&mut self, target: &str, spec: FaultSpec) -> Result<(), String> {
        spec.validate()?;
        if spec == FaultSpec::default() {
            self.rules.remove(target);
        } else {
            self.rules.insert(target.to_owned(), spec);
        }
        Ok(())
    }

    /// Runs the next `n` calls of `action` and loses their replies, whatever the rules say
    /// (then the rules apply again): a test's way to be sure a path meets a lost reply.
    pub fn lose_next_replies(&mut self, action: &str, n: u32) {
        if n == 0 {
            self.lose_next.remove(action);
        } else {
            self.lose_next.insert(action.to_owned(), n);
        }
    }

    /// Removes every rule (and every reply still to lose).
    pub fn clear(&mut self) {
        self.rules.clear();
        self.lose_next.clear();
    }

    /// The rules, by target.
    pub fn rules(&self) -> &BTreeMap<String, FaultSpec> {
        &self.rules
    }

    /// Whether there is no rule at all (the fast path).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.lose_next.is_empty()
    }

    /// Decides the fate of one call of `action`: the added delay and what to do.
    pub fn decide(&mut self, action: &str) -> (Duration, Injected) {
        if let Some(n) = self.lose_next.get_mut(action) {
            *n -= 1;
            if *n == 0 {
                self.lose_next.remove(action);
            }
            return (Duration::ZERO, Injected::LoseReply(None));
        }
        let Some(spec) = self.rules.get(action).or_else(|| self.rules.get("*")) else {
            return (Duration::ZERO, Injected::Pass);
        };
        let spec = spec.clone();
        let delay = spec.latency.map(|l| l.sample(&mut self.rng)).unwrap_or_default();
        let roll = |rng: &mut fastrand::Rng, rate: f64| rate > 0.0 && rng.f64() < rate;
        let what = if roll(&mut self.rng, spec.drop) {
            Injected::Drop
        } else if roll(&mut self.rng, spec.timeout) {
            Injected::Hang(Duration::from_millis(spec.timeout_ms.unwrap_or(30_000)))
        } else if roll(&mut self.rng, spec.throttle) {
            Injected::Error(throttled())
        } else if roll(&mut self.rng, spec.server_error) {
            Injected::Error(if self.rng.bool() {
                MockError::new(
                    503,
                    "ServiceUnavailable",
                    "The request has failed due to a temporary failure of the server.",
                )
            } else {
                MockError::new(500, "InternalError", "The request processing has failed due to some unknown error.")
            })
        } else if roll(&mut self.rng, spec.lost_reply) {
            Injected::LoseReply(spec.lost_reply_hang_ms.map(Duration::from_millis))
        } else {
            Injected::Pass
        };
        (delay, what)
    }
}

/// The real flow-control answer.
pub fn throttled() -> MockError {
    MockError::new(400, "Throttling.User", "Request was denied due to user flow control.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let f: FaultSpec =
            "throttle:0.5, 5xx:0.1, latency:5ms-1s, drop:0.01, timeout:0.02/2s, lost:0.25/3s".parse().unwrap();
        assert_eq!(f.throttle, 0.5);
        assert_eq!(f.server_error, 0.1);
        assert_eq!(f.latency, Some(Latency::Uniform(5, 1000)));
        assert_eq!(f.drop, 0.01);
        assert_eq!((f.timeout, f.timeout_ms), (0.02, Some(2000)));
        assert_eq!((f.lost_reply, f.lost_reply_hang_ms), (0.25, Some(3000)));
        assert_eq!(f.to_string().parse::<FaultSpec>().unwrap(), f);
        let reset: FaultSpec = "lost:1".parse().unwrap();
        assert_eq!(reset, FaultSpec::none().with_lost_reply(1.0));
        assert_eq!(reset.to_string().parse::<FaultSpec>().unwrap(), reset);
        assert!("lost:1.5".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn the_next_replies_are_lost_for_sure_then_the_rules_apply() {
        let mut f = Faults::new(1);
        f.set("*", FaultSpec::throttle(1.0)).unwrap();
        f.lose_next_replies("CreateVpc", 2);
        assert_eq!(f.decide("CreateVpc").1, Injected::LoseReply(None));
        assert!(matches!(f.decide("DeleteVpc").1, Injected::Error(_)));
        assert_eq!(f.decide("CreateVpc").1, Injected::LoseReply(None));
        assert!(matches!(f.decide("CreateVpc").1, Injected::Error(_)));
        f.clear();
        f.lose_next_replies("CreateVpc", 1);
        assert!(!f.is_empty());
        f.decide("CreateVpc");
        assert!(f.is_empty());
        assert!("throttle:2".parse::<FaultSpec>().is_err());
        assert!("bogus:1".parse::<FaultSpec>().is_err());
        assert!("latency".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn seeded_rates() {
        let mut a = Faults::new(1);
        a.set("*", FaultSpec::throttle(0.3)).unwrap();
        a.set("DescribeVpcs", FaultSpec::none().with_server_error(1.0)).unwrap();
        let mut throttled = 0;
        for _ in 0..10_000 {
            if matches!(a.decide("CreateVpc").1, Injected::Error(e) if e.code == "Throttling.User") {
                throttled += 1;
            }
        }
        assert!((2700..3300).contains(&throttled), "{throttled}");
        assert!(matches!(a.decide("DescribeVpcs").1, Injected::Error(e) if e.status >= 500));
        let mut b = Faults::new(1);
        b.set("*", FaultSpec::throttle(0.3)).unwrap();
        let mut c = Faults::new(1);
        c.set("*", FaultSpec::throttle(0.3)).unwrap();
        let xs: Vec<_> = (0..50).map(|_| b.decide("X").1).collect();
        let ys: Vec<_> = (0..50).map(|_| c.decide("X").1).collect();
        assert_eq!(xs, ys);
    }
}
