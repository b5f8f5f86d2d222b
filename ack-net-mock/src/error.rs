//! Errors the mock answers with, in the real API's shape.

use serde_json::json;

/// An API error: HTTP status, `Code` and `Message`, answered as
/// `{"RequestId","HostId","Code","Message","Recommend"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockError {
    /// HTTP status.
    pub status: u16,
    /// The API error code, e.g. `InvalidVSwitchId.NotFound`.
    pub code: String,
    /// The message.
    pub message: String,
}

impl MockError {
    /// An error with any status and code.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into() }
    }

    /// `MissingParameter` / 400, as the API answers when a required parameter is absent.
    pub fn missing(param: &str) -> Self {
        Self::new(
            400,
            format!("MissingParameter.{param}"),
            format!("The input parameter \"{param}\" that is mandatory for processing this request is not supplied."),
        )
    }

    /// `InvalidParameter` / 400 for a malformed parameter value.
    pub fn invalid_param(param: &str, why: impl std::fmt::Display) -> Self {
        Self::new(400, "InvalidParameter", format!("The specified parameter \"{param}\" is not valid: {why}"))
    }

    /// A 400 with a specific code (e.g. `InvalidCidrBlock.Malformed`).
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// A 404 with a specific `*.NotFound` code.
    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// A 403 (quota, permission, forbidden state).
    pub fn forbidden(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }

    /// The error body, with the given request id and host id.
    pub fn body(&self, request_id: &str, host_id: &str) -> serde_json::Value {
        json!({
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code,
            "Message": self.message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product=mock", self.code),
        })
    }
}

impl std::fmt::Display for MockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for MockError {}

/// What a handler returns: the response fields (without `RequestId`, added by the server).
pub type HandlerResult = Result<serde_json::Value, MockError>;
