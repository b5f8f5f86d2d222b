//! Resource tags, as every product of these APIs takes and checks them.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

use crate::{Error, RpcRequest};

/// At most this many tags per resource.
pub const MAX_TAGS: usize = 20;

/// A resource tag. Requests send tags as `Tag.N.Key` / `Tag.N.Value`; VPC responses carry
/// them as `Tags.Tag[{Key, Value}]`, ECS and SLB ones as `Tags.Tag[{TagKey, TagValue}]`
/// (see [`wire_tags`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    /// The key (1-128 characters, not starting with `aliyun` or `acs:`).
    #[serde(rename = "Key", default, deserialize_with = "crate::de::string")]
    pub key: String,
    /// The value (at most 128 characters).
    #[serde(rename = "Value", default, deserialize_with = "crate::de::string")]
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

/// Checks tags the way the API does: at most 20, keys 1-128 characters and values up to
/// 128, neither starting with the reserved `aliyun` or `acs:`, no key twice.
///
/// ```
/// use ack_net_core::tag::{validate_tags, Tag};
/// assert!(validate_tags(&[Tag::new("team", "net")]).is_ok());
/// assert!(validate_tags(&[Tag::new("acs:x", "net")]).is_err());
/// ```
pub fn validate_tags(tags: &[Tag]) -> Result<(), Error> {
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

/// Adds `Tag.N.Key` / `Tag.N.Value` (unchecked: see [`validate_tags`]).
pub fn add_tags(mut req: RpcRequest, tags: &[Tag]) -> RpcRequest {
    req.params_mut().tags("Tag", "Key", "Value", tags.iter().map(|t| (&t.key, &t.value)));
    req
}

/// A tag as ECS and SLB answer it: `{"TagKey","TagValue"}` (or `Key`/`Value`).
#[derive(Deserialize)]
struct WireTag {
    #[serde(rename = "TagKey", alias = "Key", default, deserialize_with = "crate::de::string")]
    key: String,
    #[serde(rename = "TagValue", alias = "Value", default, deserialize_with = "crate::de::string")]
    value: String,
}

/// Decodes ECS and SLB tags: `{"Tag":[{"TagKey","TagValue"}]}`, a bare array, `{}`, `null`
/// or missing (with `#[serde(default)]`).
pub fn wire_tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Tag>, D::Error> {
    let tags: Vec<WireTag> = crate::de::wrapped(d)?;
    Ok(tags.into_iter().map(|t| Tag::new(t.key, t.value)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked() {
        assert!(validate_tags(&[Tag::new("team", "net"), Tag::new("env", "")]).is_ok());
        assert!(validate_tags(&[Tag::new("", "x")]).is_err());
        assert!(validate_tags(&[Tag::new("aliyun:x", "x")]).is_err());
        assert!(validate_tags(&[Tag::new("k", "acs:x")]).is_err());
        assert!(validate_tags(&[Tag::new("k", "a"), Tag::new("k", "b")]).is_err());
        let many: Vec<Tag> = (0..21).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        assert!(validate_tags(&many).is_err());
        assert!(validate_tags(&many[..20]).is_ok());
    }

    #[derive(Deserialize)]
    struct T {
        #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
        tags: Vec<Tag>,
    }

    #[test]
    fn wire_tags_decode_in_every_shape() {
        let t: T = serde_json::from_str(r#"{"Tags":{"Tag":[{"TagKey":"a","TagValue":"b"}]}}"#).unwrap();
        assert_eq!(t.tags, vec![Tag::new("a", "b")]);
        for (json, n) in [
            (r#"{"Tags":{"Tag":[{"TagKey":"a","TagValue":"1"},{"TagKey":"b","TagValue":""}]}}"#, 2),
            (r#"{"Tags":[{"TagKey":"a","TagValue":"1"}]}"#, 1),
            (r#"{"Tags":{}}"#, 0),
            (r#"{}"#, 0),
        ] {
            let t: T = serde_json::from_str(json).unwrap();
            assert_eq!(t.tags.len(), n, "{json}");
        }
    }
}
