//! Validated ids, instance type names and MAC addresses. ENI and instance ids come from
//! `ack-net-core`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

ack_net_core::define_id!(
    /// A security group id, `sg-...`.
    SecurityGroupId,
    "security group id",
    ["sg-"]
);

/// An instance type such as `ecs.g7.large` or `ecs.t6-c1m2.large`: `ecs.`, a family and a
/// size, each made of lowercase letters, digits and dashes.
///
/// ```
/// use ack_net_eni::InstanceTypeId;
/// let t: InstanceTypeId = "ecs.g7.large".parse().unwrap();
/// assert_eq!(t.family(), "ecs.g7");
/// assert!("g7.large".parse::<InstanceTypeId>().is_err());
/// assert!("ecs.G7.large".parse::<InstanceTypeId>().is_err());
/// assert!("ecs.g7".parse::<InstanceTypeId>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceTypeId(String);

impl InstanceTypeId {
    /// Validates and wraps an instance type name.
    pub fn new(id: impl Into<String>) -> Result<Self, ack_net_core::Error> {
        let id = id.into();
        let ok = id.len() <= 64
            && id.strip_prefix("ecs.").is_some_and(|rest| {
                let parts: Vec<&str> = rest.split('.').collect();
                parts.len() >= 2
                    && parts.iter().all(|p| {
                        !p.is_empty()
                            && !p.starts_with('-')
                            && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    })
            });
        if ok {
            Ok(Self(id))
        } else {
            Err(ack_net_core::Error::invalid_input(
                "instance type",
                format!("{id:?} is not an instance type like ecs.g7.large"),
            ))
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The family, e.g. `ecs.g7` for `ecs.g7.large`.
    pub fn family(&self) -> &str {
        self.0.rsplit_once('.').map_or(self.0.as_str(), |(f, _)| f)
    }
}

impl fmt::Display for InstanceTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for InstanceTypeId {
    type Err = ack_net_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for InstanceTypeId {
    type Error = ack_net_core::Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<&InstanceTypeId> for InstanceTypeId {
    fn from(id: &InstanceTypeId) -> Self {
        id.clone()
    }
}

impl AsRef<str> for InstanceTypeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for InstanceTypeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InstanceTypeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A MAC address. Parses `00:16:3e:01:02:03` (or with `-`, any case); prints lowercase with
/// colons, as the API does.
///
/// ```
/// use ack_net_eni::Mac;
/// let m: Mac = "00:16:3E:0a:0b:0c".parse().unwrap();
/// assert_eq!(m.to_string(), "00:16:3e:0a:0b:0c");
/// assert_eq!(m.octets(), [0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c]);
/// assert!("00:16:3e:0a:0b".parse::<Mac>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac([u8; 6]);

impl Mac {
    /// A MAC from its six octets.
    pub const fn new(octets: [u8; 6]) -> Self {
        Self(octets)
    }

    /// The six octets.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3], o[4], o[5])
    }
}

impl FromStr for Mac {
    type Err = ack_net_core::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ack_net_core::Error::invalid_input("MAC address", format!("{s:?} is not like 00:16:3e:01:02:03"));
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split(sep) {
            if n == 6 || part.len() != 2 {
                return Err(bad());
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| bad())?;
            n += 1;
        }
        if n == 6 {
            Ok(Mac(out))
        } else {
            Err(bad())
        }
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EniId, InstanceId};

    #[test]
    fn instance_types() {
        for ok in ["ecs.g7.large", "ecs.t6-c1m2.large", "ecs.ebmg7.32xlarge", "ecs.gn6i-c4g1.xlarge"] {
            assert!(InstanceTypeId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ecs.", "ecs.g7.", "ecs..large", "ecs.g7 .large", "ECS.g7.large", "ecs.-x.large"] {
            assert!(InstanceTypeId::new(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::from_str::<InstanceTypeId>("\"ecs.g7.large\"").unwrap().family(), "ecs.g7");
        assert!(serde_json::from_str::<InstanceTypeId>("\"nope\"").is_err());
    }

    #[test]
    fn macs_round_trip() {
        for s in ["00:16:3e:00:00:01", "ff:ff:ff:ff:ff:ff"] {
            assert_eq!(s.parse::<Mac>().unwrap().to_string(), s);
        }
        assert_eq!("00-16-3E-00-00-01".parse::<Mac>().unwrap().to_string(), "00:16:3e:00:00:01");
        for bad in ["", "00:16:3e:00:00", "00:16:3e:00:00:01:02", "0:16:3e:00:00:01", "zz:16:3e:00:00:01"] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
        let m: Mac = serde_json::from_str("\"00:16:3e:aa:bb:cc\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"00:16:3e:aa:bb:cc\"");
    }

    #[test]
    fn ids() {
        assert!(EniId::new("eni-abc").is_ok());
        assert!(EniId::new("eni-").is_err());
        assert!(SecurityGroupId::new("sg-abc").is_ok());
        assert!(InstanceId::new("sg-abc").is_err());
    }
}
