//! Pieces every resource module shares: tags, client tokens, wire enums and decoders.

use std::fmt;

use ack_net_core::de::Wrapped;
use ack_net_core::RpcRequest;
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

use crate::Error;

/// At most this many tags per resource.
pub const MAX_TAGS: usize = 20;

/// A resource tag. VPC requests send tags as `Tag.N.Key` / `Tag.N.Value`; responses carry
/// them as `Tags.Tag[{Key, Value}]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    /// The key (1-128 characters, not starting with `aliyun` or `acs:`).
    #[serde(rename = "Key", default, deserialize_with = "ack_net_core::de::string")]
    pub key: String,
    /// The value (at most 128 characters).
    #[serde(rename = "Value", default, deserialize_with = "ack_net_core::de::string")]
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
pub(crate) fn validate_tags(tags: &[Tag]) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::invalid_input("Tag", format!("at most {MAX_TAGS} tags, not {}", tags.len())));
    }
    for (i, t) in tags.iter().enumerate() {
        let reserved = |s: &str| {
            let l = s.to_ascii_lowercase();
            l.starts_with("aliyun") || l.starts_with("acs:")
        };
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

/// Checks a caller's `ClientToken` (1-64 printable ASCII characters) and sets it.
pub(crate) fn with_client_token(req: RpcRequest, token: Option<&str>) -> Result<RpcRequest, Error> {
    match token {
        None => Ok(req),
        Some(t) if !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_graphic()) => Ok(req.client_token(t)),
        Some(t) => Err(Error::invalid_input("ClientToken", format!("{t:?} must be 1-64 printable ASCII characters"))),
    }
}

/// Checks a name or description: at most `max` characters, and for names the API's rule of
/// not starting with `http://` or `https://`.
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

/// A wrapped list (`{"Vpcs":{"Vpc":[..]}}`, `{}`, missing) as a plain `Vec`.
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

pub(crate) use ack_net_core::wire_enum;

wire_enum!(
    /// The status of a VPC or a VSwitch.
    ResourceStatus {
        /// Being created.
        Pending = "Pending",
        /// Ready to use.
        Available = "Available",
    }
);

/// Streams every item of a PageNumber/PageSize listing: `request` (an `Err` becomes the
/// stream's only item) is sent once per page of `size` with `PageNumber`/`PageSize` set, and
/// `items` takes a page's items and `TotalCount` out of its answer. One loop for every
/// VPC-product listing.
pub(crate) fn numbered_stream<R, T>(
    client: crate::VpcClient,
    request: Result<RpcRequest, crate::Error>,
    size: u32,
    items: fn(R) -> (Vec<T>, u64),
) -> futures_util::stream::BoxStream<'static, Result<T, crate::Error>>
where
    R: DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    use futures_util::stream::{self, StreamExt};
    let req = match request {
        Ok(r) => r,
        Err(e) => return stream::once(async move { Err(e) }).boxed(),
    };
    ack_net_core::paginate::page_number_stream(size, move |page, size| {
        let client = client.clone();
        let req = req.clone().param("PageNumber", page).param("PageSize", size);
        async move {
            let r: R = client.rpc().call(req).await?;
            let (items, total) = items(r);
            Ok(ack_net_core::paginate::NumberedPage { items, total_count: Some(total) })
        }
    })
    .map(|r| r.map_err(crate::Error::from))
    .boxed()
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

    #[test]
    fn wire_enums_keep_unknown_values() {
        let s: ResourceStatus = serde_json::from_str("\"Available\"").unwrap();
        assert_eq!(s, ResourceStatus::Available);
        let s: ResourceStatus = serde_json::from_str("\"Deleting\"").unwrap();
        assert_eq!(s, ResourceStatus::Unknown("Deleting".into()));
        assert_eq!(s.to_string(), "Deleting");
        assert_eq!(serde_json::to_string(&ResourceStatus::Pending).unwrap(), "\"Pending\"");
    }

    #[test]
    fn client_tokens_are_checked() {
        let req = || RpcRequest::idempotent_write(ack_net_core::Product::Vpc, "CreateVpc");
        assert!(with_client_token(req(), Some("abc-1")).is_ok());
        assert!(with_client_token(req(), Some("")).is_err());
        assert!(with_client_token(req(), Some("a b")).is_err());
        assert!(with_client_token(req(), Some(&"x".repeat(65))).is_err());
        assert!(with_client_token(req(), None).is_ok());
    }
}
