//! What a product handler sees of a request, and helpers every handler shares: typed
//! parameter access with the real error codes, list and tag flattening, pagination.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::error::MockError;

/// One verified request, as handlers see it.
#[derive(Clone, Debug)]
pub struct Req {
    /// The action, e.g. `CreateVpc`.
    pub action: String,
    /// The API version, e.g. `2016-04-28`.
    pub version: String,
    /// Every operation parameter (common and signature parameters removed), decoded.
    pub params: BTreeMap<String, String>,
    /// The mock's clock (tokio's, so tests may pause it).
    pub now: Instant,
}

impl Req {
    /// A request with the given parameters, for unit tests of handlers.
    pub fn new(action: &str, version: &str, params: &[(&str, &str)]) -> Self {
        Self {
            action: action.to_owned(),
            version: version.to_owned(),
            params: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            now: Instant::now(),
        }
    }

    /// A required, non-empty parameter, or `MissingParameter.<name>`.
    pub fn str(&self, name: &str) -> Result<&str, MockError> {
        match self.params.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(MockError::missing(name)),
        }
    }

    /// An optional parameter; an empty value counts as absent.
    pub fn opt_str(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// An optional parameter parsed as `T`, or `InvalidParameter` when it does not parse.
    pub fn opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, MockError> {
        match self.opt_str(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<T>().map(Some).map_err(|_| MockError::invalid_param(name, format!("{v:?}"))),
        }
    }

    /// A required parameter parsed as `T`.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<T, MockError> {
        let v = self.str(name)?;
        v.trim().parse::<T>().map_err(|_| MockError::invalid_param(name, format!("{v:?}")))
    }

    /// An optional boolean (`true`/`false`, any case).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, MockError> {
        match self.opt_str(name) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(MockError::invalid_param(name, format!("{v:?} is not a boolean"))),
            },
        }
    }

    /// A flattened list `prefix.1`, `prefix.2`, ... in index order. Gaps are allowed (the
    /// API tolerates them); indexes must be numbers from 1.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, MockError> {
        let mut items: Vec<(usize, String)> = Vec::new();
        let lead = format!("{prefix}.");
        for (k, v) in self.params.range(lead.clone()..) {
            let Some(rest) = k.strip_prefix(&lead) else { break };
            if rest.contains('.') {
                continue;
            }
            let i: usize = rest.parse().map_err(|_| MockError::invalid_param(k, "list index is not a number"))?;
            if i == 0 {
                return Err(MockError::invalid_param(k, "list indexes start at 1"));
            }
            items.push((i, v.clone()));
        }
        items.sort_by_key(|(i, _)| *i);
        Ok(items.into_iter().map(|(_, v)| v).collect())
    }

    /// Flattened objects `prefix.N.field`: one map of fields per index, in index order.
    pub fn objects(&self, prefix: &str) -> Result<Vec<BTreeMap<String, String>>, MockError> {
        let mut by_index: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        let lead = format!("{prefix}.");
        for (k, v) in self.params.range(lead.clone()..) {
            let Some(rest) = k.strip_prefix(&lead) else { break };
            let Some((idx, field)) = rest.split_once('.') else { continue };
            let i: usize = idx.parse().map_err(|_| MockError::invalid_param(k, "list index is not a number"))?;
            if i == 0 {
                return Err(MockError::invalid_param(k, "list indexes start at 1"));
            }
            by_index.entry(i).or_default().insert(field.to_owned(), v.clone());
        }
        Ok(by_index.into_values().collect())
    }

    /// Tags flattened as `prefix.N.key_name` / `prefix.N.value_name` (VPC: `Tag`/`Key`/`Value`).
    pub fn tags(&self, prefix: &str, key_name: &str, value_name: &str) -> Result<Vec<(String, String)>, MockError> {
        let mut out = Vec::new();
        for obj in self.objects(prefix)? {
            let Some(k) = obj.get(key_name).filter(|k| !k.is_empty()) else {
                return Err(MockError::invalid_param(&format!("{prefix}.N.{key_name}"), "tag key is empty"));
            };
            out.push((k.clone(), obj.get(value_name).cloned().unwrap_or_default()));
        }
        Ok(out)
    }

    /// A parameter that carries JSON (SLB's `BackendServers`, `Tags`).
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, MockError> {
        let v = self.str(name)?;
        serde_json::from_str(v).map_err(|e| MockError::invalid_param(name, format!("not valid JSON: {e}")))
    }
}

/// A page of a PageNumber/PageSize listing. Checks `PageNumber >= 1` and
/// `1 <= PageSize <= max`, defaulting the size to `default_size`.
/// Returns the page's items and the response fields `PageNumber`, `PageSize`, `TotalCount`.
pub fn page_by_number<T: Clone>(
    req: &Req,
    items: &[T],
    default_size: u32,
    max_size: u32,
) -> Result<(Vec<T>, Value), MockError> {
    let number: u32 = req.opt("PageNumber")?.unwrap_or(1);
    let size: u32 = req.opt("PageSize")?.unwrap_or(default_size);
    if number == 0 {
        return Err(MockError::invalid_param("PageNumber", "must be at least 1"));
    }
    if size == 0 || size > max_size {
        return Err(MockError::invalid_param("PageSize", format!("must be between 1 and {max_size}")));
    }
    let start = ((number - 1) as usize).saturating_mul(size as usize);
    let page: Vec<T> = items.iter().skip(start).take(size as usize).cloned().collect();
    Ok((page, serde_json::json!({ "PageNumber": number, "PageSize": size, "TotalCount": items.len() })))
}

/// A page of a NextToken/MaxResults listing (`MaxResults` parameter name given, since some
/// actions spell it `MaxResult`). The token is an opaque cursor; a token the mock did not
/// issue is `InvalidParameter` (`InvalidNextToken` on ECS, given as `bad_token_code`).
/// Returns the page and the `NextToken` to answer (empty at the end).
pub fn page_by_token<T: Clone>(
    req: &Req,
    items: &[T],
    max_results_param: &str,
    default_size: u32,
    min_size: u32,
    max_size: u32,
    bad_token_code: &str,
) -> Result<(Vec<T>, String), MockError> {
    let size: u32 = req.opt(max_results_param)?.unwrap_or(default_size);
    if size < min_size || size > max_size {
        return Err(MockError::invalid_param(max_results_param, format!("must be between {min_size} and {max_size}")));
    }
    let start = match req.opt_str("NextToken") {
        None => 0usize,
        Some(t) => decode_token(t)
            .ok_or_else(|| MockError::bad_request(bad_token_code, "The specified NextToken is invalid."))?,
    };
    if start > items.len() {
        return Err(MockError::bad_request(bad_token_code, "The specified NextToken is invalid."));
    }
    let end = (start + size as usize).min(items.len());
    let next = if end < items.len() { encode_token(end) } else { String::new() };
    Ok((items[start..end].to_vec(), next))
}

fn encode_token(offset: usize) -> String {
    format!("cur{offset:08x}")
}

fn decode_token(t: &str) -> Option<usize> {
    usize::from_str_radix(t.strip_prefix("cur")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_objects() {
        let r = Req::new(
            "X",
            "v",
            &[
                ("Ids.2", "b"),
                ("Ids.1", "a"),
                ("Ids.10", "c"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
                ("Tag.2.Key", "k2"),
            ],
        );
        assert_eq!(r.list("Ids").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(
            r.tags("Tag", "Key", "Value").unwrap(),
            vec![("k".into(), "v".into()), ("k2".into(), String::new())]
        );
        assert!(Req::new("X", "v", &[("Ids.0", "a")]).list("Ids").is_err());
        assert_eq!(r.str("Nope").unwrap_err().code, "MissingParameter.Nope");
    }

    #[test]
    fn paging() {
        let items: Vec<u32> = (0..25).collect();
        let r = Req::new("X", "v", &[("PageNumber", "3"), ("PageSize", "10")]);
        let (page, meta) = page_by_number(&r, &items, 10, 50).unwrap();
        assert_eq!(page, (20..25).collect::<Vec<_>>());
        assert_eq!(meta["TotalCount"], 25);
        assert!(page_by_number(&Req::new("X", "v", &[("PageSize", "51")]), &items, 10, 50).is_err());

        let r = Req::new("X", "v", &[("MaxResults", "10")]);
        let (p1, t1) = page_by_token(&r, &items, "MaxResults", 10, 10, 500, "InvalidNextToken").unwrap();
        assert_eq!(p1.len(), 10);
        let r = Req::new("X", "v", &[("MaxResults", "20"), ("NextToken", &t1)]);
        let (p2, t2) = page_by_token(&r, &items, "MaxResults", 10, 10, 500, "InvalidNextToken").unwrap();
        assert_eq!(p2, (10..25).collect::<Vec<_>>());
        assert!(t2.is_empty());
        let r = Req::new("X", "v", &[("NextToken", "garbage")]);
        assert_eq!(
            page_by_token(&r, &items, "MaxResults", 10, 10, 500, "InvalidNextToken").unwrap_err().code,
            "InvalidNextToken"
        );
    }
}
