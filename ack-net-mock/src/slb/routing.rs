//! Which VServer group a layer-7 listener sends a request to, as the product documents its
//! forwarding rules: a rule with the exact domain before one with a wildcard domain (the
//! longer wildcard first), those before rules without a domain; among the rules of the first
//! of these tiers that has a match, the longest URL prefix wins (a rule without a URL
//! matches every path, with length 0). A request no rule takes goes to the listener's own
//! VServer group. An HTTP listener that forwards to HTTPS redirects every request.
//!
//! Readings where the product documentation is silent: host names compare without case and
//! without a port; `*.example.com` matches any name that ends in `.example.com` (one label
//! or more); a URL matches as a string prefix of the path (`/api` matches `/apis` too).

use super::listener_attrs::text;
use super::{Rule, SlbState};

/// Where a listener sends one request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Routed {
    /// A forwarding rule took it, to its VServer group.
    Rule {
        /// The rule.
        rule_id: String,
        /// The rule's VServer group.
        vserver_group_id: String,
    },
    /// No rule took it: the listener's own VServer group (empty when the listener sends to
    /// its default backends).
    Listener {
        /// The listener's VServer group.
        vserver_group_id: String,
    },
    /// The HTTP listener redirects to the HTTPS listener on this port.
    Redirect {
        /// The HTTPS listener's port.
        port: u16,
    },
}

impl Routed {
    /// The VServer group the request reaches, if it reaches one.
    pub fn vserver_group_id(&self) -> Option<&str> {
        match self {
            Routed::Rule { vserver_group_id, .. } | Routed::Listener { vserver_group_id } => {
                Some(vserver_group_id).filter(|g| !g.is_empty()).map(String::as_str)
            }
            Routed::Redirect { .. } => None,
        }
    }
}

/// How well a rule's domain matches a host: `None` when it does not; higher is preferred.
fn domain_rank(domain: &str, host: &str) -> Option<usize> {
    if domain.is_empty() {
        return Some(0);
    }
    if let Some(suffix) = domain.strip_prefix("*.") {
        let suffix = format!(".{}", suffix.to_ascii_lowercase());
        // Every wildcard ranks below every exact domain; a longer suffix is more specific.
        return (host.len() > suffix.len() && host.ends_with(&suffix)).then_some(1 + suffix.len());
    }
    domain.eq_ignore_ascii_case(host).then_some(usize::MAX)
}

impl SlbState {
    /// Where the layer-7 listener on `port` of load balancer `lb_id` sends a request for
    /// `host` (a port after it is ignored) and `path`; `None` when there is no such HTTP or
    /// HTTPS listener.
    ///
    /// ```
    /// # async fn demo(mock: ack_net_mock::MockCloud) {
    /// let routed = mock.with_state(|s| s.slb.route("lb-bp1example", 80, "www.example.com", "/api/v1"));
    /// let group = routed.as_ref().and_then(|r| r.vserver_group_id());
    /// # }
    /// ```
    pub fn route(&self, lb_id: &str, port: u16, host: &str, path: &str) -> Option<Routed> {
        let lb = self.lbs.get(lb_id)?;
        let listener =
            lb.listeners.iter().find(|l| l.port == port && (l.protocol == "http" || l.protocol == "https"))?;
        if listener.protocol == "http" && text(&listener.attrs, "ListenerForward") == "on" {
            let to = text(&listener.attrs, "ForwardPort").parse().unwrap_or(443);
            return Some(Routed::Redirect { port: to });
        }
        let host = host.split(':').next().unwrap_or_default().to_ascii_lowercase();
        // The best domain tier with a match first, then the longest URL within it.
        let best = self
            .rules
            .values()
            .filter(|r| r.lb_id == lb_id && r.port == port && r.protocol == listener.protocol)
            .filter_map(|r: &Rule| Some((domain_rank(&r.domain, &host)?, r)))
            .filter(|(_, r)| path.starts_with(&r.url))
            .max_by_key(|(rank, r)| (*rank, r.url.len(), std::cmp::Reverse(r.seq)))
            .map(|(_, r)| r);
        Some(match best {
            Some(r) => Routed::Rule { rule_id: r.id.clone(), vserver_group_id: r.vserver_group_id.clone() },
            None => Routed::Listener { vserver_group_id: text(&listener.attrs, "VServerGroupId") },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::state::State;

    #[test]
    fn exact_domain_then_wildcard_then_longest_url() {
        let mut s = State::new(1);
        let lb = internet_lb(&mut s);
        let groups: Vec<String> = (0..6).map(|_| group(&mut s, &lb, None)).collect();
        ok(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("HealthCheck", "off"), ("VServerGroupId", &groups[0])],
        );
        let list = format!(
            r#"[{{"RuleName":"exact-root","Domain":"www.example.com","Url":"/","VServerGroupId":"{}"}},
                {{"RuleName":"exact-api","Domain":"www.example.com","Url":"/api","VServerGroupId":"{}"}},
                {{"RuleName":"wild","Domain":"*.example.com","VServerGroupId":"{}"}},
                {{"RuleName":"wild-deep","Domain":"*.eu.example.com","Url":"/shop","VServerGroupId":"{}"}},
                {{"RuleName":"any-static","Url":"/static","VServerGroupId":"{}"}}]"#,
            groups[1], groups[2], groups[3], groups[4], groups[5]
        );
        ok(&mut s, "CreateRules", &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("RuleList", &list)]);
        let to = |host: &str, path: &str| {
            s.slb.route(&lb, 80, host, path).and_then(|r| r.vserver_group_id().map(str::to_owned)).unwrap_or_default()
        };
        assert_eq!(to("www.example.com", "/api/v1"), groups[2], "longest URL of the exact domain");
        assert_eq!(to("WWW.example.com:8080", "/index.html"), groups[1], "case and port ignored");
        assert_eq!(to("img.example.com", "/api"), groups[3], "wildcard");
        assert_eq!(to("a.eu.example.com", "/shop/cart"), groups[4], "the longer wildcard first");
        assert_eq!(to("a.eu.example.com", "/about"), groups[3], "then the shorter one");
        assert_eq!(to("example.com", "/static/app.js"), groups[5], "a wildcard needs a label before it");
        assert_eq!(to("other.org", "/"), groups[0], "no rule: the listener's group");
        assert_eq!(s.slb.route(&lb, 81, "www.example.com", "/"), None);
    }
}
