//! Pieces every resource module shares: tags, client tokens, wire enums and decoders.

use ack_net_core::RpcRequest;
use serde::de::DeserializeOwned;

pub(crate) use ack_net_core::de::{opt_parsed, wrapped};
pub(crate) use ack_net_core::input::{validate_page_size, validate_text, with_client_token};
pub(crate) use ack_net_core::tag::{add_tags, validate_tags};
pub use ack_net_core::tag::{Tag, MAX_TAGS};
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
    fn wire_enums_keep_unknown_values() {
        let s: ResourceStatus = serde_json::from_str("\"Available\"").unwrap();
        assert_eq!(s, ResourceStatus::Available);
        let s: ResourceStatus = serde_json::from_str("\"Deleting\"").unwrap();
        assert_eq!(s, ResourceStatus::Unknown("Deleting".into()));
        assert_eq!(s.to_string(), "Deleting");
        assert_eq!(serde_json::to_string(&ResourceStatus::Pending).unwrap(), "\"Pending\"");
    }
}
