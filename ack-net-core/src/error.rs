//! The core error type and the mapping from the API's `Code` to an [`ErrorClass`].

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What kind of failure an error is: what retry logic and callers decide on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The cloud throttled the call; retry after backing off.
    Throttled,
    /// A transient server-side failure or a state conflict that resolves by itself.
    Retryable,
    /// The nonce was already used: re-sign and retry once.
    NonceReused,
    /// Credentials or permissions are wrong; never retried.
    Auth,
    /// The resource does not exist.
    NotFound,
    /// A quota or address space is exhausted; the caller decides.
    Capacity,
    /// The request is malformed or a parameter is invalid; never retried.
    InvalidInput,
    /// The request conflicts with the resource's state or another request
    /// (e.g. `IdempotentParameterMismatch`, a dependency still exists).
    Conflict,
    /// Connecting or reading failed.
    Transport,
    /// No answer within the timeout.
    Timeout,
    /// The answer could not be decoded.
    Decode,
    /// Credentials could not be obtained.
    Credentials,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// Whether the retry layer may retry an error of this class (subject to idempotency).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throttled
                | ErrorClass::Retryable
                | ErrorClass::NonceReused
                | ErrorClass::Transport
                | ErrorClass::Timeout
        )
    }
}

/// Classifies an API error by its `Code` (authoritative) and HTTP status (fallback), as
/// PROTOCOL.md lists them.
///
/// ```
/// use ack_net_core::{classify, ErrorClass};
/// assert_eq!(classify("Throttling.User", 400), ErrorClass::Throttled);
/// assert_eq!(classify("InvalidVSwitchId.IpNotEnough", 400), ErrorClass::Capacity);
/// assert_eq!(classify("InvalidEniId.NotFound", 404), ErrorClass::NotFound);
/// ```
pub fn classify(code: &str, status: u16) -> ErrorClass {
    const CAPACITY: &[&str] = &[
        "InvalidVSwitchId.IpNotEnough",
        "QuotaExceeded.PrivateIpAddress",
        "VSwitchAvailableIpNotExist",
        "EniPerInstanceLimitExceeded",
        "MaxEniCountExceeded",
        "InvalidOperation.Ipv4CountExceeded",
        "InvalidOperation.Ipv6CountExceeded",
        "InstanceBackendServerNumberOverLimit",
    ];
    const RETRYABLE: &[&str] = &[
        "ServiceUnavailable",
        "InternalError",
        "UnknownError",
        "SystemBusy",
        "OperationConflict",
        "Operation.Conflict",
        "LastTokenProcessing",
        "OperationFailed.LastTokenProcessing",
        "IdempotentProcessing",
        "TaskConflict",
        "InvalidOperation.InvalidEniState",
        "InvalidOperation.InvalidEcsState",
        "ServiceUnavailable.Internal",
    ];
    const AUTH: &[&str] = &[
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidTimeStamp.Expired",
        "InvalidTimeStamp.Format",
        "InvalidSecurityToken.Expired",
        "InvalidSecurityToken.Malformed",
        "InvalidSecurityToken.MismatchWithAccessKey",
        "NoPermission",
        "UnsupportedSignatureType",
    ];
    if code.starts_with("Throttling") || code == "Rejected.Throttling" || code == "ServiceUnavailable.Throttling" {
        return ErrorClass::Throttled;
    }
    if code == "SignatureNonceUsed" {
        return ErrorClass::NonceReused;
    }
    if CAPACITY.contains(&code) || code.starts_with("QuotaExceeded") {
        return ErrorClass::Capacity;
    }
    // `IncorrectStatus.*`, `IncorrectVpcStatus`, `IncorrectVSwitchStatus`, `IncorrectInstanceStatus`...:
    // the resource is busy changing state; it settles by itself.
    let busy = code.starts_with("Incorrect") && (code.contains("Status") || code.contains("State"));
    if RETRYABLE.contains(&code) || busy {
        return ErrorClass::Retryable;
    }
    if AUTH.contains(&code) || code.starts_with("Forbidden") {
        return ErrorClass::Auth;
    }
    if code == "IdempotentParameterMismatch"
        || code.starts_with("DependencyViolation")
        || code.starts_with("ResourceInUse")
    {
        return ErrorClass::Conflict;
    }
    if code.ends_with(".NotFound") || code.ends_with("NotFound") || code.starts_with("InvalidAction.NotFound") {
        return if code.starts_with("InvalidAction") { ErrorClass::InvalidInput } else { ErrorClass::NotFound };
    }
    if code.starts_with("InvalidParameter") || code.starts_with("MissingParameter") || code.starts_with("Invalid") {
        return ErrorClass::InvalidInput;
    }
    match status {
        429 => ErrorClass::Throttled,
        500 | 502 | 503 | 504 => ErrorClass::Retryable,
        401 | 403 => ErrorClass::Auth,
        404 => ErrorClass::NotFound,
        409 => ErrorClass::Conflict,
        400 => ErrorClass::InvalidInput,
        _ => ErrorClass::Other,
    }
}

/// An error answered by the API: the fields of its error body and the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApiError {
    /// The error code, e.g. `InvalidVSwitchId.IpNotEnough`. Authoritative.
    #[serde(rename = "Code", default)]
    pub code: String,
    /// The human-readable message (secrets redacted).
    #[serde(rename = "Message", default)]
    pub message: String,
    /// The request id, for support tickets.
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    /// The host that answered.
    #[serde(rename = "HostId", default)]
    pub host_id: String,
    /// A link to the diagnosis page, when the API gives one.
    #[serde(rename = "Recommend", default)]
    pub recommend: String,
    /// The HTTP status.
    #[serde(skip)]
    pub status: u16,
}

impl ApiError {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        classify(&self.code, self.status)
    }
}

/// How a transport-level failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made; the request was never sent.
    Connect,
    /// The request was sent but the answer was lost (reset, truncated read).
    Io,
    /// Anything else (TLS, a malformed URL at send time...).
    Other,
}

/// The error of every ack-net call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error.
    #[error("{action}: {} ({}): {} [RequestId {}]", .error.code, .error.status, .error.message, .error.request_id)]
    Api {
        /// The action that failed.
        action: String,
        /// What the API said.
        error: Box<ApiError>,
    },
    /// The input was rejected before any request was sent.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was invalid (a parameter or field name).
        what: String,
        /// Why.
        reason: String,
    },
    /// Sending the request or reading the answer failed.
    #[error("{action}: transport error ({kind:?}): {message}")]
    Transport {
        /// The action.
        action: String,
        /// How it failed.
        kind: TransportErrorKind,
        /// Details.
        message: String,
    },
    /// No answer within the timeout.
    #[error("{action}: no answer within {after:?}")]
    Timeout {
        /// The action.
        action: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The answer was not what the API documents.
    #[error("{action}: cannot decode the answer (HTTP {status}): {message}")]
    Decode {
        /// The action.
        action: String,
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// Credentials could not be obtained.
    #[error("credentials from {provider}: {message}")]
    Credentials {
        /// The provider that failed.
        provider: String,
        /// Why.
        message: String,
    },
}

impl Error {
    /// An [`Error::InvalidInput`].
    pub fn invalid_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput { what: what.into(), reason: reason.into() }
    }

    /// An [`Error::Credentials`].
    pub fn credentials(provider: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::Credentials { provider: provider.into(), message: message.to_string() }
    }

    /// An API error of class [`ErrorClass::NotFound`] for a `get` whose listing answered
    /// without the thing asked for (a listing filtered by an unknown id answers an empty
    /// page, not an error): `code` is the code the API gives for that id elsewhere, and
    /// `request_id` the listing's. Every `get` of the family answers a missing resource so.
    ///
    /// ```
    /// use ack_net_core::{Error, ErrorInfo};
    /// let e = Error::not_found("DescribeVpcs", "InvalidVpcId.NotFound", "vpc-1 is not listed", "7C1E-..");
    /// assert!(e.is_not_found() && e.is_code("InvalidVpcId.NotFound"));
    /// assert_eq!(e.request_id(), Some("7C1E-.."));
    /// ```
    pub fn not_found(
        action: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
        request_id: impl Into<String>,
    ) -> Self {
        let error = ApiError {
            code: code.into(),
            message: message.into(),
            request_id: request_id.into(),
            status: 404,
            ..ApiError::default()
        };
        Error::Api { action: action.into(), error: Box::new(error) }
    }

    /// The API error, when the API answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// What every ack-net error answers, whichever crate it comes from: its class, and the
/// API's code and request id when the cloud answered. [`Error`] implements it, and so do the
/// errors of ack-net-vpc, ack-net-eni and ack-net-slb (each wraps a core error in its `Api`
/// variant), the ENI pool's `PoolError` and the SLB bindings' `BindingError` and `IngressError`; each names the
/// core error underneath with [`core`](ErrorInfo::core), and the accessors answer from it.
/// Bring it into scope to ask (`use ack_net_core::ErrorInfo;`, re-exported by each product
/// crate).
///
/// ```
/// use ack_net_core::{Error, ErrorClass, ErrorInfo};
/// let e = Error::invalid_input("PageSize", "0 is outside 1-50");
/// assert_eq!(e.class(), ErrorClass::InvalidInput);
/// assert!(e.is_invalid_input() && !e.is_retryable() && !e.is_not_found());
/// assert_eq!((e.code(), e.request_id()), (None, None));
/// ```
pub trait ErrorInfo {
    /// The class: what retry logic and callers decide on.
    fn class(&self) -> ErrorClass;

    /// The core error underneath (of the call that failed), when there is one.
    fn core(&self) -> Option<&Error>;

    /// The API's error code, when the API answered with one.
    fn code(&self) -> Option<&str> {
        self.core().and_then(Error::api).map(|e| e.code.as_str())
    }

    /// Whether the API answered with exactly this code.
    fn is_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// The request id of the failed call, when the API gave one.
    fn request_id(&self) -> Option<&str> {
        self.core().and_then(Error::api).map(|e| e.request_id.as_str()).filter(|s| !s.is_empty())
    }

    /// Whether the resource was not found.
    fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }

    /// Whether the input was rejected (before any call, or by the API).
    fn is_invalid_input(&self) -> bool {
        self.class() == ErrorClass::InvalidInput
    }

    /// Whether a quota or an address space is exhausted: retrying will not help, another
    /// VSwitch, instance or ENI may.
    fn is_capacity(&self) -> bool {
        self.class() == ErrorClass::Capacity
    }

    /// Whether the request conflicts with the resource's state or with something the caller
    /// does not own.
    fn is_conflict(&self) -> bool {
        self.class() == ErrorClass::Conflict
    }

    /// Whether retrying later may help (the classes the retry layer retries).
    fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }
}

impl ErrorInfo for Error {
    fn class(&self) -> ErrorClass {
        match self {
            Error::Api { error, .. } => error.class(),
            Error::InvalidInput { .. } => ErrorClass::InvalidInput,
            Error::Transport { .. } => ErrorClass::Transport,
            Error::Timeout { .. } => ErrorClass::Timeout,
            Error::Decode { .. } => ErrorClass::Decode,
            Error::Credentials { .. } => ErrorClass::Credentials,
        }
    }

    fn core(&self) -> Option<&Error> {
        Some(self)
    }
}

/// Removes an AccessKeyId from a server message (`SignatureDoesNotMatch` echoes the
/// server's string-to-sign, which contains it), both as given and percent-encoded in a
/// string to sign.
pub fn redact_access_key_id(message: &str, access_key_id: &str) -> String {
    let mut out = message.to_owned();
    if !access_key_id.is_empty() {
        out = out.replace(access_key_id, "***");
    }
    // Also catch any AccessKeyId=... in a (possibly double) percent-encoded string to sign.
    for marker in ["AccessKeyId%3D", "AccessKeyId="] {
        let mut search_from = 0;
        while let Some(pos) = out[search_from..].find(marker) {
            let start = search_from + pos + marker.len();
            let end = out[start..].find(['%', '&', ' ', '"']).map_or(out.len(), |e| start + e);
            out.replace_range(start..end, "***");
            search_from = start + 3;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for c in ["Throttling", "Throttling.User", "Throttling.Api", "Rejected.Throttling"] {
            assert_eq!(classify(c, 400), ErrorClass::Throttled, "{c}");
        }
        for c in [
            "ServiceUnavailable",
            "InternalError",
            "IncorrectStatus.Eni",
            "IncorrectVpcStatus",
            "IncorrectVSwitchStatus",
            "IncorrectRouteEntryStatus",
            "InvalidOperation.InvalidEniState",
        ] {
            assert_eq!(classify(c, 500), ErrorClass::Retryable, "{c}");
        }
        assert_eq!(classify("SignatureNonceUsed", 400), ErrorClass::NonceReused);
        assert_eq!(classify("SignatureDoesNotMatch", 400), ErrorClass::Auth);
        assert_eq!(classify("Forbidden.RAM", 403), ErrorClass::Auth);
        assert_eq!(classify("InvalidAccessKeyId.NotFound", 404), ErrorClass::Auth);
        assert_eq!(classify("IdempotentParameterMismatch", 400), ErrorClass::Conflict);
        assert_eq!(classify("InvalidParameter", 400), ErrorClass::InvalidInput);
        assert_eq!(classify("MissingParameter", 400), ErrorClass::InvalidInput);
        assert_eq!(classify("InvalidAction.NotFound", 404), ErrorClass::InvalidInput);
        assert_eq!(classify("QuotaExceeded.PrivateIpAddress", 403), ErrorClass::Capacity);
        assert_eq!(classify("Whatever", 429), ErrorClass::Throttled);
        assert_eq!(classify("Whatever", 502), ErrorClass::Retryable);
        assert_eq!(classify("Whatever", 418), ErrorClass::Other);
    }

    #[test]
    fn redaction() {
        let m = "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DLTAIabc%26Action%3DX";
        let r = redact_access_key_id(m, "LTAIabc");
        assert!(!r.contains("LTAIabc"), "{r}");
        let r = redact_access_key_id(m, "");
        assert!(!r.contains("LTAIabc"), "{r}");
        assert!(r.contains("AccessKeyId%3D***%26Action"), "{r}");
    }
}
