//! PageNumber/PageSize and NextToken listings as the product crates' request builders send
//! them: the stream over all pages of a request built (and checked) up front.

use futures_util::stream::{self, BoxStream, StreamExt};
use serde::de::DeserializeOwned;

use crate::paginate::{next_token_stream, page_number_stream, NumberedPage, TokenPage};
use crate::{Error, RpcClient, RpcRequest};

/// Streams every item of a PageNumber/PageSize listing: `request` (an `Err` becomes the
/// stream's only item) is sent once per page of `size` with `PageNumber`/`PageSize` set, and
/// `items` takes a page's items and its `TotalCount` (a `u64`, or an `Option<u64>` when the
/// API may leave it out) out of the answer. Errors of the calls become `E`.
pub fn numbered_stream<R, T, N, E>(
    client: RpcClient,
    request: Result<RpcRequest, E>,
    size: u32,
    items: fn(R) -> (Vec<T>, N),
) -> BoxStream<'static, Result<T, E>>
where
    R: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    N: Into<Option<u64>> + 'static,
    E: From<Error> + Send + 'static,
{
    let req = match request {
        Ok(r) => r,
        Err(e) => return stream::once(async move { Err(e) }).boxed(),
    };
    page_number_stream(size, move |page, size| {
        let client = client.clone();
        let req = req.clone().param("PageNumber", page).param("PageSize", size);
        async move {
            let r: R = client.call(req).await?;
            let (items, total) = items(r);
            Ok(NumberedPage { items, total_count: total.into() })
        }
    })
    .map(|r| r.map_err(E::from))
    .boxed()
}

/// Streams every item of a NextToken listing: `request` (an `Err` becomes the stream's only
/// item) is sent once per page with the previous page's `NextToken`, and `items` takes a
/// page's items and its `NextToken` (a `String`, or an `Option<String>`; empty or `None` at
/// the end) out of the answer. Errors of the calls become `E`.
pub fn token_stream<R, T, N, E>(
    client: RpcClient,
    request: Result<RpcRequest, E>,
    items: fn(R) -> (Vec<T>, N),
) -> BoxStream<'static, Result<T, E>>
where
    R: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    N: Into<Option<String>> + 'static,
    E: From<Error> + Send + 'static,
{
    let req = match request {
        Ok(r) => r,
        Err(e) => return stream::once(async move { Err(e) }).boxed(),
    };
    next_token_stream(move |token: Option<String>| {
        let client = client.clone();
        let req = req.clone().opt_param("NextToken", token);
        async move {
            let r: R = client.call(req).await?;
            let (items, next_token) = items(r);
            Ok(TokenPage { items, next_token: next_token.into() })
        }
    })
    .map(|r| r.map_err(E::from))
    .boxed()
}
