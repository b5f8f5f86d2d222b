//! Backend servers and the `BackendServers` JSON parameter.
//!
//! Every request that carries backends (CreateVServerGroup, Add/Remove/Set/Modify
//! VServerGroupBackendServers, CreateMasterSlaveServerGroup) encodes them with
//! [`encode_backend_servers`] (master/slave groups with the same encoder plus `ServerType`):
//! a JSON array of objects with exactly the documented field names and every value a string,
//! `[{"ServerId":"i-..","Port":"80","Weight":"100","Type":"ecs","ServerIp":"..","Description":".."}]`.

use std::fmt;
use std::net::IpAddr;

use ack_net_core::{EniId, InstanceId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::common::{check_port, validate_text};
use crate::ids::EciId;
use crate::types::{BackendType, ServerType};
use crate::Error;

/// A backend server: an ECS instance, or an address of an ENI or ECI, on a port, with a
/// weight. Compare backends with [`Backend::key`] to tell "the same backend" from "the same
/// backend with other settings".
///
/// The constructors take typed ids ([`InstanceId`], [`EniId`], [`EciId`]), so a server id
/// of the wrong form is refused when the id is parsed, not when a request is built. The
/// fields stay public and plain (`server_id` is the id as the API writes it) so that a
/// backend read from a response keeps what the API said: [`Backend::validate`] checks a
/// backend changed by hand or decoded before it is sent again.
///
/// ```
/// use ack_net_slb::{Backend, BackendType};
/// let eni: ack_net_slb::EniId = "eni-bp1a".parse().unwrap();
/// let pod: Backend = Backend::eni(&eni, "10.0.1.7".parse().unwrap(), 8080).with_weight(50);
/// assert_eq!(pod.kind, BackendType::Eni);
/// assert_eq!(pod.key(), Backend::eni(&eni, "10.0.1.7".parse().unwrap(), 8080).key());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Backend {
    /// `ServerId`: `i-...`, `eni-...` or `eci-...`, as the constructor's typed id wrote it
    /// (or as a response carried it).
    pub server_id: String,
    /// `Type`.
    pub kind: BackendType,
    /// `ServerIp`: required for `eni` and `eci` backends (the pod's address).
    pub server_ip: Option<IpAddr>,
    /// `Port`: the backend port, 1-65535.
    pub port: u16,
    /// `Weight`: 0-100; 0 sends no new connections.
    pub weight: u8,
    /// `Description` (at most 80 characters).
    pub description: Option<String>,
}

/// The server of a backend, typed by its id's prefix: an ECS instance (`i-`), an ENI
/// (`eni-`), an elastic container instance (`eci-`), or, for an id of none of these forms
/// that a response carried, the id as it came. On the wire it is the id's text.
///
/// ```
/// use ack_net_slb::{InstanceId, ServerId};
/// let node: InstanceId = "i-bp1a".parse().unwrap();
/// assert_eq!(ServerId::from("i-bp1a"), ServerId::Ecs(node));
/// assert!(matches!(ServerId::from("eni-bp1b"), ServerId::Eni(_)));
/// assert_eq!(ServerId::from("x-1"), ServerId::Unknown("x-1".into()));
/// assert_eq!(ServerId::from("eci-bp1c").as_str(), "eci-bp1c");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerId {
    /// An ECS instance.
    Ecs(InstanceId),
    /// An ENI (a pod's address is the backend's `server_ip`).
    Eni(EniId),
    /// An elastic container instance.
    Eci(EciId),
    /// An id of no known form, as the API wrote it.
    Unknown(String),
}

impl ServerId {
    /// The id as the API writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ServerId::Ecs(id) => id.as_str(),
            ServerId::Eni(id) => id.as_str(),
            ServerId::Eci(id) => id.as_str(),
            ServerId::Unknown(id) => id,
        }
    }
}

impl From<&str> for ServerId {
    fn from(id: &str) -> Self {
        if let Ok(id) = InstanceId::new(id) {
            ServerId::Ecs(id)
        } else if let Ok(id) = EniId::new(id) {
            ServerId::Eni(id)
        } else if let Ok(id) = EciId::new(id) {
            ServerId::Eci(id)
        } else {
            ServerId::Unknown(id.to_owned())
        }
    }
}

impl From<String> for ServerId {
    fn from(id: String) -> Self {
        ServerId::from(id.as_str())
    }
}

impl From<InstanceId> for ServerId {
    fn from(id: InstanceId) -> Self {
        ServerId::Ecs(id)
    }
}

impl From<EniId> for ServerId {
    fn from(id: EniId) -> Self {
        ServerId::Eni(id)
    }
}

impl From<EciId> for ServerId {
    fn from(id: EciId) -> Self {
        ServerId::Eci(id)
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ServerId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ServerId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ServerId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl Serialize for ServerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ServerId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ack_net_core::de::string(d).map(ServerId::from)
    }
}

/// What identifies a backend within a group: the server, its address (for `eni` and `eci`,
/// whose one server id has many addresses) and the port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BackendKey {
    /// The server.
    pub server_id: ServerId,
    /// The address, for `eni` and `eci` backends.
    pub server_ip: Option<IpAddr>,
    /// The port.
    pub port: u16,
}

impl Backend {
    /// The default weight.
    pub const DEFAULT_WEIGHT: u8 = 100;

    fn new(server_id: &str, kind: BackendType, server_ip: Option<IpAddr>, port: u16) -> Self {
        Self { server_id: server_id.to_owned(), kind, server_ip, port, weight: Self::DEFAULT_WEIGHT, description: None }
    }

    /// An ECS instance on `port`, weight 100. The id was checked when it was made.
    ///
    /// ```
    /// use ack_net_slb::{Backend, InstanceId};
    /// let node: InstanceId = "i-bp1a".parse().unwrap();
    /// assert_eq!(Backend::ecs(&node, 30080).server_id, "i-bp1a");
    /// ```
    pub fn ecs(instance_id: &InstanceId, port: u16) -> Self {
        Self::new(instance_id.as_str(), BackendType::Ecs, None, port)
    }

    /// An address of an ENI, such as a pod's, on `port`, weight 100.
    pub fn eni(eni_id: &EniId, ip: IpAddr, port: u16) -> Self {
        Self::new(eni_id.as_str(), BackendType::Eni, Some(ip), port)
    }

    /// An elastic container instance at `ip` on `port`, weight 100.
    pub fn eci(eci_id: &EciId, ip: IpAddr, port: u16) -> Self {
        Self::new(eci_id.as_str(), BackendType::Eci, Some(ip), port)
    }

    /// Sets the weight.
    pub fn with_weight(mut self, weight: u8) -> Self {
        self.weight = weight;
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The backend's identity within a group.
    pub fn key(&self) -> BackendKey {
        let server_ip = if self.kind == BackendType::Ecs { None } else { self.server_ip };
        BackendKey { server_id: ServerId::from(self.server_id.as_str()), server_ip, port: self.port }
    }

    /// Checks what the API would refuse: a port of 0, a weight above 100, a server id that
    /// does not match the type, an `eni` or `eci` backend without its address, a long
    /// description.
    pub fn validate(&self) -> Result<(), Error> {
        check_port("Port", self.port)?;
        if self.weight > 100 {
            return Err(Error::InvalidWeight { server_id: self.server_id.clone(), weight: u32::from(self.weight) });
        }
        let prefix = match &self.kind {
            BackendType::Ecs => "i-",
            BackendType::Eni => "eni-",
            BackendType::Eci => "eci-",
            BackendType::Unknown(k) => {
                return Err(Error::invalid_input("BackendServers.Type", format!("{k:?} is not ecs, eni or eci")))
            }
        };
        let id_ok = self.server_id.strip_prefix(prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if !id_ok {
            return Err(Error::invalid_input(
                "BackendServers.ServerId",
                format!("{:?} is not a {} id ({prefix}...)", self.server_id, self.kind),
            ));
        }
        if self.kind != BackendType::Ecs && self.server_ip.is_none() {
            return Err(Error::BackendWithoutIp { server_id: self.server_id.clone(), kind: self.kind.to_string() });
        }
        if let Some(d) = &self.description {
            validate_text("BackendServers.Description", d, 80)?;
        }
        Ok(())
    }
}

/// A backend of a master/slave group: a backend and its role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MasterSlaveBackend {
    /// The backend.
    pub backend: Backend,
    /// `ServerType`: `Master` or `Slave`.
    pub server_type: ServerType,
}

/// One entry of the JSON the API takes: the documented names, string values.
#[derive(Serialize)]
struct Out<'a> {
    #[serde(rename = "ServerId")]
    server_id: &'a str,
    #[serde(rename = "Port")]
    port: String,
    #[serde(rename = "Weight")]
    weight: String,
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "ServerIp", skip_serializing_if = "Option::is_none")]
    server_ip: Option<String>,
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "ServerType", skip_serializing_if = "Option::is_none")]
    server_type: Option<&'a str>,
}

fn encode<'a>(items: impl Iterator<Item = (&'a Backend, Option<&'a ServerType>)>) -> Result<String, Error> {
    let mut out = Vec::new();
    for (b, server_type) in items {
        b.validate()?;
        out.push(Out {
            server_id: &b.server_id,
            port: b.port.to_string(),
            weight: b.weight.to_string(),
            kind: b.kind.as_str(),
            server_ip: b.server_ip.map(|ip| ip.to_string()),
            description: b.description.as_deref(),
            server_type: server_type.map(ServerType::as_str),
        });
    }
    serde_json::to_string(&out).map_err(|e| Error::invalid_input("BackendServers", e.to_string()))
}

/// Encodes backends as the `BackendServers` parameter, checking each first.
///
/// ```
/// use ack_net_slb::{encode_backend_servers, Backend};
/// let json = encode_backend_servers(&[Backend::ecs(&"i-bp1a".parse().unwrap(), 80).with_weight(50)]).unwrap();
/// assert_eq!(json, r#"[{"ServerId":"i-bp1a","Port":"80","Weight":"50","Type":"ecs"}]"#);
/// ```
pub fn encode_backend_servers(backends: &[Backend]) -> Result<String, Error> {
    encode(backends.iter().map(|b| (b, None)))
}

/// Encodes the backends of a master/slave group (`MasterSlaveBackendServers`): the same
/// fields plus `ServerType`.
pub fn encode_master_slave_backend_servers(backends: &[MasterSlaveBackend]) -> Result<String, Error> {
    if backends.is_empty() {
        return Err(Error::invalid_input("MasterSlaveBackendServers", "needs a Master"));
    }
    encode(backends.iter().map(|b| (&b.backend, Some(&b.server_type))))
}

/// Backends as an operation's JSON-text parameter (`BackendServers`, `OldBackendServers`...),
/// encoded as [`encode_backend_servers`] does; no backends, no parameter. The operation's
/// check validates them first (a typed error), so encoding does not fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BackendServers(pub(crate) Vec<Backend>);

impl Serialize for BackendServers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        s.serialize_str(&encode_backend_servers(&self.0).map_err(serde::ser::Error::custom)?)
    }
}

/// The backends of a master/slave group as the `MasterSlaveBackendServers` parameter (see
/// [`encode_master_slave_backend_servers`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MasterSlaveBackendServers(pub(crate) Vec<MasterSlaveBackend>);

impl Serialize for MasterSlaveBackendServers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_master_slave_backend_servers(&self.0).map_err(serde::ser::Error::custom)?)
    }
}

/// Decodes a `BackendServers` JSON value (the inverse of [`encode_backend_servers`]; also
/// reads the numbers responses carry).
///
/// Decoding keeps what the API says rather than refusing it: a backend type this crate does
/// not know (neither `ecs`, `eni` nor `eci`) becomes [`BackendType::Unknown`] with the
/// type's text, and its server id is kept as given, so that listing a group never fails on a
/// new kind of backend. [`Backend::validate`] (and so every request that sends backends)
/// refuses such a backend with an invalid-input error.
///
/// ```
/// use ack_net_slb::{decode_backend_servers, BackendType};
/// let b = decode_backend_servers(r#"[{"ServerId":"x-1","Port":"80","Type":"vm"}]"#).unwrap();
/// assert_eq!(b[0].kind, BackendType::Unknown("vm".into()));
/// assert!(b[0].validate().is_err());
/// ```
pub fn decode_backend_servers(json: &str) -> Result<Vec<Backend>, Error> {
    let wire: Vec<WireBackend> = serde_json::from_str(json)
        .map_err(|e| Error::invalid_input("BackendServers", format!("not valid JSON: {e}")))?;
    Ok(wire.into_iter().map(WireBackend::into_backend).collect())
}

/// A backend as responses (and our own JSON) carry it.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct WireBackend {
    #[serde(rename = "ServerId", deserialize_with = "ack_net_core::de::string")]
    server_id: String,
    #[serde(rename = "Port", default, deserialize_with = "ack_net_core::de::opt_number")]
    port: Option<u16>,
    #[serde(rename = "Weight", default, deserialize_with = "ack_net_core::de::opt_number")]
    weight: Option<u8>,
    #[serde(rename = "Type", default, deserialize_with = "ack_net_core::de::string")]
    kind: String,
    #[serde(rename = "ServerIp", default, deserialize_with = "opt_ip")]
    server_ip: Option<IpAddr>,
    #[serde(rename = "Description", default, deserialize_with = "crate::common::opt_string")]
    description: Option<String>,
    #[serde(rename = "ServerType", default, deserialize_with = "crate::common::opt_string")]
    server_type: Option<String>,
}

impl WireBackend {
    pub(crate) fn into_backend(self) -> Backend {
        let kind = if self.kind.is_empty() { BackendType::Ecs } else { BackendType::from_wire(&self.kind) };
        Backend {
            server_id: self.server_id,
            kind,
            server_ip: self.server_ip,
            port: self.port.unwrap_or(0),
            weight: self.weight.unwrap_or(Backend::DEFAULT_WEIGHT),
            description: self.description,
        }
    }

    pub(crate) fn into_master_slave(self) -> MasterSlaveBackend {
        let server_type = ServerType::from_wire(self.server_type.as_deref().unwrap_or_default());
        MasterSlaveBackend { backend: self.into_backend(), server_type }
    }
}

/// An optional address: `""`, `null` and a missing field are `None`.
pub(crate) fn opt_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    let s = ack_net_core::de::string(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IP address")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ack_net_core::ErrorInfo;
    use proptest::prelude::*;

    #[test]
    fn documented_names_and_string_values_only() {
        let backends = vec![
            Backend::ecs(&"i-bp1a".parse().unwrap(), 80),
            Backend::eni(&"eni-bp1b".parse().unwrap(), "10.0.0.7".parse().unwrap(), 8080)
                .with_weight(0)
                .with_description("pod web-0"),
            Backend::eci(&"eci-bp1c".parse().unwrap(), "2408:4000::1".parse().unwrap(), 443).with_weight(7),
        ];
        let json = encode_backend_servers(&backends).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let allowed = ["ServerId", "Port", "Weight", "Type", "ServerIp", "Description"];
        for item in v.as_array().unwrap() {
            for (k, val) in item.as_object().unwrap() {
                assert!(allowed.contains(&k.as_str()), "unexpected field {k}");
                assert!(val.is_string(), "{k} must be a string, got {val}");
            }
        }
        assert_eq!(
            json,
            concat!(
                r#"[{"ServerId":"i-bp1a","Port":"80","Weight":"100","Type":"ecs"},"#,
                r#"{"ServerId":"eni-bp1b","Port":"8080","Weight":"0","Type":"eni","ServerIp":"10.0.0.7","Description":"pod web-0"},"#,
                r#"{"ServerId":"eci-bp1c","Port":"443","Weight":"7","Type":"eci","ServerIp":"2408:4000::1"}]"#
            )
        );
        assert_eq!(decode_backend_servers(&json).unwrap(), backends);
    }

    #[test]
    fn bad_backends_are_typed_errors() {
        let e = encode_backend_servers(&[Backend::ecs(&"i-a".parse().unwrap(), 0)]).unwrap_err();
        assert!(matches!(e, Error::InvalidPort { what: "Port", port: 0 }), "{e:?}");
        let e = encode_backend_servers(&[Backend::ecs(&"i-a".parse().unwrap(), 80).with_weight(101)]).unwrap_err();
        assert!(matches!(e, Error::InvalidWeight { weight: 101, .. }), "{e:?}");
        let mut no_ip = Backend::eni(&"eni-a".parse().unwrap(), "10.0.0.1".parse().unwrap(), 80);
        no_ip.server_ip = None;
        let e = encode_backend_servers(&[no_ip]).unwrap_err();
        assert!(matches!(e, Error::BackendWithoutIp { ref kind, .. } if kind == "eni"), "{e:?}");
        // The typed id refuses the wrong form when parsed; a backend changed by hand is still checked.
        assert!("eni-a".parse::<InstanceId>().is_err());
        let mut wrong_id = Backend::ecs(&"i-a".parse().unwrap(), 80);
        wrong_id.server_id = "eni-a".into();
        assert!(encode_backend_servers(&[wrong_id]).unwrap_err().is_invalid_input());
        let mut odd = Backend::ecs(&"i-a".parse().unwrap(), 80);
        odd.kind = BackendType::Unknown("vm".into());
        assert!(encode_backend_servers(&[odd]).is_err());
        assert!(encode_backend_servers(&[Backend::ecs(&"i-a".parse().unwrap(), 80).with_description("x".repeat(81))])
            .is_err());
    }

    #[test]
    fn responses_with_numbers_decode() {
        let b = decode_backend_servers(r#"[{"ServerId":"i-a","Port":80,"Weight":100,"Type":"ecs","Description":""}]"#)
            .unwrap();
        assert_eq!(b, vec![Backend::ecs(&"i-a".parse().unwrap(), 80)]);
        let ms = encode_master_slave_backend_servers(&[MasterSlaveBackend {
            backend: Backend::ecs(&"i-a".parse().unwrap(), 80),
            server_type: ServerType::Master,
        }])
        .unwrap();
        assert_eq!(ms, r#"[{"ServerId":"i-a","Port":"80","Weight":"100","Type":"ecs","ServerType":"Master"}]"#);
    }

    fn arb_backend() -> impl Strategy<Value = Backend> {
        let id = "[a-z0-9]{1,20}";
        let ip = any::<[u8; 4]>().prop_map(IpAddr::from);
        (0..3u8, id, ip, 1..=u16::MAX, 0..=100u8, proptest::option::of("[ -~]{0,80}")).prop_map(
            |(kind, id, ip, port, weight, description)| {
                let b = match kind {
                    0 => Backend::ecs(&format!("i-{id}").parse().unwrap(), port),
                    1 => Backend::eni(&format!("eni-{id}").parse().unwrap(), ip, port),
                    _ => Backend::eci(&format!("eci-{id}").parse().unwrap(), ip, port),
                };
                let b = b.with_weight(weight);
                // An empty description means none on the wire.
                match description.filter(|d| !d.is_empty() && !d.starts_with("http://") && !d.starts_with("https://")) {
                    Some(d) => b.with_description(d),
                    None => b,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn round_trip(backends in proptest::collection::vec(arb_backend(), 0..30)) {
            let json = encode_backend_servers(&backends).unwrap();
            prop_assert_eq!(decode_backend_servers(&json).unwrap(), backends);
        }
    }
}
