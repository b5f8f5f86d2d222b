//! Ordered request parameters with the API's list flattening.

use std::fmt;

use crate::error::Error;

/// The operation parameters of one RPC call, in insertion order.
///
/// Lists are flattened 1-based the way the API expects them
/// (`SecurityGroupIds.1=sg-a&SecurityGroupIds.2=sg-b`), tags as `Tag.1.Key` / `Tag.1.Value`.
/// Setting a name twice replaces the first value, so a request never carries a duplicate.
///
/// ```
/// use ack_net_core::Params;
/// let mut p = Params::new();
/// p.insert("RegionId", "cn-hangzhou")
///     .list("SecurityGroupIds", ["sg-a", "sg-b"])
///     .tags("Tag", "Key", "Value", [("team", "net")]);
/// assert_eq!(p.get("SecurityGroupIds.2"), Some("sg-b"));
/// assert_eq!(p.get("Tag.1.Value"), Some("net"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// An empty parameter list.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: impl Into<String>, value: impl fmt::Display) -> &mut Self {
        let name = name.into();
        let value = value.to_string();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
        self
    }

    /// Builder form of [`Params::insert`].
    pub fn with(mut self, name: impl Into<String>, value: impl fmt::Display) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets `name` only when `value` is `Some`.
    pub fn opt<V: fmt::Display>(&mut self, name: &str, value: Option<V>) -> &mut Self {
        if let Some(v) = value {
            self.insert(name, v);
        }
        self
    }

    /// Flattens `items` as `prefix.1`, `prefix.2`, ...
    pub fn list<I>(&mut self, prefix: &str, items: I) -> &mut Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        for (i, item) in items.into_iter().enumerate() {
            self.insert(format!("{prefix}.{}", i + 1), item);
        }
        self
    }

    /// Flattens key/value pairs as `prefix.N.key_name` and `prefix.N.value_name`.
    pub fn tags<I, K, V>(&mut self, prefix: &str, key_name: &str, value_name: &str, tags: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: fmt::Display,
        V: fmt::Display,
    {
        for (i, (k, v)) in tags.into_iter().enumerate() {
            self.insert(format!("{prefix}.{}.{key_name}", i + 1), k);
            self.insert(format!("{prefix}.{}.{value_name}", i + 1), v);
        }
        self
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(i).1)
    }

    /// Whether `name` is set.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The parameters in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many parameters are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Rejects parameter names the API cannot carry (empty, or with characters outside
    /// printable ASCII).
    pub fn validate(&self) -> Result<(), Error> {
        for (name, _) in &self.0 {
            if name.is_empty() {
                return Err(Error::invalid_input("parameter name", "must not be empty"));
            }
            if !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid_input(
                    "parameter name",
                    format!("{name:?} must be printable ASCII without spaces"),
                ));
            }
        }
        Ok(())
    }

    /// Consumes the list into its pairs.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter().map(|(n, v)| (n, v))).finish()
    }
}

impl<K: Into<String>, V: fmt::Display> FromIterator<(K, V)> for Params {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut p = Params::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_keeps_order() {
        let mut p = Params::new();
        p.insert("B", 1).insert("A", 2).insert("B", 3);
        let v: Vec<_> = p.iter().collect();
        assert_eq!(v, vec![("B", "3"), ("A", "2")]);
    }

    #[test]
    fn lists_are_one_based() {
        let mut p = Params::new();
        p.list("PrivateIpAddress", ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(p.get("PrivateIpAddress.1"), Some("10.0.0.1"));
        assert_eq!(p.get("PrivateIpAddress.2"), Some("10.0.0.2"));
        assert_eq!(p.get("PrivateIpAddress.0"), None);
    }

    #[test]
    fn empty_names_are_rejected() {
        let p = Params::new().with("", "x");
        assert!(p.validate().is_err());
        let p = Params::new().with("A B", "x");
        assert!(p.validate().is_err());
        assert!(Params::new().with("Tag.1.Key", "x").validate().is_ok());
    }
}
