//! Region and zone ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

fn is_region_form(s: &str) -> bool {
    // `cn-hangzhou`, `ap-southeast-1`, `cn-shanghai-finance-1`: lowercase words joined by
    // single dashes, starting with letters, at least two words.
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 2
        && s.len() <= 64
        && parts[0].len() >= 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// A region id such as `cn-hangzhou`.
///
/// ```
/// use ack_net_core::RegionId;
/// let r: RegionId = "cn-hangzhou".parse().unwrap();
/// assert_eq!(r.as_str(), "cn-hangzhou");
/// assert!("Hangzhou".parse::<RegionId>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionId(String);

impl RegionId {
    /// Validates and wraps a region id.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if is_region_form(&id) {
            Ok(Self(id))
        } else {
            Err(Error::invalid_input("region id", format!("{id:?} is not a region id like cn-hangzhou")))
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A zone id such as `cn-hangzhou-h`: its region id followed by a zone suffix.
///
/// ```
/// use ack_net_core::ZoneId;
/// let z: ZoneId = "cn-hangzhou-h".parse().unwrap();
/// assert_eq!(z.region().as_str(), "cn-hangzhou");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneId(String);

impl ZoneId {
    /// Validates and wraps a zone id: a region id followed by `-` and a short suffix
    /// (`cn-hangzhou-h`), or, for regions ending in a digit, by letters (`ap-southeast-1a`).
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if Self::split(&id).is_some() {
            Ok(Self(id))
        } else {
            Err(Error::invalid_input("zone id", format!("{id:?} is not a zone id like cn-hangzhou-h")))
        }
    }

    fn split(id: &str) -> Option<&str> {
        // `ap-southeast-1a`: region ending in a digit, then one or two letters.
        let letters = id.bytes().rev().take_while(|b| b.is_ascii_lowercase()).count();
        let region = &id[..id.len() - letters];
        if (1..=2).contains(&letters) && region.ends_with(|c: char| c.is_ascii_digit()) {
            return is_region_form(region).then_some(region);
        }
        // `cn-hangzhou-h`: region, dash, a short suffix with at least one letter.
        let (region, suffix) = id.rsplit_once('-')?;
        (is_region_form(region)
            && !suffix.is_empty()
            && suffix.len() <= 8
            && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && suffix.bytes().any(|b| b.is_ascii_lowercase()))
        .then_some(region)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region the zone belongs to.
    pub fn region(&self) -> RegionId {
        RegionId(Self::split(&self.0).expect("validated on construction").to_owned())
    }
}

macro_rules! string_newtype_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                Self::new(s)
            }
        }
        impl TryFrom<&str> for $t {
            type Error = Error;
            fn try_from(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl From<&$t> for $t {
            fn from(v: &$t) -> $t {
                v.clone()
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
string_newtype_impls!(RegionId);
string_newtype_impls!(ZoneId);

/// Defines a validated string id newtype whose values start with one of the given prefixes
/// (`vpc-`, `vsw-`...). Product crates use it for their ids so that every id checks its
/// form the same way.
///
/// ```
/// ack_net_core::define_id!(
///     /// A VPC id, `vpc-...`.
///     VpcId, "VPC id", ["vpc-"]
/// );
/// assert!(VpcId::new("vpc-bp1abc").is_ok());
/// assert!(VpcId::new("vsw-bp1abc").is_err());
/// ```
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, [$($prefix:literal),+ $(,)?]) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The prefixes an id of this kind starts with.
            pub const PREFIXES: &'static [&'static str] = &[$($prefix),+];

            /// Validates and wraps an id: one of [`Self::PREFIXES`] followed by 1-64
            /// letters, digits, `-` or `_`.
            pub fn new(id: impl Into<String>) -> ::std::result::Result<Self, $crate::Error> {
                let id: String = id.into();
                let ok = Self::PREFIXES.iter().any(|p| {
                    id.strip_prefix(p).is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.len() <= 64
                            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    })
                });
                if ok {
                    Ok(Self(id))
                } else {
                    Err($crate::Error::invalid_input(
                        $what,
                        format!("{:?} is not a {} (expected a prefix in {:?})", id, $what, Self::PREFIXES),
                    ))
                }
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> ::std::result::Result<Self, $crate::Error> {
                Self::new(s)
            }
        }
        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::Error;
            fn try_from(s: String) -> ::std::result::Result<Self, $crate::Error> {
                Self::new(s)
            }
        }
        impl ::std::convert::TryFrom<&str> for $name {
            type Error = $crate::Error;
            fn try_from(s: &str) -> ::std::result::Result<Self, $crate::Error> {
                Self::new(s)
            }
        }
        impl ::std::convert::From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        /// Lets a setter taking `impl Into<Id>` take a borrowed id too.
        impl ::std::convert::From<&$name> for $name {
            fn from(v: &$name) -> $name {
                v.clone()
            }
        }
        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in ["cn-hangzhou", "ap-southeast-1", "cn-shanghai-finance-1", "eu-central-1"] {
            assert!(RegionId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "cn", "CN-hangzhou", "cn--x", "cn-hangzhou-", "-cn", "cn_hangzhou", "c-x"] {
            assert!(RegionId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zones() {
        let z = ZoneId::new("ap-southeast-1a").unwrap();
        assert_eq!(z.region().as_str(), "ap-southeast-1");
        let z = ZoneId::new("cn-hangzhou-h").unwrap();
        assert_eq!(z.region().as_str(), "cn-hangzhou");
        assert!(ZoneId::new("cn").is_err());
        assert!(ZoneId::new("cn-hangzhou-").is_err());
        assert!(ZoneId::new("cn-hangzhou").is_err());
        assert_eq!(ZoneId::new("cn-shanghai-finance-1z").unwrap().region().as_str(), "cn-shanghai-finance-1");
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<RegionId>("\"cn-beijing\"").is_ok());
        assert!(serde_json::from_str::<RegionId>("\"Beijing\"").is_err());
    }
}
