//! Label selectors (`metav1.LabelSelector`), validated and matched as Kubernetes does.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::Error;

/// Object labels.
pub(crate) type Labels = BTreeMap<String, String>;

/// A validated label selector: every `matchLabels` pair and every requirement must hold.
/// The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Selector {
    labels: Vec<(String, String)>,
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Selector {
    /// Validates `selector` (found at `field` of `object`) as the API server does.
    pub(crate) fn parse(selector: &LabelSelector, object: &str, field: &str) -> Result<Self, Error> {
        let labels = selector.match_labels.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut requirements = Vec::new();
        for (i, req) in selector.match_expressions.iter().flatten().enumerate() {
            let values = req.values.clone().unwrap_or_default();
            let needs_values = match req.operator.as_str() {
                "In" | "NotIn" => true,
                "Exists" | "DoesNotExist" => false,
                other => {
                    return Err(Error::InvalidSelectorOperator {
                        object: object.to_owned(),
                        field: format!("{field}.matchExpressions[{i}].operator"),
                        operator: other.to_owned(),
                    })
                }
            };
            if needs_values == values.is_empty() {
                return Err(Error::InvalidSelector {
                    object: object.to_owned(),
                    field: format!("{field}.matchExpressions[{i}].values"),
                    reason: if needs_values {
                        "must be specified when `operator` is 'In' or 'NotIn'"
                    } else {
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                    },
                });
            }
            let key = req.key.clone();
            requirements.push(match req.operator.as_str() {
                "In" => Requirement::In(key, values),
                "NotIn" => Requirement::NotIn(key, values),
                "Exists" => Requirement::Exists(key),
                _ => Requirement::DoesNotExist(key),
            });
        }
        Ok(Selector { labels, requirements })
    }

    /// Whether the selector matches an object with these labels.
    pub(crate) fn matches(&self, labels: &Labels) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.requirements.iter().all(|req| match req {
                Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
                // As in k8s.io/apimachinery/pkg/labels: NotIn matches objects without the key.
                Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
                Requirement::Exists(k) => labels.contains_key(k),
                Requirement::DoesNotExist(k) => !labels.contains_key(k),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(json: serde_json::Value) -> Result<Selector, Error> {
        let raw: LabelSelector = serde_json::from_value(json).expect("valid LabelSelector JSON");
        Selector::parse(&raw, "NetworkPolicy ns/p", "spec.podSelector")
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn empty_selector_matches_everything() {
        let s = selector(serde_json::json!({})).unwrap();
        assert!(s.matches(&labels(&[])));
        assert!(s.matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_and_expressions_are_anded() {
        let s = selector(serde_json::json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]
        }))
        .unwrap();
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "fe")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "db")])));
        assert!(!s.matches(&labels(&[("app", "web")])));
        assert!(!s.matches(&labels(&[("app", "api"), ("tier", "fe")])));
    }

    #[test]
    fn operators() {
        let not_in = selector(serde_json::json!({
            "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]
        }))
        .unwrap();
        assert!(not_in.matches(&labels(&[("env", "dev")])));
        assert!(not_in.matches(&labels(&[])), "NotIn matches a missing key");
        assert!(!not_in.matches(&labels(&[("env", "prod")])));

        let exists = selector(serde_json::json!({"matchExpressions": [{"key": "env", "operator": "Exists"}]})).unwrap();
        assert!(exists.matches(&labels(&[("env", "")])));
        assert!(!exists.matches(&labels(&[("other", "x")])));

        let absent =
            selector(serde_json::json!({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]})).unwrap();
        assert!(absent.matches(&labels(&[("other", "x")])));
        assert!(!absent.matches(&labels(&[("env", "x")])));
    }

    #[test]
    fn invalid_operator_is_a_typed_error() {
        let err = selector(serde_json::json!({
            "matchExpressions": [{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "in", "values": ["x"]}]
        }))
        .unwrap_err();
        assert_eq!(
            err,
            Error::InvalidSelectorOperator {
                object: "NetworkPolicy ns/p".into(),
                field: "spec.podSelector.matchExpressions[1].operator".into(),
                operator: "in".into(),
            }
        );
        assert!(err.to_string().contains("unknown label selector operator \"in\""), "{err}");
    }

    #[test]
    fn values_must_fit_the_operator() {
        for (op, values) in
            [("In", None), ("NotIn", Some(vec![])), ("Exists", Some(vec!["x"])), ("DoesNotExist", Some(vec!["x"]))]
        {
            let err =
                selector(serde_json::json!({"matchExpressions": [{"key": "a", "operator": op, "values": values}]}))
                    .unwrap_err();
            assert!(
                matches!(&err, Error::InvalidSelector { field, .. } if field == "spec.podSelector.matchExpressions[0].values"),
                "{op}: {err:?}"
            );
        }
    }
}
