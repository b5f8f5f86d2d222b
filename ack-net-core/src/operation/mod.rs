//! One way to write an operation: an [`Operation`] says what it calls (product, action,
//! idempotency, output, error) and how its input is checked; its fields *are* its parameters,
//! written by a serializer that knows the API's list flattening (`Name.N`, `Tag.N.Key`) and
//! its JSON-text parameters ([`Json`]). The [`operation!`](crate::operation!) macro declares
//! one: the struct, its typed setters (with their doc comments), and `to_request`, `send`,
//! and for listings `into_stream` (items) and `into_pages` (pages), all from the generic
//! functions of this module. Nobody writes a setter or a `send` body by hand.
//!
//! ```
//! use ack_net_core::{operation, Product, RpcClient, Tag};
//!
//! /// What DescribeWidgets answers.
//! #[derive(Debug, serde::Deserialize)]
//! pub struct Widgets {
//!     /// The widgets on this page.
//!     #[serde(rename = "Widgets", default)]
//!     pub widgets: Vec<String>,
//!     /// How many there are over all pages.
//!     #[serde(rename = "TotalCount", default)]
//!     pub total_count: u64,
//! }
//!
//! /// The product (a product crate's public constant, as `ack_net_vpc::VPC`).
//! pub const WIDGETS: Product = Product::new("widgets", "2024-01-01");
//!
//! operation! {
//!     /// A DescribeWidgets request.
//!     pub struct DescribeWidgets: WIDGETS, "DescribeWidgets", read -> Widgets, ack_net_core::Error;
//!     required {}
//!     optional {
//!         /// Only widgets of this name.
//!         name: Option<String> = "WidgetName" => into(String);
//!         /// Only widgets with these tags (all must match).
//!         tags: Vec<Tag> = "Tag" => extend(Tag), push tag;
//!     }
//!     pages: numbered(50), widgets: String, total_count;
//! }
//!
//! # fn main() -> Result<(), ack_net_core::Error> {
//! let rpc = RpcClient::builder().region("cn-hangzhou").credentials(ack_net_core::Credentials::new("id", "secret")).build()?;
//! let req = DescribeWidgets::new(&rpc).name("blue").tag(Tag::new("team", "net")).page_size(20).to_request()?;
//! let params: Vec<_> = req.get_params().iter().collect();
//! assert_eq!(
//!     params,
//!     [("WidgetName", "blue"), ("Tag.1.Key", "team"), ("Tag.1.Value", "net"), ("PageSize", "20")]
//! );
//! assert!(DescribeWidgets::new(&rpc).page_size(51).to_request().is_err(), "checked before any call");
//! # Ok(()) }
//! ```

mod wire;

use std::fmt;

use futures_util::stream::{self, StreamExt};

/// The stream type of listings.
pub use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::input::{validate_page, validate_page_size, with_client_token};
use crate::{Error, Params, Product, RpcClient, RpcRequest};

/// Whether, and how, an operation may be repeated safely (see [`crate::Idempotency`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A read (`Describe*`, `List*`).
    Read,
    /// A write whose action takes a `ClientToken`.
    IdempotentWrite,
    /// A write the API cannot deduplicate.
    Write,
}

/// The paging parameters every listing of these APIs takes; a hidden field of every
/// operation, empty (and so not sent) unless the operation is a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Paging {
    /// `PageNumber` (from 1).
    #[serde(rename = "PageNumber")]
    pub page_number: Option<u32>,
    /// `PageSize`.
    #[serde(rename = "PageSize")]
    pub page_size: Option<u32>,
    /// `NextToken`: where a token listing resumes.
    #[serde(rename = "NextToken")]
    pub next_token: Option<String>,
    /// `MaxResults`: the page size of a token listing.
    #[serde(rename = "MaxResults")]
    pub max_results: Option<u32>,
}

/// A parameter whose value is a JSON document (SLB's `BackendServers`, a listener's
/// `Tags`...): sent as the JSON text of `T`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        wire::json(&self.0, s)
    }
}

impl<T> From<T> for Json<T> {
    fn from(v: T) -> Self {
        Json(v)
    }
}

/// What an idempotent delete, detach or unassign did: every such call of ack-net answers
/// with this, and "already gone" is a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removed {
    /// This call removed it.
    Now,
    /// It was already gone (the API said so with a "not found" or "not assigned" code).
    Already,
}

impl Removed {
    /// `Now` for a success, `Already` for an error that `gone` says means "already gone",
    /// the error otherwise.
    ///
    /// ```
    /// use ack_net_core::Removed;
    /// let gone = |e: &&str| *e == "NotFound";
    /// assert_eq!(Removed::from_result(Ok::<(), &str>(()), gone), Ok(Removed::Now));
    /// assert_eq!(Removed::from_result(Err::<(), &str>("NotFound"), gone), Ok(Removed::Already));
    /// assert_eq!(Removed::from_result(Err::<(), &str>("Throttling"), gone), Err("Throttling"));
    /// ```
    pub fn from_result<T, E>(result: Result<T, E>, gone: impl FnOnce(&E) -> bool) -> Result<Removed, E> {
        match result {
            Ok(_) => Ok(Removed::Now),
            Err(e) if gone(&e) => Ok(Removed::Already),
            Err(e) => Err(e),
        }
    }
}

/// What an action answers when its answer is only its request id (most `Modify*` actions).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct Ack {
    /// The request id.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
}

/// One API operation: its input is `Self` (its fields, as serialized, are the call's
/// parameters). Declare one with [`operation!`](crate::operation!).
pub trait Operation: Serialize + Clone + Send + Sync + 'static {
    /// The product whose API has the action.
    const PRODUCT: Product;
    /// The action's name (the name of every call unless [`action`](Self::action) says
    /// otherwise).
    const ACTION: &'static str;
    /// How it may be retried.
    const KIND: Kind;
    /// For a listing, the largest page the API returns (`PageSize` of a PageNumber listing,
    /// `MaxResults` of a NextToken one).
    const MAX_PAGE_SIZE: Option<u32> = None;
    /// What the action answers, as decoded.
    type Response: DeserializeOwned + Send + 'static;
    /// What `send` returns: the response, or the part of it that matters (a new id).
    type Output: Send + 'static;
    /// The error of the crate declaring the operation.
    type Error: From<Error> + Send + 'static;

    /// The action this request calls: [`ACTION`](Self::ACTION), or, for an operation whose
    /// action depends on its input (an ingress or egress rule), the one the input names.
    fn action(&self) -> &'static str {
        Self::ACTION
    }
    /// The client that sends it.
    fn rpc(&self) -> &RpcClient;
    /// The output of a response.
    fn output(response: Self::Response) -> Self::Output;
    /// The caller's `ClientToken`, if any.
    fn client_token(&self) -> Option<&str>;
    /// The paging parameters.
    fn paging(&self) -> &Paging;
    /// Checks what the types of the fields cannot (lengths, ranges, combinations, the client's
    /// region), before any call.
    fn check(&self) -> Result<(), Self::Error>;
}

/// A listing by `PageNumber`/`PageSize`.
pub trait NumberedPages: Operation {
    /// What the listing lists.
    type Item: Send + 'static;
    /// The paging parameters, to set the page.
    fn paging_mut(&mut self) -> &mut Paging;
    /// How many items a page holds, and `TotalCount` when the API gives it.
    fn progress(page: &Self::Response) -> (usize, Option<u64>);
    /// A page's items.
    fn items(page: Self::Response) -> Vec<Self::Item>;
}

/// A listing by `NextToken`.
pub trait TokenPages: Operation {
    /// What the listing lists.
    type Item: Send + 'static;
    /// The paging parameters, to set the token.
    fn paging_mut(&mut self) -> &mut Paging;
    /// The token of the next page (`None` or empty at the end).
    fn next_token(page: &Self::Response) -> Option<String>;
    /// A page's items.
    fn items(page: Self::Response) -> Vec<Self::Item>;
}

/// The request as it will be sent: the operation's input checked, then serialized.
pub fn to_request<O: Operation>(op: &O) -> Result<RpcRequest, O::Error> {
    if let Some(max) = O::MAX_PAGE_SIZE {
        let p = op.paging();
        validate_page(p.page_number, p.page_size, max)?;
        if let Some(n) = p.max_results {
            validate_page_size("MaxResults", n, 1, max)?;
        }
    }
    op.check()?;
    let mut params = Params::new();
    let action = op.action();
    wire::write(op, &mut params).map_err(|e| Error::invalid_input(action, e.to_string()))?;
    let req = match O::KIND {
        Kind::Read => RpcRequest::read(O::PRODUCT, action),
        Kind::IdempotentWrite => RpcRequest::idempotent_write(O::PRODUCT, action),
        Kind::Write => RpcRequest::write(O::PRODUCT, action),
    };
    Ok(with_client_token(req.params(params), op.client_token())?)
}

/// Checks and sends the operation.
pub async fn send<O: Operation>(op: &O) -> Result<O::Output, O::Error> {
    Ok(O::output(respond(op).await?))
}

/// Checks and sends an idempotent removal: [`Removed::Now`] when it succeeds,
/// [`Removed::Already`] when `gone` says the error means "already gone".
pub async fn send_removing<O: Operation>(op: &O, gone: impl FnOnce(&O::Error) -> bool) -> Result<Removed, O::Error> {
    Removed::from_result(respond(op).await, gone)
}

/// Checks and sends the operation; its response as decoded.
async fn respond<O: Operation>(op: &O) -> Result<O::Response, O::Error> {
    let req = to_request(op)?;
    Ok(op.rpc().call(req).await?)
}

/// Every page of a PageNumber listing, from the first; pages of the operation's page size
/// (the largest the API allows unless set). It stops after a short page, or once
/// `TotalCount` items have been seen; an error (invalid input included) is its last item.
pub fn numbered_pages<O: NumberedPages>(mut op: O) -> BoxStream<'static, Result<O::Response, O::Error>> {
    // A size out of bounds is sent as is, so that the check rejects it as the first page's error.
    let size = op.paging().page_size.or(O::MAX_PAGE_SIZE).unwrap_or(1);
    op.paging_mut().page_size = Some(size);
    let size = size.max(1);
    stream::unfold(Some((op, 1u32, 0u64)), move |state| async move {
        let (mut op, page, seen) = state?;
        op.paging_mut().page_number = Some(page);
        match respond(&op).await {
            Ok(out) => {
                let (n, total) = O::progress(&out);
                let seen = seen + n as u64;
                let done = n < size as usize || total.is_some_and(|t| seen >= t);
                Some((Ok(out), (!done).then_some((op, page + 1, seen))))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed()
}

/// Every page of a NextToken listing, from the first, of the operation's `MaxResults` (the
/// largest the API allows unless set, for a listing declared with one). It stops when the
/// next token is missing or empty, or repeats the one it was given (a server bug that would
/// otherwise loop forever); an error (invalid input included) is its last item.
pub fn token_pages<O: TokenPages>(mut op: O) -> BoxStream<'static, Result<O::Response, O::Error>> {
    op.paging_mut().next_token = None;
    if let Some(max) = O::MAX_PAGE_SIZE {
        op.paging_mut().max_results.get_or_insert(max);
    }
    stream::unfold(Some(op), |state| async move {
        let mut op = state?;
        match respond(&op).await {
            Ok(out) => {
                let next = O::next_token(&out).filter(|t| !t.is_empty());
                let done = next.is_none() || next == op.paging().next_token;
                op.paging_mut().next_token = next;
                Some((Ok(out), (!done).then_some(op)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed()
}

/// The items of a stream of pages.
pub fn items<P, T, E>(
    pages: BoxStream<'static, Result<P, E>>,
    items: fn(P) -> Vec<T>,
) -> BoxStream<'static, Result<T, E>>
where
    P: Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    pages
        .flat_map(move |page| match page {
            Ok(p) => stream::iter(items(p).into_iter().map(Ok)).left_stream(),
            Err(e) => stream::iter([Err(e)]).right_stream(),
        })
        .boxed()
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Read => "read",
            Kind::IdempotentWrite => "idempotent write",
            Kind::Write => "write",
        })
    }
}

/// Declares an [`Operation`]: the struct (its fields are the parameters, named by their wire
/// names), a `pub(crate) fn new(rpc, required...)`, a typed setter per optional field with the
/// field's doc comment, `client_token` for idempotent writes, and `to_request` and `send`;
/// listings (`pages: numbered(MAX), items_field: Item, total_field;` or
/// `pages: token, items_field: Item, next_token_field;`) also get `into_stream` and `into_pages`,
/// numbered ones `page_number` and `page_size`, token ones `next_token`, and token ones declared
/// `token(MAX)` a `MaxResults` setter, `max_results` (`MAX` by default in the streams).
///
/// The kind is `read`, `idempotent_write` or `write`. `-> Out as Wire => map` decodes the
/// answer as `Wire` and returns `map(wire)` (a new resource's id, say); `-> Out` returns the
/// answer as decoded. An optional field is
/// `name: Option<T> = "Wire" => set(T);` (the setter takes a `T`), `=> into(T);` (an
/// `impl Into<T>`: text, and ids owned or borrowed) or, for a list, `names: Vec<T> = "Wire" => extend(T),
/// push name;`, or `=> by_hand(T);` for a field that a hand-written setter sets (one setter
/// for two parameters, say). `check: f;` names a function (or a closure) `fn(&Self) -> Result<(), Error>` run
/// before sending; `action: f;` a `fn(&Self) -> &'static str` for an operation whose action depends on its
/// input (the literal action is then its name in general); `send: by_hand;` leaves `send` to a hand-written
/// method (one that sends more than once, with [`send`](crate::operation::send)); `gone: f;` makes an
/// idempotent removal whose `send` answers [`Removed`], `f(&error)` saying which errors mean "already gone".
/// `local { field: T; }` declares fields that are no parameters (set by hand-written setters). See the [module](mod@crate::operation) for an example.
#[macro_export]
macro_rules! operation {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident: $product:expr, $action:literal, $kind:ident
            -> $output:ty $(as $response:ty => $map:expr)?, $error:ty;
        required { $( $(#[doc = $rdoc:literal])* $rfield:ident: $rty:ty = $rwire:literal; )* }
        optional {
            $( $(#[doc = $odoc:literal])* $ofield:ident: $oty:ty = $owire:literal => $how:ident($sty:ty) $(, push $one:ident)?; )*
        }
        $(local { $( $(#[doc = $ldoc:literal])* $lfield:ident: $lty:ty; )* })?
        $(check: $check:expr;)?
        $(action: $action_of:expr;)?
        $(send: $send_by:ident;)?
        $(gone: $gone:expr;)?
        $(pages: $paging:ident $(($max:expr))?, $items:ident: $item:ty, $progress:ident;)?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, ::serde::Serialize)]
        #[must_use = "a request does nothing until sent"]
        $vis struct $name {
            #[serde(skip)]
            rpc: $crate::RpcClient,
            #[serde(skip)]
            client_token: ::std::option::Option<::std::string::String>,
            $( $(#[doc = $rdoc])* #[serde(rename = $rwire)] $rfield: $rty, )*
            $( $(#[doc = $odoc])* #[serde(rename = $owire)] $ofield: $oty, )*
            $($( $(#[doc = $ldoc])* #[serde(skip)] $lfield: $lty, )*)?
            #[serde(flatten)]
            paging: $crate::operation::Paging,
        }

        impl $name {
            #[allow(dead_code)]
            pub(crate) fn new(rpc: &$crate::RpcClient $(, $rfield: $rty)*) -> Self {
                Self {
                    rpc: rpc.clone(),
                    client_token: None,
                    $($rfield,)*
                    $($ofield: ::std::default::Default::default(),)*
                    $($($lfield: ::std::default::Default::default(),)*)?
                    paging: ::std::default::Default::default(),
                }
            }

            $( $crate::operation!(@setter $(#[doc = $odoc])* $ofield $how $sty $(, $one)?); )*

            $crate::operation!(@client_token $kind);

            /// The request as it will be sent; checks every field first.
            pub fn to_request(&self) -> ::std::result::Result<$crate::RpcRequest, $error> {
                $crate::operation::to_request(self)
            }

            $crate::operation!(@send $output, $error, [$($send_by)?], [$($gone)?]);

            $( $crate::operation!(@pages_methods $paging, $error, [$($max)?]); )?
        }

        impl $crate::operation::Operation for $name {
            const PRODUCT: $crate::Product = $product;
            const ACTION: &'static str = $action;
            const KIND: $crate::operation::Kind = $crate::operation!(@kind $kind);
            $( $( const MAX_PAGE_SIZE: ::std::option::Option<u32> = Some($max); )? )?
            type Response = $crate::operation!(@response $output $(, $response)?);
            type Output = $output;
            type Error = $error;

            fn action(&self) -> &'static str {
                $crate::operation!(@action self, $action $(, $action_of)?)
            }
            fn rpc(&self) -> &$crate::RpcClient {
                &self.rpc
            }
            fn output(response: Self::Response) -> $output {
                $crate::operation!(@output response $(, $map)?)
            }
            fn client_token(&self) -> ::std::option::Option<&str> {
                self.client_token.as_deref()
            }
            fn paging(&self) -> &$crate::operation::Paging {
                &self.paging
            }
            fn check(&self) -> ::std::result::Result<(), $error> {
                $( ($check)(self)?; )?
                Ok(())
            }
        }

        $( $crate::operation!(@pages_impl $paging, $name, $items, $item, $progress); )?
    };

    (@setter $(#[doc = $doc:literal])* $field:ident set $ty:ty) => {
        $(#[doc = $doc])*
        pub fn $field(mut self, value: $ty) -> Self {
            self.$field = Some(value);
            self
        }
    };
    (@setter $(#[doc = $doc:literal])* $field:ident into $ty:ty) => {
        $(#[doc = $doc])*
        pub fn $field(mut self, value: impl ::std::convert::Into<$ty>) -> Self {
            self.$field = Some(value.into());
            self
        }
    };
    (@setter $(#[doc = $doc:literal])* $field:ident extend $ty:ty, $one:ident) => {
        $(#[doc = $doc])*
        pub fn $field(mut self, values: impl ::std::iter::IntoIterator<Item = $ty>) -> Self {
            self.$field.extend(values);
            self
        }
        /// Adds one; see the plural setter.
        pub fn $one(mut self, value: impl ::std::convert::Into<$ty>) -> Self {
            self.$field.push(value.into());
            self
        }
    };

    (@setter $(#[doc = $doc:literal])* $field:ident by_hand $ty:ty) => {};

    (@response $output:ty) => { $output };
    (@response $output:ty, $response:ty) => { $response };
    (@output $response:ident) => { $response };
    (@output $response:ident, $map:expr) => { ($map)($response) };

    (@send $output:ty, $error:ty, [], []) => {
        /// Sends the request.
        pub async fn send(self) -> ::std::result::Result<$output, $error> {
            $crate::operation::send(&self).await
        }
    };
    (@send $output:ty, $error:ty, [by_hand], []) => {};
    (@send $output:ty, $error:ty, [], [$gone:expr]) => {
        /// Sends the request: [`Removed::Already`]($crate::Removed::Already) when it was
        /// already gone.
        pub async fn send(self) -> ::std::result::Result<$crate::Removed, $error> {
            $crate::operation::send_removing(&self, $gone).await
        }
    };

    (@action $op:ident, $action:literal) => { $action };
    (@action $op:ident, $action:literal, $of:expr) => { ($of)($op) };

    (@kind read) => { $crate::operation::Kind::Read };
    (@kind idempotent_write) => { $crate::operation::Kind::IdempotentWrite };
    (@kind write) => { $crate::operation::Kind::Write };

    (@client_token idempotent_write) => {
        /// `ClientToken`: the same token and parameters make the change only once. One is
        /// generated per call otherwise (and reused by the client's retries).
        pub fn client_token(mut self, token: impl ::std::convert::Into<::std::string::String>) -> Self {
            self.client_token = Some(token.into());
            self
        }
    };
    (@client_token $other:ident) => {};

    (@pages_methods numbered, $error:ty, [$max:expr]) => {
        /// The page to fetch with `send` (from 1).
        pub fn page_number(mut self, n: u32) -> Self {
            self.paging.page_number = Some(n);
            self
        }

        /// The page size (1 to the API's largest page). `into_stream` and `into_pages` use
        /// the largest unless set.
        pub fn page_size(mut self, n: u32) -> Self {
            self.paging.page_size = Some(n);
            self
        }

        $crate::operation!(@streams numbered_pages, NumberedPages, $error);
    };
    (@pages_methods token, $error:ty, [$($max:expr)?]) => {
        /// `NextToken`: the page after the one that returned it (an empty token means the first).
        pub fn next_token(mut self, token: impl ::std::convert::Into<::std::string::String>) -> Self {
            self.paging.next_token = Some(token.into()).filter(|t| !t.is_empty());
            self
        }

        $( $crate::operation!(@max_results $max); )?

        $crate::operation!(@streams token_pages, TokenPages, $error);
    };
    (@max_results $max:expr) => {
        /// `MaxResults`: the page size (up to the API's largest). `into_stream` and
        /// `into_pages` use the largest unless set.
        pub fn max_results(mut self, n: u32) -> Self {
            self.paging.max_results = Some(n);
            self
        }
    };
    (@streams $pages:ident, $trait:ident, $error:ty) => {
        /// Every item, over all pages from the first (a page number set is ignored). Invalid
        /// input is the stream's only item.
        pub fn into_stream(
            self,
        ) -> $crate::operation::BoxStream<'static, ::std::result::Result<<Self as $crate::operation::$trait>::Item, $error>> {
            $crate::operation::items($crate::operation::$pages(self), <Self as $crate::operation::$trait>::items)
        }

        /// Every page, from the first (a page number set is ignored). Invalid input is the
        /// stream's only item.
        pub fn into_pages(
            self,
        ) -> $crate::operation::BoxStream<'static, ::std::result::Result<<Self as $crate::operation::Operation>::Response, $error>> {
            $crate::operation::$pages(self)
        }
    };

    (@pages_impl numbered, $name:ident, $items:ident, $item:ty, $total:ident) => {
        impl $crate::operation::NumberedPages for $name {
            type Item = $item;
            fn paging_mut(&mut self) -> &mut $crate::operation::Paging {
                &mut self.paging
            }
            fn progress(page: &Self::Response) -> (usize, ::std::option::Option<u64>) {
                (page.$items.len(), ::std::convert::Into::into(page.$total.clone()))
            }
            fn items(page: Self::Response) -> ::std::vec::Vec<Self::Item> {
                page.$items
            }
        }
    };
    (@pages_impl token, $name:ident, $items:ident, $item:ty, $next:ident) => {
        impl $crate::operation::TokenPages for $name {
            type Item = $item;
            fn paging_mut(&mut self) -> &mut $crate::operation::Paging {
                &mut self.paging
            }
            fn next_token(page: &Self::Response) -> ::std::option::Option<::std::string::String> {
                ::std::convert::Into::into(page.$next.clone())
            }
            fn items(page: Self::Response) -> ::std::vec::Vec<Self::Item> {
                page.$items
            }
        }
    };
}
