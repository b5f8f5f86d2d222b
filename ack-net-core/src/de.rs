//! Decoding helpers for the API's JSON: wrapped lists and numbers sent as strings.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A list as the API wraps it: `{"Vpc": [...]}` under a field such as `Vpcs`.
///
/// Decodes all the shapes the API sends: a wrapper object holding an array, a wrapper
/// holding a single object, an empty object `{}`, `null`, a missing field (with
/// `#[serde(default)]`), and a bare array. The wrapper's key name is not checked.
///
/// ```
/// use ack_net_core::de::Wrapped;
/// #[derive(serde::Deserialize)]
/// struct Resp { #[serde(rename = "Vpcs", default)] vpcs: Wrapped<String> }
/// let a: Resp = serde_json::from_str(r#"{"Vpcs":{"Vpc":["a","b"]}}"#).unwrap();
/// let b: Resp = serde_json::from_str(r#"{"Vpcs":{}}"#).unwrap();
/// let c: Resp = serde_json::from_str(r#"{}"#).unwrap();
/// assert_eq!(a.vpcs.len(), 2);
/// assert!(b.vpcs.is_empty() && c.vpcs.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapped<T>(pub Vec<T>);

impl<T> Default for Wrapped<T> {
    fn default() -> Self {
        Wrapped(Vec::new())
    }
}

impl<T> Wrapped<T> {
    /// The items.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T> std::ops::Deref for Wrapped<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> IntoIterator for Wrapped<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// One element or many.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Wrapped<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = Wrapped<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a wrapped list, a list, an empty object or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Wrapped(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Wrapped(Vec::new()))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(self)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                // Some gateways send an empty list as "".
                if v.is_empty() {
                    Ok(Wrapped(Vec::new()))
                } else {
                    Err(E::invalid_type(de::Unexpected::Str(v), &self))
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(Wrapped(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((_k, v)) = map.next_entry::<String, Option<OneOrMany<T>>>()? {
                    match v {
                        Some(OneOrMany::Many(items)) => out.extend(items),
                        Some(OneOrMany::One(item)) => out.push(item),
                        None => {}
                    }
                }
                Ok(Wrapped(out))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Serializes as `{"<inner>": [...]}` is not possible without the key; ack-net never sends
/// a wrapped list, so this writes the plain array (used by state dumps and snapshots).
impl<T: Serialize> Serialize for Wrapped<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A number the API may send as a JSON number or a string (`"10"`); an empty string is
/// rejected. Use with `#[serde(deserialize_with = "ack_net_core::de::number")]`.
pub fn number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + TryFrom<i64> + TryFrom<u64>,
    <T as FromStr>::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        U(u64),
        I(i64),
        F(f64),
        S(String),
    }
    match N::deserialize(d)? {
        N::U(u) => T::try_from(u).map_err(|_| de::Error::custom(format!("{u} is out of range"))),
        N::I(i) => T::try_from(i).map_err(|_| de::Error::custom(format!("{i} is out of range"))),
        N::F(f) if f.fract() == 0.0 => {
            T::try_from(f as i64).map_err(|_| de::Error::custom(format!("{f} is out of range")))
        }
        N::F(f) => Err(de::Error::custom(format!("{f} is not a whole number"))),
        N::S(s) => s.trim().parse::<T>().map_err(|e| de::Error::custom(format!("{s:?}: {e}"))),
    }
}

/// Like [`number`], but `null`, a missing field (with `#[serde(default)]`) or `""` is `None`.
pub fn opt_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + TryFrom<i64> + TryFrom<u64>,
    <T as FromStr>::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        U(u64),
        I(i64),
        S(String),
    }
    match Option::<N>::deserialize(d)? {
        None => Ok(None),
        Some(N::S(s)) if s.trim().is_empty() => Ok(None),
        Some(N::S(s)) => s.trim().parse::<T>().map(Some).map_err(|e| de::Error::custom(format!("{s:?}: {e}"))),
        Some(N::U(u)) => T::try_from(u).map(Some).map_err(|_| de::Error::custom(format!("{u} is out of range"))),
        Some(N::I(i)) => T::try_from(i).map(Some).map_err(|_| de::Error::custom(format!("{i} is out of range"))),
    }
}

/// A boolean the API may send as `true`, `"true"`, `"True"`, `"on"`, `1`...
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Option::<Flag>::deserialize(d)? {
        None => Ok(false),
        Some(Flag::Bool(b)) => Ok(b),
        Some(Flag::Int(n)) => Ok(n != 0),
        Some(Flag::Text(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => Ok(true),
            "false" | "off" | "0" | "no" | "" => Ok(false),
            other => Err(de::Error::custom(format!("{other:?} is not a boolean"))),
        },
    }
}

/// A string the API may send as a string, a number or `null` (as `""`).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Unsigned(u64),
        Signed(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(match Option::<Scalar>::deserialize(d)? {
        None => String::new(),
        Some(Scalar::Text(s)) => s,
        Some(Scalar::Unsigned(u)) => u.to_string(),
        Some(Scalar::Signed(i)) => i.to_string(),
        Some(Scalar::Float(f)) => f.to_string(),
        Some(Scalar::Bool(b)) => b.to_string(),
    })
}

/// A wrapped list (`{"Vpcs":{"Vpc":[..]}}`, a bare array, `{}`, `null` or missing) as a
/// plain `Vec`: [`Wrapped`] for `#[serde(default, deserialize_with = "ack_net_core::de::wrapped")]`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Resp {
///     #[serde(rename = "Vpcs", default, deserialize_with = "ack_net_core::de::wrapped")]
///     vpcs: Vec<String>,
/// }
/// let r: Resp = serde_json::from_str(r#"{"Vpcs":{"Vpc":["a","b"]}}"#).unwrap();
/// assert_eq!(r.vpcs, ["a", "b"]);
/// ```
pub fn wrapped<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Wrapped<T>>::deserialize(d)?.map(Wrapped::into_inner).unwrap_or_default())
}

/// An optional id or value parsed from a string (decoded leniently with [`string`]): `""`,
/// `null` and a missing field (with `#[serde(default)]`) are `None`.
pub fn opt_parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String>,
    <T as TryFrom<String>>::Error: fmt::Display,
{
    let s = string(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    T::try_from(s).map(Some).map_err(de::Error::custom)
}

/// An optional string: `""`, `null` and a missing field (with `#[serde(default)]`) are `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string(d)?;
    Ok(if s.is_empty() { None } else { Some(s) })
}

/// Defines an enum of the API's string values that keeps values it does not know in
/// `Unknown(String)`: `KNOWN`, `as_str`, `from_wire`, `is_known`, `From<&str>`,
/// `From<String>`, `FromStr`, `Display`, and serde as the wire string (decoded leniently
/// with [`string`]). Product crates use it for statuses, types and the like, so that a new
/// value from the cloud never fails a decode. The calling crate needs `serde` as a
/// dependency.
///
/// By default a wire string matches a variant only when spelled exactly so, and the enum is
/// `#[non_exhaustive]`. Starting with `ignore_case, exhaustive;` makes the match ignore ASCII
/// case and leaves the enum exhaustive (the SLB crate's enums, whose users match on them).
///
/// ```
/// ack_net_core::wire_enum!(
///     /// A resource status.
///     Status { /// Being created.
///     Pending = "Pending", /// Ready.
///     Available = "Available" }
/// );
/// assert_eq!(Status::from("Available"), Status::Available);
/// assert_eq!(Status::from("available"), Status::Unknown("available".to_owned()));
/// assert_eq!(Status::from("Frozen"), Status::Unknown("Frozen".to_owned()));
/// assert_eq!(serde_json::from_str::<Status>("\"Pending\"").unwrap().as_str(), "Pending");
///
/// ack_net_core::wire_enum!(
///     ignore_case, exhaustive;
///     /// A protocol.
///     Protocol { /// `tcp`.
///     Tcp = "tcp" }
/// );
/// assert_eq!(Protocol::from("TCP"), Protocol::Tcp);
/// assert!(!Protocol::from("sctp").is_known());
/// ```
#[macro_export]
macro_rules! wire_enum {
    (ignore_case, exhaustive; $(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $crate::wire_enum!(@define [] ignore_case $(#[$meta])* $name { $($(#[$vmeta])* $variant = $wire),+ });
    };
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $crate::wire_enum!(@define [#[non_exhaustive]] exact $(#[$meta])* $name { $($(#[$vmeta])* $variant = $wire),+ });
    };
    (@matches exact, $s:ident, $wire:literal) => { $s == $wire };
    (@matches ignore_case, $s:ident, $wire:literal) => { $s.eq_ignore_ascii_case($wire) };
    (@define [$($attr:tt)*] $case:ident $(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $($attr)*
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version of the crate does not know, as the API sent it.
            Unknown(String),
        }

        impl $name {
            /// Every known value.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Unknown(s) => s,
                }
            }

            /// The value for a wire string; `Unknown` when it is not a known one.
            pub fn from_wire(s: &str) -> Self {
                $(if $crate::wire_enum!(@matches $case, s, $wire) {
                    return $name::$variant;
                })+
                $name::Unknown(s.to_owned())
            }

            /// Whether this is a value the crate knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from_wire(s)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self::from_wire(&s)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(s))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = $crate::de::string(d)?;
                Ok(Self::from_wire(&s))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Item {
        #[serde(rename = "Id")]
        id: String,
    }

    #[derive(Deserialize, Debug)]
    struct Resp {
        #[serde(rename = "Items", default)]
        items: Wrapped<Item>,
        #[serde(rename = "Count", deserialize_with = "number", default)]
        count: u32,
        #[serde(rename = "Opt", deserialize_with = "opt_number", default)]
        opt: Option<i32>,
        #[serde(rename = "Flag", deserialize_with = "boolean", default)]
        flag: bool,
    }

    #[test]
    fn list_shapes() {
        for (json, n) in [
            (r#"{"Items":{"Item":[{"Id":"a"},{"Id":"b"}]}}"#, 2),
            (r#"{"Items":{"Item":{"Id":"a"}}}"#, 1),
            (r#"{"Items":{}}"#, 0),
            (r#"{"Items":null}"#, 0),
            (r#"{}"#, 0),
            (r#"{"Items":[{"Id":"a"}]}"#, 1),
            (r#"{"Items":{"Item":null}}"#, 0),
            (r#"{"Items":""}"#, 0),
        ] {
            let r: Resp = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(r.items.len(), n, "{json}");
        }
        let r: Resp = serde_json::from_str(r#"{"Items":{"Item":[{"Id":"x"}]}}"#).unwrap();
        assert_eq!(r.items[0].id, "x");
    }

    #[test]
    fn numbers_as_strings() {
        let r: Resp = serde_json::from_str(r#"{"Count":"12","Opt":"","Flag":"true"}"#).unwrap();
        assert_eq!((r.count, r.opt, r.flag), (12, None, true));
        let r: Resp = serde_json::from_str(r#"{"Count":12,"Opt":-3,"Flag":false}"#).unwrap();
        assert_eq!((r.count, r.opt, r.flag), (12, Some(-3), false));
        assert!(serde_json::from_str::<Resp>(r#"{"Count":"x"}"#).is_err());
        assert!(serde_json::from_str::<Resp>(r#"{"Count":-1}"#).is_err());
    }
}
