//! Checks of caller input that every product shares, so that bad input is rejected before
//! any request is sent, with the same rule and message in every crate.

use crate::{Error, RpcRequest};

/// Checks a name or description: at most `max` characters, not starting with `http://` or
/// `https://` (the API's rule for names).
///
/// ```
/// use ack_net_core::input::validate_text;
/// assert!(validate_text("VpcName", "prod", 128).is_ok());
/// assert!(validate_text("VpcName", "https://x", 128).is_err());
/// ```
pub fn validate_text(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.chars().count() > max {
        return Err(Error::invalid_input(what, format!("at most {max} characters")));
    }
    if value.starts_with("http://") || value.starts_with("https://") {
        return Err(Error::invalid_input(what, "must not start with http:// or https://"));
    }
    Ok(())
}

/// [`validate_text`] for an optional value.
pub fn validate_opt_text(what: &str, value: &Option<String>, max: usize) -> Result<(), Error> {
    value.as_deref().map_or(Ok(()), |v| validate_text(what, v, max))
}

/// Checks a page size against the API's inclusive bounds.
pub fn validate_page_size(what: &str, size: u32, min: u32, max: u32) -> Result<(), Error> {
    if (min..=max).contains(&size) {
        Ok(())
    } else {
        Err(Error::invalid_input(what, format!("must be between {min} and {max}, not {size}")))
    }
}

/// Checks a listing's optional `PageNumber` (from 1) and `PageSize` (1 to `max_size`), in
/// that order.
pub fn validate_page(page_number: Option<u32>, page_size: Option<u32>, max_size: u32) -> Result<(), Error> {
    if page_number == Some(0) {
        return Err(Error::invalid_input("PageNumber", "pages are numbered from 1"));
    }
    if let Some(s) = page_size {
        validate_page_size("PageSize", s, 1, max_size)?;
    }
    Ok(())
}

/// Checks a `ClientToken` (1-64 printable ASCII characters).
pub fn validate_client_token(t: &str) -> Result<(), Error> {
    if !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid_input("ClientToken", format!("{t:?} must be 1-64 printable ASCII characters")))
    }
}

/// Checks a caller's `ClientToken` (see [`validate_client_token`]) and, when one is given,
/// sets it on the request.
pub fn with_client_token(req: RpcRequest, token: Option<&str>) -> Result<RpcRequest, Error> {
    match token {
        None => Ok(req),
        Some(t) => {
            validate_client_token(t)?;
            Ok(req.client_token(t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_are_checked() {
        assert!(validate_client_token("node-1/eni-0").is_ok());
        assert!(validate_client_token("").is_err());
        assert!(validate_client_token("a b").is_err());
        assert!(validate_client_token(&"x".repeat(65)).is_err());
        let req = || RpcRequest::idempotent_write(crate::Product::new("vpc", "2016-04-28"), "CreateVpc");
        assert!(with_client_token(req(), Some("abc-1")).is_ok());
        assert!(with_client_token(req(), Some("")).is_err());
        assert!(with_client_token(req(), Some("a b")).is_err());
        assert!(with_client_token(req(), Some(&"x".repeat(65))).is_err());
        assert!(with_client_token(req(), None).is_ok());
    }

    #[test]
    fn text_and_page_sizes_are_checked() {
        assert!(validate_text("Name", "abc", 3).is_ok());
        assert!(validate_text("Name", "abcd", 3).is_err());
        assert!(validate_text("Name", "http://x", 128).is_err());
        assert!(validate_opt_text("Name", &None, 3).is_ok());
        assert!(validate_opt_text("Name", &Some("abcd".into()), 3).is_err());
        assert!(validate_page_size("PageSize", 1, 1, 50).is_ok());
        assert!(validate_page_size("PageSize", 0, 1, 50).is_err());
        assert!(validate_page_size("PageSize", 51, 1, 50).is_err());
        assert!(validate_page(None, None, 50).is_ok());
        assert!(validate_page(Some(1), Some(50), 50).is_ok());
        assert!(validate_page(Some(0), Some(50), 50).is_err());
        assert!(validate_page(Some(1), Some(0), 50).is_err());
        assert!(validate_page(Some(1), Some(51), 50).is_err());
    }
}
