//! The attributes of each listener protocol: their wire names (and the odd lower-case
//! spellings some actions use), types, ranges, defaults, and where
//! `DescribeLoadBalancerListeners` puts them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::MockError;
use crate::handler::Req;

/// The type and range of an attribute.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// An integer in a range.
    Int(i64, i64),
    /// `-1` or an integer in 1..=max (listener bandwidth).
    Bandwidth(i64),
    /// Free text up to this many characters.
    Text(usize),
    /// `on` or `off`.
    OnOff,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// `true` or `false`.
    Bool,
}

/// Where an attribute appears in `DescribeLoadBalancerListeners`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// On the listener object itself.
    Top,
    /// In the `<PROTO>ListenerConfig` object.
    Config,
    /// Only in `Describe<PROTO>ListenerAttribute`.
    AttributeOnly,
}

/// One attribute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attr {
    /// The response name, and the request name unless `aliases` says otherwise.
    pub name: &'static str,
    /// Other request spellings (`HealthCheckSwitch`, `healthCheckInterval`...).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// The value a new listener gets when the request does not set it.
    pub default: Option<&'static str>,
    pub place: Place,
}

const fn a(name: &'static str, kind: Kind, default: Option<&'static str>, place: Place) -> Attr {
    Attr { name, aliases: &[], kind, default, place }
}

const fn al(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    default: Option<&'static str>,
    place: Place,
) -> Attr {
    Attr { name, aliases, kind, default, place }
}

use Kind::*;
use Place::*;

const SCHEDULERS: &[&str] = &["wrr", "wlc", "rr", "sch", "tch", "qch"];

const COMMON: &[Attr] = &[
    a("Bandwidth", Bandwidth(5120), Some("-1"), Top),
    a("Scheduler", OneOf(SCHEDULERS), Some("wrr"), Top),
    a("Description", Text(80), None, Top),
    a("BackendServerPort", Int(1, 65535), None, Top),
    a("VServerGroupId", Text(64), None, Top),
    a("AclId", Text(64), None, Top),
    a("AclStatus", OnOff, Some("off"), Top),
    a("AclType", OneOf(&["white", "black"]), None, Top),
];

const L4_HEALTH: &[Attr] = &[
    al("HealthCheck", &["HealthCheckSwitch"], OnOff, Some("on"), Config),
    a("HealthCheckConnectPort", Int(1, 65535), None, Config),
    a("HealthCheckConnectTimeout", Int(1, 300), Some("5"), Config),
    al("HealthCheckInterval", &["healthCheckInterval"], Int(1, 50), Some("2"), Config),
    a("HealthyThreshold", Int(2, 10), Some("3"), Config),
    a("UnhealthyThreshold", Int(2, 10), Some("3"), Config),
    a("MasterSlaveServerGroupId", Text(64), None, Config),
    a("ProxyProtocolV2Enabled", Bool, Some("false"), Config),
    a("ConnectionDrain", OnOff, Some("off"), Config),
    a("ConnectionDrainTimeout", Int(10, 900), None, Config),
];

const TCP_ONLY: &[Attr] = &[
    a("HealthCheckType", OneOf(&["tcp", "http"]), Some("tcp"), Config),
    a("HealthCheckDomain", Text(80), None, Config),
    a("HealthCheckURI", Text(80), None, Config),
    a("HealthCheckHttpCode", Text(80), None, Config),
    a("HealthCheckMethod", OneOf(&["head", "get"]), None, Config),
    a("PersistenceTimeout", Int(0, 3600), Some("0"), Config),
    a("EstablishedTimeout", Int(10, 900), Some("900"), Config),
    a("SynProxy", OneOf(&["enable", "disable"]), Some("disable"), AttributeOnly),
];

const UDP_ONLY: &[Attr] = &[
    al("HealthCheckReq", &["healthCheckReq"], Text(500), None, Config),
    al("HealthCheckExp", &["healthCheckExp"], Text(500), None, Config),
];

const L7: &[Attr] = &[
    a("HealthCheck", OnOff, None, Config),
    a("HealthCheckConnectPort", Int(1, 65535), None, Config),
    a("HealthCheckDomain", Text(80), None, Config),
    a("HealthCheckURI", Text(80), None, Config),
    a("HealthCheckHttpCode", Text(80), Some("http_2xx"), Config),
    a("HealthCheckMethod", OneOf(&["head", "get"]), Some("head"), Config),
    a("HealthCheckInterval", Int(1, 50), Some("2"), Config),
    a("HealthCheckTimeout", Int(1, 300), Some("5"), Config),
    a("HealthyThreshold", Int(2, 10), Some("3"), Config),
    a("UnhealthyThreshold", Int(2, 10), Some("3"), Config),
    a("StickySession", OnOff, Some("off"), Config),
    a("StickySessionType", OneOf(&["insert", "server"]), None, Config),
    a("CookieTimeout", Int(1, 86400), None, Config),
    a("Cookie", Text(200), None, Config),
    a("Gzip", OnOff, Some("on"), Config),
    a("IdleTimeout", Int(1, 60), Some("15"), Config),
    a("RequestTimeout", Int(1, 180), Some("60"), Config),
    a("XForwardedFor", OnOff, Some("on"), Config),
    a("XForwardedFor_SLBIP", OnOff, Some("off"), Config),
    a("XForwardedFor_SLBID", OnOff, Some("off"), Config),
    a("XForwardedFor_proto", OnOff, Some("off"), Config),
    a("XForwardedFor_SLBPORT", OnOff, Some("off"), Config),
    a("XForwardedFor_ClientSrcPort", OnOff, Some("off"), Config),
];

const HTTP_ONLY: &[Attr] =
    &[a("ListenerForward", OnOff, Some("off"), Config), a("ForwardPort", Int(1, 65535), None, Config)];

const TLS_POLICIES: &[&str] = &[
    "tls_cipher_policy_1_0",
    "tls_cipher_policy_1_1",
    "tls_cipher_policy_1_2",
    "tls_cipher_policy_1_2_strict",
    "tls_cipher_policy_1_2_strict_with_1_3",
];

const HTTPS_ONLY: &[Attr] = &[
    a("ServerCertificateId", Text(128), None, Config),
    a("CACertificateId", Text(128), None, Config),
    a("EnableHttp2", OnOff, Some("on"), Config),
    a("TLSCipherPolicy", OneOf(TLS_POLICIES), Some("tls_cipher_policy_1_0"), Config),
    a("XForwardedFor_ClientCertClientVerify", OnOff, Some("off"), Config),
    a("XForwardedFor_ClientCertFingerprint", OnOff, Some("off"), Config),
    a("XForwardedFor_ClientCertIssuerDN", OnOff, Some("off"), Config),
    a("XForwardedFor_ClientCertSubjectDN", OnOff, Some("off"), Config),
];

/// Every attribute of a protocol (`tcp`, `udp`, `http`, `https`).
pub(crate) fn attrs_of(protocol: &str) -> Vec<Attr> {
    let parts: &[&[Attr]] = match protocol {
        "tcp" => &[COMMON, L4_HEALTH, TCP_ONLY],
        "udp" => &[COMMON, L4_HEALTH, UDP_ONLY],
        "http" => &[COMMON, L7, HTTP_ONLY],
        _ => &[COMMON, L7, HTTPS_ONLY],
    };
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

fn parse(attr: &Attr, param: &str, raw: &str) -> Result<Value, MockError> {
    let bad = |why: String| MockError::invalid_param(param, why);
    match attr.kind {
        Int(lo, hi) => {
            let n: i64 = raw.trim().parse().map_err(|_| bad(format!("{raw:?} is not an integer")))?;
            if n < lo || n > hi {
                return Err(bad(format!("must be between {lo} and {hi}")));
            }
            Ok(json!(n))
        }
        Bandwidth(max) => {
            let n: i64 = raw.trim().parse().map_err(|_| bad(format!("{raw:?} is not an integer")))?;
            if n != -1 && !(1..=max).contains(&n) {
                return Err(bad(format!("must be -1 or between 1 and {max}")));
            }
            Ok(json!(n))
        }
        Text(max) => {
            if raw.chars().count() > max {
                return Err(bad(format!("must be at most {max} characters")));
            }
            Ok(json!(raw))
        }
        OnOff => match raw {
            "on" | "off" => Ok(json!(raw)),
            _ => Err(bad(format!("{raw:?} must be on or off"))),
        },
        OneOf(values) => {
            if values.contains(&raw) {
                Ok(json!(raw))
            } else {
                Err(bad(format!("{raw:?} must be one of {values:?}")))
            }
        }
        Bool => match raw.to_ascii_lowercase().as_str() {
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            _ => Err(bad(format!("{raw:?} must be true or false"))),
        },
    }
}

/// The attributes of `protocol` the request sets, by response name. An empty value clears
/// a text attribute (the real API treats an empty string as unset).
pub(crate) fn from_request(req: &Req, protocol: &str) -> Result<BTreeMap<String, Option<Value>>, MockError> {
    let mut out = BTreeMap::new();
    for attr in attrs_of(protocol) {
        for param in std::iter::once(attr.name).chain(attr.aliases.iter().copied()) {
            let Some(raw) = req.params.get(param) else { continue };
            if raw.is_empty() {
                if matches!(attr.kind, Text(_)) {
                    out.insert(attr.name.to_owned(), None);
                }
                continue;
            }
            out.insert(attr.name.to_owned(), Some(parse(&attr, param, raw)?));
        }
    }
    Ok(out)
}

/// The defaults of a new listener of `protocol`.
pub(crate) fn defaults(protocol: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for attr in attrs_of(protocol) {
        if let Some(d) = attr.default {
            if let Ok(v) = parse(&attr, attr.name, d) {
                out.insert(attr.name.to_owned(), v);
            }
        }
    }
    out
}

/// Where `name` goes in the listing.
pub(crate) fn place_of(protocol: &str, name: &str) -> Place {
    attrs_of(protocol).iter().find(|a| a.name == name).map_or(Top, |a| a.place)
}

/// The value of an attribute as a string (`""` when unset).
pub(crate) fn text(attrs: &BTreeMap<String, Value>, name: &str) -> String {
    match attrs.get(name) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Checks the rules that tie attributes together, on the merged result of a create or set.
pub(crate) fn check_consistency(protocol: &str, attrs: &BTreeMap<String, Value>) -> Result<(), MockError> {
    let is = |name: &str, v: &str| text(attrs, name) == v;
    let missing = |name: &str, why: &str| {
        Err(MockError::bad_request(format!("MissingParameter.{name}"), format!("{name} is required {why}.")))
    };
    if is("AclStatus", "on") {
        if !attrs.contains_key("AclId") {
            return missing("AclId", "when AclStatus is on");
        }
        if !attrs.contains_key("AclType") {
            return missing("AclType", "when AclStatus is on");
        }
    }
    if is("ConnectionDrain", "on") && !attrs.contains_key("ConnectionDrainTimeout") {
        return missing("ConnectionDrainTimeout", "when ConnectionDrain is on");
    }
    if (protocol == "http" || protocol == "https") && is("StickySession", "on") {
        match text(attrs, "StickySessionType").as_str() {
            "insert" if !attrs.contains_key("CookieTimeout") => {
                return missing("CookieTimeout", "when StickySessionType is insert")
            }
            "server" if !attrs.contains_key("Cookie") => return missing("Cookie", "when StickySessionType is server"),
            "" => return missing("StickySessionType", "when StickySession is on"),
            _ => {}
        }
    }
    if attrs.contains_key("VServerGroupId") && attrs.contains_key("MasterSlaveServerGroupId") {
        return Err(MockError::bad_request(
            "Abs.VServerGroupIdAndMasterSlaveServerGroupId.MissMatch",
            "VServerGroupId and MasterSlaveServerGroupId cannot both be set.",
        ));
    }
    let forwards = protocol == "http" && is("ListenerForward", "on");
    if !forwards
        && !attrs.contains_key("BackendServerPort")
        && !attrs.contains_key("VServerGroupId")
        && !attrs.contains_key("MasterSlaveServerGroupId")
    {
        return missing("BackendServerPort", "unless VServerGroupId or MasterSlaveServerGroupId is set");
    }
    if forwards && !attrs.contains_key("ForwardPort") {
        return missing("ForwardPort", "when ListenerForward is on");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_ranges_and_defaults() {
        let r = Req::new(
            "CreateLoadBalancerTCPListener",
            "2014-05-15",
            &[("healthCheckInterval", "7"), ("HealthCheckSwitch", "off"), ("Bandwidth", "-1"), ("Description", "")],
        );
        let got = from_request(&r, "tcp").unwrap();
        assert_eq!(got["HealthCheckInterval"], Some(json!(7)));
        assert_eq!(got["HealthCheck"], Some(json!("off")));
        assert_eq!(got["Description"], None);
        let bad = Req::new("X", "v", &[("Bandwidth", "0")]);
        assert_eq!(from_request(&bad, "tcp").unwrap_err().code, "InvalidParameter");
        let bad = Req::new("X", "v", &[("Scheduler", "random")]);
        assert!(from_request(&bad, "http").is_err());
        let bad = Req::new("X", "v", &[("EstablishedTimeout", "5")]);
        assert!(from_request(&bad, "tcp").is_err());
        let d = defaults("https");
        assert_eq!(d["EnableHttp2"], json!("on"));
        assert_eq!(d["Scheduler"], json!("wrr"));
        assert_eq!(defaults("tcp")["ProxyProtocolV2Enabled"], json!(false));
        assert_eq!(place_of("tcp", "PersistenceTimeout"), Config);
        assert_eq!(place_of("tcp", "Scheduler"), Top);
    }

    #[test]
    fn consistency() {
        let mut m = defaults("http");
        m.insert("HealthCheck".into(), json!("off"));
        assert_eq!(check_consistency("http", &m).unwrap_err().code, "MissingParameter.BackendServerPort");
        m.insert("BackendServerPort".into(), json!(80));
        assert!(check_consistency("http", &m).is_ok());
        m.insert("StickySession".into(), json!("on"));
        m.insert("StickySessionType".into(), json!("insert"));
        assert_eq!(check_consistency("http", &m).unwrap_err().code, "MissingParameter.CookieTimeout");
        m.insert("CookieTimeout".into(), json!(100));
        assert!(check_consistency("http", &m).is_ok());
    }
}
