//! A `serde` serializer that writes an operation's fields as the RPC API's parameters: scalars
//! as their text, `None` left out, lists flattened 1-based (`Name.1`, `Name.2`), structs in a
//! list as `Name.N.Field`, and `#[serde(flatten)]` fields inline.

use std::fmt::{self, Display};

use serde::ser::{self, Impossible, Serialize};

use crate::params::Params;

/// Why a value cannot be a parameter; becomes an invalid-input [`crate::Error`].
#[derive(Debug)]
pub(crate) struct WireError(String);

impl Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

impl ser::Error for WireError {
    fn custom<T: Display>(msg: T) -> Self {
        WireError(msg.to_string())
    }
}

/// Writes `value` (a struct or a map) into `params`, its fields named as serde names them.
pub(crate) fn write<T: Serialize + ?Sized>(value: &T, params: &mut Params) -> Result<(), WireError> {
    value.serialize(Fields { params, prefix: None, key: None })
}

/// Serializes the fields of a struct or map, each under `prefix.` (or at the top level).
struct Fields<'a> {
    params: &'a mut Params,
    prefix: Option<String>,
    /// A map's key, until its value comes.
    key: Option<String>,
}

impl Fields<'_> {
    fn name(&self, field: &str) -> String {
        match &self.prefix {
            Some(p) => format!("{p}.{field}"),
            None => field.to_owned(),
        }
    }
}

/// Serializes one value under one parameter name.
struct Value<'a> {
    params: &'a mut Params,
    name: String,
}

fn not_a_parameter<T>(what: &str) -> Result<T, WireError> {
    Err(WireError(format!("{what} cannot be sent as an RPC parameter")))
}

macro_rules! scalars {
    ($($method:ident($t:ty)),* $(,)?) => {
        $(fn $method(self, v: $t) -> Result<(), WireError> {
            self.params.insert(self.name, v);
            Ok(())
        })*
    };
}

impl<'a> ser::Serializer for Value<'a> {
    type Ok = ();
    type Error = WireError;
    type SerializeSeq = List<'a>;
    type SerializeTuple = List<'a>;
    type SerializeTupleStruct = Impossible<(), WireError>;
    type SerializeTupleVariant = Impossible<(), WireError>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Impossible<(), WireError>;

    scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
    );

    fn serialize_none(self) -> Result<(), WireError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), WireError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), WireError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), WireError> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), WireError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<(), WireError> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<List<'a>, WireError> {
        Ok(List { params: self.params, name: self.name, n: 0 })
    }
    fn serialize_tuple(self, len: usize) -> Result<List<'a>, WireError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Fields<'a>, WireError> {
        Ok(Fields { params: self.params, prefix: Some(self.name), key: None })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, WireError> {
        Ok(Fields { params: self.params, prefix: Some(self.name), key: None })
    }

    refuse_data!();
}

/// The items of a list, as `name.1`, `name.2`, ...
struct List<'a> {
    params: &'a mut Params,
    name: String,
    n: usize,
}

impl ser::SerializeSeq for List<'_> {
    type Ok = ();
    type Error = WireError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), WireError> {
        self.n += 1;
        v.serialize(Value { params: self.params, name: format!("{}.{}", self.name, self.n) })
    }
    fn end(self) -> Result<(), WireError> {
        Ok(())
    }
}

impl ser::SerializeTuple for List<'_> {
    type Ok = ();
    type Error = WireError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), WireError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), WireError> {
        Ok(())
    }
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = WireError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), WireError> {
        let name = self.name(key);
        v.serialize(Value { params: self.params, name })
    }
    fn end(self) -> Result<(), WireError> {
        Ok(())
    }
}

impl ser::SerializeMap for Fields<'_> {
    type Ok = ();
    type Error = WireError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), WireError> {
        self.key = Some(key.serialize(Key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), WireError> {
        let key = self.key.take().ok_or_else(|| WireError("a map value without a key".into()))?;
        let name = self.name(&key);
        v.serialize(Value { params: self.params, name })
    }
    fn end(self) -> Result<(), WireError> {
        Ok(())
    }
}

impl<'a> ser::Serializer for Fields<'a> {
    type Ok = ();
    type Error = WireError;
    type SerializeSeq = Impossible<(), WireError>;
    type SerializeTuple = Impossible<(), WireError>;
    type SerializeTupleStruct = Impossible<(), WireError>;
    type SerializeTupleVariant = Impossible<(), WireError>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Impossible<(), WireError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, WireError> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Fields<'a>, WireError> {
        Ok(self)
    }
    fn serialize_str(self, _: &str) -> Result<(), WireError> {
        not_a_parameter("a bare value")
    }

    top_level_only!();
}

/// What a map key may be: text.
struct Key;

/// A serializer that only takes a struct or a map (the top level, a map key) refuses the rest.
macro_rules! top_level_only {
    () => {
        refuse_data!();
        fn serialize_bool(self, _: bool) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_i8(self, _: i8) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_i16(self, _: i16) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_i32(self, _: i32) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_i64(self, _: i64) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_u8(self, _: u8) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_u16(self, _: u16) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_u32(self, _: u32) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_u64(self, _: u64) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_f32(self, _: f32) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_f64(self, _: f64) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_char(self, _: char) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_none(self) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_unit(self) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, WireError> {
            not_a_parameter("a bare list")
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, WireError> {
            not_a_parameter("a bare list")
        }
    };
}
use top_level_only;

/// The values no parameter can carry: bytes, tuple structs, enum variants with data.
macro_rules! refuse_data {
    () => {
        fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, WireError> {
            not_a_parameter("bytes")
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, WireError> {
            not_a_parameter("a bare value")
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, WireError> {
            not_a_parameter("a tuple struct")
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, WireError> {
            not_a_parameter("an enum variant with data")
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, WireError> {
            not_a_parameter("an enum variant with data")
        }
    };
}
use refuse_data;

impl ser::Serializer for Key {
    type Ok = String;
    type Error = WireError;
    type SerializeSeq = Impossible<String, WireError>;
    type SerializeTuple = Impossible<String, WireError>;
    type SerializeTupleStruct = Impossible<String, WireError>;
    type SerializeTupleVariant = Impossible<String, WireError>;
    type SerializeMap = Impossible<String, WireError>;
    type SerializeStruct = Impossible<String, WireError>;
    type SerializeStructVariant = Impossible<String, WireError>;

    fn serialize_str(self, v: &str) -> Result<String, WireError> {
        Ok(v.to_owned())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, WireError> {
        not_a_parameter("a map as a key")
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, WireError> {
        not_a_parameter("a struct as a key")
    }

    top_level_only!();
}

/// Serializes a value as its JSON text, for the parameters whose value is a JSON document
/// (SLB's `BackendServers`, `Tags`): `#[serde(serialize_with = "ack_net_core::operation::json")]`.
pub fn json<T: Serialize, S: ser::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(value).map_err(ser::Error::custom)?;
    s.serialize_str(&text)
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::Tag;

    #[derive(Serialize)]
    struct Page {
        #[serde(rename = "PageNumber", skip_serializing_if = "Option::is_none")]
        number: Option<u32>,
        #[serde(rename = "PageSize")]
        size: u32,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Op {
        vpc_id: &'static str,
        name: Option<String>,
        security_group_ids: Vec<&'static str>,
        #[serde(rename = "Tag")]
        tags: Vec<Tag>,
        #[serde(serialize_with = "json")]
        backend_servers: Vec<u16>,
        #[serde(flatten)]
        page: Page,
        enabled: bool,
    }

    #[test]
    fn fields_lists_structs_json_and_flattened_fields() {
        let op = Op {
            vpc_id: "vpc-1",
            name: None,
            security_group_ids: vec!["sg-a", "sg-b"],
            tags: vec![Tag::new("k", "v"), Tag::new("k2", "")],
            backend_servers: vec![80, 443],
            page: Page { number: None, size: 50 },
            enabled: true,
        };
        let mut p = Params::new();
        write(&op, &mut p).unwrap();
        let got: Vec<_> = p.iter().collect();
        assert_eq!(
            got,
            vec![
                ("VpcId", "vpc-1"),
                ("SecurityGroupIds.1", "sg-a"),
                ("SecurityGroupIds.2", "sg-b"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
                ("Tag.2.Key", "k2"),
                ("Tag.2.Value", ""),
                ("BackendServers", "[80,443]"),
                ("PageSize", "50"),
                ("Enabled", "true"),
            ]
        );
    }

    #[test]
    fn values_that_are_no_parameter_are_errors() {
        #[derive(Serialize)]
        enum E {
            Data(u8),
        }
        #[derive(Serialize)]
        struct Bad {
            e: E,
        }
        let mut p = Params::new();
        assert!(write(&Bad { e: E::Data(1) }, &mut p).is_err());
        assert!(write(&5u8, &mut p).is_err());
    }
}
