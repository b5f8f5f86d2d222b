//! Kubernetes manifests for `plan`: YAML files of one or more documents (`---`), each an
//! object or a `List` of them, sorted into the Services, Nodes and EndpointSlices a load
//! balancer plan reads, and the Ingresses, IngressClasses and Secrets an Ingress plan reads
//! too. Other kinds are skipped and named.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use k8s_openapi::ByteString;
use serde::Deserialize;
use serde_json::Value;

/// Why a manifest could not be read. Every variant names the file and, past reading it, the
/// document (counted from 1).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A document is not valid YAML.
    #[error("{path}: document {document} is not valid YAML")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The document.
        document: usize,
        /// The parser's complaint, with the line and column.
        source: serde_norway::Error,
    },
    /// A document is YAML but not a Kubernetes object (no `kind`, or not a mapping).
    #[error("{path}: document {document} is not a Kubernetes object: {reason}")]
    NotAnObject {
        /// The file.
        path: PathBuf,
        /// The document.
        document: usize,
        /// What is missing.
        reason: String,
    },
    /// A Service, Node or EndpointSlice whose fields do not fit the Kubernetes schema.
    #[error("{path}: document {document}: {kind} {name} does not fit the Kubernetes schema")]
    InvalidObject {
        /// The file.
        path: PathBuf,
        /// The document.
        document: usize,
        /// The object's kind.
        kind: String,
        /// The object's `namespace/name` as far as it could be read.
        name: String,
        /// Which field is wrong, and how.
        source: serde_json::Error,
    },
}

/// The objects of one or more manifest files.
#[derive(Debug, Default)]
pub struct Manifest {
    /// The Services, in file order.
    pub services: Vec<Service>,
    /// The Nodes.
    pub nodes: Vec<Node>,
    /// The EndpointSlices.
    pub slices: Vec<EndpointSlice>,
    /// The Ingresses, in file order.
    pub ingresses: Vec<Ingress>,
    /// The IngressClasses.
    pub classes: Vec<IngressClass>,
    /// The Secrets, their `stringData` folded into `data` (as the API server stores them).
    pub secrets: Vec<Secret>,
    /// Objects of other kinds, as `Kind namespace/name`.
    pub skipped: Vec<String>,
}

impl Manifest {
    /// Reads and parses `paths` in order; `-` is standard input.
    pub fn read(paths: &[PathBuf]) -> Result<Self, ManifestError> {
        let mut manifest = Manifest::default();
        for path in paths {
            let read_error = |source| ManifestError::Read { path: path.clone(), source };
            let text = if path.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).map_err(read_error)?;
                s
            } else {
                std::fs::read_to_string(path).map_err(read_error)?
            };
            manifest.parse(path, &text)?;
        }
        Ok(manifest)
    }

    /// Adds the objects of `text`, the content of `path`.
    pub fn parse(&mut self, path: &Path, text: &str) -> Result<(), ManifestError> {
        for (i, document) in serde_norway::Deserializer::from_str(text).enumerate() {
            let document_no = i + 1;
            let value = Value::deserialize(document).map_err(|source| ManifestError::Yaml {
                path: path.to_owned(),
                document: document_no,
                source,
            })?;
            // An empty document (a leading or trailing `---`) is no object.
            if !value.is_null() {
                self.add(path, document_no, value)?;
            }
        }
        Ok(())
    }

    /// Adds one object, or the items of a `List`.
    fn add(&mut self, path: &Path, document: usize, value: Value) -> Result<(), ManifestError> {
        let not_an_object =
            |reason: &str| ManifestError::NotAnObject { path: path.to_owned(), document, reason: reason.to_owned() };
        if !value.is_object() {
            return Err(not_an_object("it is not a mapping"));
        }
        let kind = value["kind"].as_str().ok_or_else(|| not_an_object("it has no kind"))?.to_owned();
        let name = ObjectName(&value).to_string();
        let invalid = |source| ManifestError::InvalidObject {
            path: path.to_owned(),
            document,
            kind: kind.clone(),
            name: name.clone(),
            source,
        };
        match kind.as_str() {
            "Service" => self.services.push(serde_json::from_value(value).map_err(invalid)?),
            "Node" => self.nodes.push(serde_json::from_value(value).map_err(invalid)?),
            "EndpointSlice" => self.slices.push(serde_json::from_value(value).map_err(invalid)?),
            "Ingress" => self.ingresses.push(serde_json::from_value(value).map_err(invalid)?),
            "IngressClass" => self.classes.push(serde_json::from_value(value).map_err(invalid)?),
            "Secret" => {
                let mut secret: Secret = serde_json::from_value(value).map_err(invalid)?;
                for (k, v) in secret.string_data.take().into_iter().flatten() {
                    secret.data.get_or_insert_with(Default::default).insert(k, ByteString(v.into_bytes()));
                }
                self.secrets.push(secret);
            }
            // `kubectl get -o yaml` prints a `List` (or `ServiceList`...) of items.
            k if k.ends_with("List") => match value.get("items") {
                Some(Value::Array(items)) => {
                    for item in items.clone() {
                        self.add(path, document, item)?;
                    }
                }
                Some(Value::Null) | None => {}
                Some(_) => return Err(not_an_object("its items are not a list")),
            },
            _ => self.skipped.push(format!("{kind} {name}")),
        }
        Ok(())
    }

    /// `1 Service, 3 Nodes, 1 EndpointSlice`, then the Ingresses, IngressClasses and Secrets
    /// when there are any.
    pub fn summary(&self) -> String {
        let count = |n: usize, what: &str, plural: &str| format!("{n} {what}{}", if n == 1 { "" } else { plural });
        let mut parts = vec![
            count(self.services.len(), "Service", "s"),
            count(self.nodes.len(), "Node", "s"),
            count(self.slices.len(), "EndpointSlice", "s"),
        ];
        if !self.ingresses.is_empty() || !self.classes.is_empty() || !self.secrets.is_empty() {
            parts.push(count(self.ingresses.len(), "Ingress", "es"));
            parts.push(count(self.classes.len(), "IngressClass", "es"));
            parts.push(count(self.secrets.len(), "Secret", "s"));
        }
        parts.join(", ")
    }
}

/// An object's `namespace/name` (or `name` for cluster-scoped objects), `<unnamed>` without one.
struct ObjectName<'a>(&'a Value);

impl fmt::Display for ObjectName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = &self.0["metadata"];
        if let Some(ns) = meta["namespace"].as_str() {
            write!(f, "{ns}/")?;
        }
        f.write_str(meta["name"].as_str().unwrap_or("<unnamed>"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        m.parse(Path::new("test.yaml"), text)?;
        Ok(m)
    }

    #[test]
    fn documents_and_lists_are_sorted_by_kind() {
        let m = parse(
            "---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n\
             spec: {type: LoadBalancer, ports: [{port: 80, nodePort: 30080}]}\n---\n\
             apiVersion: v1\nkind: List\nitems:\n\
             - {apiVersion: v1, kind: Node, metadata: {name: n1}}\n\
             - {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}}\n---\n\
             apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, namespace: shop}\n\
             addressType: IPv4\nendpoints: []\n---\n",
        )
        .unwrap();
        assert_eq!(m.summary(), "1 Service, 1 Node, 1 EndpointSlice");
        assert_eq!(m.services[0].metadata.name.as_deref(), Some("web"));
        assert_eq!(m.skipped, vec!["ConfigMap shop/c"]);
    }

    #[test]
    fn ingresses_classes_and_secrets_are_read_with_string_data_folded_in() {
        let m = parse(
            "kind: IngressClass\nmetadata: {name: ack-net}\nspec: {controller: ack-net.io/ingress-controller}\n---\n\
             kind: Ingress\nmetadata: {name: web, namespace: shop}\nspec: {ingressClassName: ack-net}\n---\n\
             kind: Secret\nmetadata: {name: tls, namespace: shop}\ntype: kubernetes.io/tls\n\
             data: {tls.key: a2V5}\nstringData: {tls.crt: cert}\n",
        )
        .unwrap();
        assert_eq!(m.summary(), "0 Services, 0 Nodes, 0 EndpointSlices, 1 Ingress, 1 IngressClass, 1 Secret");
        let data = m.secrets[0].data.as_ref().unwrap();
        assert_eq!(data["tls.crt"].0, b"cert");
        assert_eq!(data["tls.key"].0, b"key", "data is base64 in YAML");
        assert!(m.secrets[0].string_data.is_none());
        let e = parse("kind: Ingress\nmetadata: {name: w}\nspec: {rules: 3}\n").unwrap_err();
        assert!(matches!(&e, ManifestError::InvalidObject { kind, .. } if kind == "Ingress"), "{e}");
    }

    #[test]
    fn bad_documents_are_typed_errors_that_say_where() {
        let e = parse("kind: Service\n---\nkind: [unclosed\n").unwrap_err();
        assert!(matches!(e, ManifestError::Yaml { document: 2, .. }), "{e}");
        assert_eq!(e.to_string(), "test.yaml: document 2 is not valid YAML");
        let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("line "), "{cause}");

        let e = parse("just a string\n").unwrap_err();
        assert!(matches!(e, ManifestError::NotAnObject { document: 1, .. }), "{e}");
        let e = parse("metadata: {name: x}\n").unwrap_err();
        assert_eq!(e.to_string(), "test.yaml: document 1 is not a Kubernetes object: it has no kind");

        let e = parse("kind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: eighty}]}\n")
            .unwrap_err();
        assert!(
            matches!(&e, ManifestError::InvalidObject { kind, name, .. } if kind == "Service" && name == "shop/web")
        );
        assert_eq!(e.to_string(), "test.yaml: document 1: Service shop/web does not fit the Kubernetes schema");
        let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        assert!(cause.starts_with("invalid type"), "{cause}");
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let e = Manifest::read(&[PathBuf::from("/nonexistent/service.yaml")]).unwrap_err();
        assert!(matches!(e, ManifestError::Read { .. }));
        assert_eq!(e.to_string(), "cannot read /nonexistent/service.yaml");
    }
}
