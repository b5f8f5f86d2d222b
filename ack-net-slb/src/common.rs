//! Helpers every resource module shares: input checks, tags, decoding.

use ack_net_core::operation::Json;
use ack_net_core::RpcRequest;
use serde::de::Deserializer;
use serde::{Serialize, Serializer};

use crate::{Error, Tag};

pub(crate) use ack_net_core::de::{opt_parsed, opt_string, wrapped};
pub(crate) use ack_net_core::input::validate_text;
pub use ack_net_core::tag::MAX_TAGS;
pub(crate) use ack_net_core::tag::{validate_tags, wire_tags};

/// `on` / `off`.
pub(crate) fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// A port must be 1-65535.
pub(crate) fn check_port(what: &'static str, port: u16) -> Result<u16, Error> {
    if port == 0 {
        Err(Error::InvalidPort { what, port: 0 })
    } else {
        Ok(port)
    }
}

/// Checks a value against an inclusive range.
pub(crate) fn check_range(what: &str, value: i64, min: i64, max: i64) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_input(what, format!("{value} is outside {min}-{max}")))
    }
}

/// Adds tags as `Tag.N.Key` / `Tag.N.Value` (after [`validate_tags`]).
pub(crate) fn add_tags(req: RpcRequest, tags: &[Tag]) -> Result<RpcRequest, Error> {
    validate_tags(tags)?;
    Ok(ack_net_core::tag::add_tags(req, tags))
}

/// Tags sent as SLB's JSON `Tags` parameter (`[{"TagKey":"k","TagValue":"v"}]`); no tags,
/// no parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct JsonTags(pub(crate) Vec<Tag>);

impl Serialize for JsonTags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        let tags: Vec<serde_json::Value> =
            self.0.iter().map(|t| serde_json::json!({"TagKey": t.key, "TagValue": t.value})).collect();
        Json(tags).serialize(s)
    }
}

/// Values sent as one comma-separated parameter (`lb-1,lb-2`); none, no parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Commas<T>(pub(crate) Vec<T>);

impl<T> Default for Commas<T> {
    fn default() -> Self {
        Commas(Vec::new())
    }
}

impl<T: std::fmt::Display> Serialize for Commas<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        s.serialize_str(&self.0.iter().map(T::to_string).collect::<Vec<_>>().join(","))
    }
}

/// Decodes `on`/`off` (or a boolean) as a `bool`.
pub(crate) fn on_off_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    ack_net_core::de::boolean(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ack_net_core::input::with_client_token;

    #[test]
    fn input_rules() {
        let req = || RpcRequest::read(crate::SLB, "X");
        assert!(add_tags(req(), &[Tag::new("a", "1"), Tag::new("b", "")]).is_ok());
        assert!(add_tags(req(), &[Tag::new("a", "1"), Tag::new("a", "2")]).is_err());
        assert!(check_port("ListenerPort", 0).is_err());
        assert!(with_client_token(req(), Some("")).is_err());
    }
}
