//! `Stream`s over paged listings: PageNumber/PageSize and NextToken/MaxResults.

use std::future::Future;

use futures_util::stream::{self, BoxStream, StreamExt};

use crate::error::Error;

/// One page of a PageNumber/PageSize listing.
#[derive(Clone, Debug)]
pub struct NumberedPage<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// `TotalCount` from the response, when given.
    pub total_count: Option<u64>,
}

/// One page of a NextToken listing.
#[derive(Clone, Debug)]
pub struct TokenPage<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The token of the next page; `None` or empty at the end.
    pub next_token: Option<String>,
}

/// Streams every item of a PageNumber/PageSize listing. `fetch(page_number, page_size)`
/// fetches one page (numbers start at 1). It stops after a short or empty page, or once
/// `TotalCount` items have been seen. An error ends the stream after yielding it.
///
/// ```
/// use futures_util::StreamExt;
/// use ack_net_core::paginate::{page_number_stream, NumberedPage};
/// # tokio_test_block_on(async {
/// let items: Vec<u32> = page_number_stream(2, |page, size| async move {
///     let all = [1u32, 2, 3];
///     let start = ((page - 1) * size) as usize;
///     Ok(NumberedPage { items: all.iter().skip(start).take(size as usize).copied().collect(), total_count: Some(3) })
/// })
/// .map(|r| r.unwrap())
/// .collect()
/// .await;
/// assert_eq!(items, vec![1, 2, 3]);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub fn page_number_stream<'a, T, F, Fut>(page_size: u32, fetch: F) -> BoxStream<'a, Result<T, Error>>
where
    T: Send + 'a,
    F: FnMut(u32, u32) -> Fut + Send + 'a,
    Fut: Future<Output = Result<NumberedPage<T>, Error>> + Send + 'a,
{
    struct St<F> {
        fetch: F,
        page: u32,
        seen: u64,
        done: bool,
    }
    let page_size = page_size.max(1);
    stream::unfold(St { fetch, page: 1, seen: 0, done: false }, move |mut st| async move {
        if st.done {
            return None;
        }
        match (st.fetch)(st.page, page_size).await {
            Ok(p) => {
                st.seen += p.items.len() as u64;
                st.page += 1;
                st.done = p.items.len() < page_size as usize || p.total_count.is_some_and(|t| st.seen >= t);
                Some((stream::iter(p.items.into_iter().map(Ok)).boxed(), st))
            }
            Err(e) => {
                st.done = true;
                Some((stream::iter([Err(e)]).boxed(), st))
            }
        }
    })
    .flatten()
    .boxed()
}

/// Streams every item of a NextToken/MaxResults listing. `fetch(token)` fetches one page
/// (`None` for the first). It stops when the next token is missing or empty, or repeats
/// the token it was given (a server bug that would otherwise loop forever).
pub fn next_token_stream<'a, T, E, F, Fut>(fetch: F) -> BoxStream<'a, Result<T, E>>
where
    T: Send + 'a,
    E: Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<TokenPage<T>, E>> + Send + 'a,
{
    struct St<F> {
        fetch: F,
        token: Option<String>,
        done: bool,
    }
    stream::unfold(St { fetch, token: None, done: false }, |mut st| async move {
        if st.done {
            return None;
        }
        match (st.fetch)(st.token.clone()).await {
            Ok(p) => {
                let next = p.next_token.filter(|t| !t.is_empty());
                st.done = next.is_none() || next == st.token;
                st.token = next;
                Some((stream::iter(p.items.into_iter().map(Ok)).boxed(), st))
            }
            Err(e) => {
                st.done = true;
                Some((stream::iter([Err(e)]).boxed(), st))
            }
        }
    })
    .flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn numbered_stops_on_total() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let all: Vec<u32> = (1..=10).collect();
        let got: Vec<u32> = page_number_stream(5, move |page, size| {
            c.fetch_add(1, Ordering::SeqCst);
            let items = all.iter().skip(((page - 1) * size) as usize).take(size as usize).copied().collect();
            async move { Ok(NumberedPage { items, total_count: Some(10) }) }
        })
        .map(Result::unwrap)
        .collect()
        .await;
        assert_eq!(got, (1..=10).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no third, empty page when TotalCount says we are done");
    }

    #[tokio::test]
    async fn token_stream_follows_tokens_and_stops_on_repeat() {
        let got: Vec<u32> = next_token_stream(|tok: Option<String>| async move {
            Ok::<_, Error>(match tok.as_deref() {
                None => TokenPage { items: vec![1, 2], next_token: Some("a".into()) },
                Some("a") => TokenPage { items: vec![3], next_token: Some("b".into()) },
                _ => TokenPage { items: vec![4], next_token: Some("b".into()) },
            })
        })
        .map(Result::unwrap)
        .collect()
        .await;
        assert_eq!(got, vec![1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn errors_end_the_stream() {
        let got: Vec<Result<u32, Error>> =
            next_token_stream(|_tok: Option<String>| async move { Err(Error::invalid_input("x", "y")) })
                .collect()
                .await;
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
    }
}
