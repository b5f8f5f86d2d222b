//! Pieces every module shares: ECS tags, client tokens, wire enums and decoders.

use std::fmt;

use ack_net_core::de::Wrapped;
use ack_net_core::RpcRequest;
use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;

use crate::{Error, Tag};

/// At most this many tags per resource.
pub const MAX_TAGS: usize = 20;

/// The most addresses one AssignPrivateIpAddresses or AssignIpv6Addresses call may ask for.
pub const MAX_ADDRESSES_PER_CALL: usize = 10;

/// Checks tags the way the API does: at most 20, keys 1-128 characters and values up to
/// 128, neither starting with the reserved `aliyun` or `acs:`, no key twice.
pub(crate) fn validate_tags(tags: &[Tag]) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::invalid_input("Tag", format!("at most {MAX_TAGS} tags, not {}", tags.len())));
    }
    let reserved = |s: &str| {
        let l = s.to_ascii_lowercase();
        l.starts_with("aliyun") || l.starts_with("acs:")
    };
    for (i, t) in tags.iter().enumerate() {
        if t.key.is_empty() || t.key.chars().count() > 128 || reserved(&t.key) {
            return Err(Error::invalid_input(
                "Tag.Key",
                format!("{:?} must be 1-128 characters and not start with aliyun or acs:", t.key),
            ));
        }
        if t.value.chars().count() > 128 || reserved(&t.value) {
            return Err(Error::invalid_input(
                "Tag.Value",
                format!("{:?} must be at most 128 characters and not start with aliyun or acs:", t.value),
            ));
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(Error::invalid_input("Tag.Key", format!("{:?} is given twice", t.key)));
        }
    }
    Ok(())
}

/// Adds `Tag.N.Key` / `Tag.N.Value`.
pub(crate) fn add_tags(mut req: RpcRequest, tags: &[Tag]) -> RpcRequest {
    req.params_mut().tags("Tag", "Key", "Value", tags.iter().map(|t| (&t.key, &t.value)));
    req
}

/// Checks a `ClientToken` (1-64 printable ASCII characters).
pub(crate) fn validate_client_token(t: &str) -> Result<(), Error> {
    if !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid_input("ClientToken", format!("{t:?} must be 1-64 printable ASCII characters")))
    }
}

/// Checks a caller's `ClientToken` and sets it.
pub(crate) fn with_client_token(req: RpcRequest, token: Option<&str>) -> Result<RpcRequest, Error> {
    match token {
        None => Ok(req),
        Some(t) => {
            validate_client_token(t)?;
            Ok(req.client_token(t))
        }
    }
}

/// Checks a name or description: at most `max` characters, not starting with `http://` or
/// `https://`.
pub(crate) fn validate_text(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.chars().count() > max {
        return Err(Error::invalid_input(what, format!("at most {max} characters")));
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        return Err(Error::invalid_input(what, "must not start with http:// or https://"));
    }
    Ok(())
}

/// Checks a page size against the API's bounds.
pub(crate) fn validate_page_size(what: &str, size: u32, min: u32, max: u32) -> Result<(), Error> {
    if (min..=max).contains(&size) {
        Ok(())
    } else {
        Err(Error::invalid_input(what, format!("must be between {min} and {max}, not {size}")))
    }
}

/// A wrapped list (`{"X":{"Y":[..]}}`, `{}`, missing) as a plain `Vec`.
pub(crate) fn wrapped<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Wrapped<T>>::deserialize(d)?.map(Wrapped::into_inner).unwrap_or_default())
}

/// An optional id or value: `""`, `null` and a missing field are `None`.
pub(crate) fn opt_parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String>,
    <T as TryFrom<String>>::Error: fmt::Display,
{
    let s = ack_net_core::de::string(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    T::try_from(s).map(Some).map_err(serde::de::Error::custom)
}

/// A tag as ECS answers it: `{"TagKey","TagValue"}`.
#[derive(Deserialize)]
struct EcsTag {
    #[serde(rename = "TagKey", alias = "Key", default, deserialize_with = "ack_net_core::de::string")]
    key: String,
    #[serde(rename = "TagValue", alias = "Value", default, deserialize_with = "ack_net_core::de::string")]
    value: String,
}

/// ECS tags (`Tags.Tag[{TagKey,TagValue}]`) as [`Tag`]s.
pub(crate) fn ecs_tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Tag>, D::Error> {
    let tags: Vec<EcsTag> = wrapped(d)?;
    Ok(tags.into_iter().map(|t| Tag::new(t.key, t.value)).collect())
}

pub(crate) use ack_net_core::wire_enum;

/// Whether a removal's answer means "already done": the address is not on the ENI, or the
/// ENI (or instance) is gone.
pub(crate) fn already_removed(e: &ack_net_core::Error) -> bool {
    e.is_code("InvalidIp.IpUnassigned") || e.is_code("InvalidEniId.NotFound") || e.is_code("InvalidEcsId.NotFound")
}

/// What a removal did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removed {
    /// The call removed it.
    Now,
    /// It was already gone (`InvalidIp.IpUnassigned`, `InvalidEniId.NotFound`...): success.
    Already,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked() {
        assert!(validate_tags(&[Tag::new("team", "net"), Tag::new("env", "")]).is_ok());
        assert!(validate_tags(&[Tag::new("", "x")]).is_err());
        assert!(validate_tags(&[Tag::new("aliyun:x", "x")]).is_err());
        assert!(validate_tags(&[Tag::new("k", "a"), Tag::new("k", "b")]).is_err());
        let many: Vec<Tag> = (0..21).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        assert!(validate_tags(&many).is_err());
    }

    #[test]
    fn ecs_tags_decode() {
        #[derive(Deserialize)]
        struct R {
            #[serde(rename = "Tags", default, deserialize_with = "ecs_tags")]
            tags: Vec<Tag>,
        }
        let r: R = serde_json::from_str(r#"{"Tags":{"Tag":[{"TagKey":"a","TagValue":"b"}]}}"#).unwrap();
        assert_eq!(r.tags, vec![Tag::new("a", "b")]);
        let r: R = serde_json::from_str(r#"{"Tags":{}}"#).unwrap();
        assert!(r.tags.is_empty());
    }

    #[test]
    fn client_tokens() {
        assert!(validate_client_token("node-1/eni-0").is_ok());
        assert!(validate_client_token("").is_err());
        assert!(validate_client_token("a b").is_err());
        assert!(validate_client_token(&"x".repeat(65)).is_err());
    }
}
