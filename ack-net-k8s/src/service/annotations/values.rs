//! Reading one annotation: finding it under either prefix, and parsing its value strictly.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::{BACKEND_TYPE, LEGACY_PREFIX, PREFIX};
use crate::service::Error;

/// One annotation that is present and not blank: its key as written and its trimmed value.
pub(super) struct Value<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

/// Finds annotations by their suffix under the current and the legacy prefix.
pub(super) struct Reader<'a> {
    map: &'a BTreeMap<String, String>,
}

impl<'a> Reader<'a> {
    pub fn new(map: &'a BTreeMap<String, String>) -> Self {
        Self { map }
    }

    /// The annotation `suffix` (`address-type`...), current prefix first. A blank value is
    /// the same as no annotation (as `kubectl annotate svc key=` leaves it). Both prefixes
    /// with different values are an error.
    pub fn get(&self, suffix: &str) -> Result<Option<Value<'a>>, Error> {
        let key = format!("{PREFIX}{suffix}");
        let legacy = format!("{LEGACY_PREFIX}{suffix}");
        let current = self.lookup(&key);
        let old = self.lookup(&legacy);
        match (current, old) {
            (Some(c), Some(o)) if c.value != o.value => Err(Error::ConflictingAnnotations {
                annotation: key,
                value: c.value.to_owned(),
                legacy,
                legacy_value: o.value.to_owned(),
            }),
            (Some(c), _) => Ok(Some(c)),
            (None, o) => Ok(o),
        }
    }

    /// `service.beta.kubernetes.io/backend-type`, which has no prefix variants.
    pub fn backend_type(&self) -> Option<Value<'a>> {
        self.lookup(BACKEND_TYPE)
    }

    fn lookup(&self, key: &str) -> Option<Value<'a>> {
        let (key, value) = self.map.get_key_value(key)?;
        let value = value.trim();
        (!value.is_empty()).then_some(Value { key: key.as_str(), value })
    }
}

impl Value<'_> {
    pub fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::invalid(self.key, self.value, reason)
    }

    /// `on`/`off` (also `true`/`false`), any case.
    pub fn switch(&self) -> Result<bool, Error> {
        parse_switch(self.value).ok_or_else(|| self.invalid("expected on or off"))
    }

    /// An integer in `lo..=hi`.
    pub fn int_in(&self, lo: u32, hi: u32) -> Result<u32, Error> {
        let n: u32 = self.value.parse().map_err(|_| self.invalid(format!("expected an integer from {lo} to {hi}")))?;
        if !(lo..=hi).contains(&n) {
            return Err(self.invalid(format!("expected an integer from {lo} to {hi}")));
        }
        Ok(n)
    }

    /// A port, 1-65535.
    pub fn port(&self) -> Result<u16, Error> {
        parse_port(self.value).ok_or_else(|| self.invalid("expected a port from 1 to 65535"))
    }

    /// A validated id (`lb-...`, `vsw-...`...), with the id type's own message.
    pub fn id<T: FromStr>(&self) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        self.value.parse().map_err(|e: T::Err| self.invalid(e.to_string()))
    }

    /// A value of one of the API's enumerations (any case), refusing values it does not know.
    pub fn known<T>(&self, parse: fn(&str) -> T, is_known: fn(&T) -> bool, expected: &str) -> Result<T, Error> {
        let v = parse(self.value);
        if is_known(&v) {
            Ok(v)
        } else {
            Err(self.invalid(format!("expected {expected}")))
        }
    }

    /// A comma-separated list of non-empty items.
    pub fn items(&self) -> Result<Vec<&str>, Error> {
        let items: Vec<&str> = self.value.split(',').map(str::trim).collect();
        if items.iter().any(|i| i.is_empty()) {
            return Err(self.invalid("an empty item in the comma-separated list"));
        }
        Ok(items)
    }

    /// A text of 1 to `max` characters without control characters.
    pub fn text(&self, max: usize) -> Result<String, Error> {
        if self.value.chars().count() > max || self.value.chars().any(char::is_control) {
            return Err(self.invalid(format!("expected at most {max} characters, without control characters")));
        }
        Ok(self.value.to_owned())
    }
}

pub(super) fn parse_switch(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        _ => None,
    }
}

pub(super) fn parse_port(s: &str) -> Option<u16> {
    s.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

/// Joins the known values of an enumeration for a message: `wrr, wlc or rr`.
pub(super) fn one_of<T: std::fmt::Display>(known: &[T]) -> String {
    let all: Vec<String> = known.iter().map(ToString::to_string).collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}
