//! Helpers every resource module shares: input checks, tags, decoding.

use ack_net_core::{Removed, RpcRequest};
use serde::de::Deserializer;

use crate::{Error, Tag};

pub(crate) use ack_net_core::de::{opt_parsed, opt_string, wrapped};
pub(crate) use ack_net_core::input::{validate_text, with_client_token};
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

/// What a deletion did: an error that means the thing was already gone is a success.
pub(crate) fn deleted(result: Result<(), Error>, gone: &[&str]) -> Result<Removed, Error> {
    Removed::from_result(result, |e| e.is_gone(gone))
}

/// Decodes `on`/`off` (or a boolean) as a `bool`.
pub(crate) fn on_off_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    ack_net_core::de::boolean(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_rules() {
        let req = || RpcRequest::read(ack_net_core::Product::Slb, "X");
        assert!(add_tags(req(), &[Tag::new("a", "1"), Tag::new("b", "")]).is_ok());
        assert!(add_tags(req(), &[Tag::new("a", "1"), Tag::new("a", "2")]).is_err());
        assert!(check_port("ListenerPort", 0).is_err());
        assert!(with_client_token(req(), Some("")).is_err());
    }
}
