//! Helpers every resource module shares: input checks, tags, decoding.

use std::fmt;

use ack_net_core::de::Wrapped;
use ack_net_core::RpcRequest;
use serde::de::{DeserializeOwned, Deserializer};
use serde::Deserialize;

use crate::{Error, Tag};

/// The most tags a load balancer (or group, or listener) may carry.
pub const MAX_TAGS: usize = 20;

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

/// Sets the request's `ClientToken` when one is given (checked: 1-64 printable ASCII).
pub(crate) fn with_client_token(req: RpcRequest, token: Option<&str>) -> Result<RpcRequest, Error> {
    match token {
        None => Ok(req),
        Some(t) if !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_graphic()) => Ok(req.client_token(t)),
        Some(t) => Err(Error::invalid_input("ClientToken", format!("{t:?} must be 1-64 printable ASCII characters"))),
    }
}

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

/// Adds tags as `Tag.N.Key` / `Tag.N.Value` (after [`validate_tags`]).
pub(crate) fn add_tags(mut req: RpcRequest, tags: &[Tag]) -> Result<RpcRequest, Error> {
    validate_tags(tags)?;
    req.params_mut().tags("Tag", "Key", "Value", tags.iter().map(|t| (t.key.as_str(), t.value.as_str())));
    Ok(req)
}

/// A tag as SLB responses carry it.
#[derive(Deserialize)]
struct WireTag {
    #[serde(rename = "TagKey", alias = "Key", default, deserialize_with = "ack_net_core::de::string")]
    key: String,
    #[serde(rename = "TagValue", alias = "Value", default, deserialize_with = "ack_net_core::de::string")]
    value: String,
}

/// Decodes SLB tags: `{"Tag":[{"TagKey","TagValue"}]}`, a bare array, `{}` or missing.
pub(crate) fn wire_tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Tag>, D::Error> {
    let tags = Option::<Wrapped<WireTag>>::deserialize(d)?.map(Wrapped::into_inner).unwrap_or_default();
    Ok(tags.into_iter().map(|t| Tag::new(t.key, t.value)).collect())
}

/// A wrapped list (`{"X":[...]}`, `{}`, `null` or missing) as a `Vec`.
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

/// An optional string: `""`, `null` and a missing field are `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = ack_net_core::de::string(d)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// A call without options, built (and checked) up front: `to_request` shows what will be
/// sent, `send` sends it.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until sent"]
pub struct Call {
    client: crate::SlbClient,
    request: Result<RpcRequest, (String, String)>,
}

impl Call {
    pub(crate) fn new(client: &crate::SlbClient, request: Result<RpcRequest, Error>) -> Self {
        let request = request.map_err(|e| match e {
            Error::Api(ack_net_core::Error::InvalidInput { what, reason }) => (what, reason),
            other => ("request".to_owned(), other.to_string()),
        });
        Self { client: client.clone(), request }
    }

    /// The request as it will be sent, or why it cannot be.
    pub fn to_request(&self) -> Result<RpcRequest, Error> {
        self.request.clone().map_err(|(what, reason)| Error::invalid_input(what, reason))
    }

    /// Sends the request.
    pub async fn send(self) -> Result<(), Error> {
        let req = self.to_request()?;
        self.client.call_unit(req).await
    }
}

/// Whether a deletion's error means the thing was already gone.
pub(crate) fn deleted(result: Result<(), Error>, gone: &[&str]) -> Result<bool, Error> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.is_gone(gone) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Decodes `on`/`off` (or a boolean) as a `bool`.
pub(crate) fn on_off_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    ack_net_core::de::boolean(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(rename = "Tags", default, deserialize_with = "wire_tags")]
        tags: Vec<Tag>,
    }

    #[test]
    fn tags_decode_in_every_shape() {
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

    #[test]
    fn tag_rules() {
        assert!(validate_tags(&[Tag::new("a", "1"), Tag::new("b", "")]).is_ok());
        assert!(validate_tags(&[Tag::new("", "1")]).is_err());
        assert!(validate_tags(&[Tag::new("aliyun:x", "1")]).is_err());
        assert!(validate_tags(&[Tag::new("a", "1"), Tag::new("a", "2")]).is_err());
        let many: Vec<Tag> = (0..21).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        assert!(validate_tags(&many).is_err());
        assert!(check_port("ListenerPort", 0).is_err());
        assert!(with_client_token(RpcRequest::read(ack_net_core::Product::Slb, "X"), Some("")).is_err());
    }
}
