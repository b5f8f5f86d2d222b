//! A plan as a readable diff.

use std::fmt;

use super::plan::{Action, GroupRef, LoadBalancerRef, Plan, SetPurpose};
use crate::Backend;

fn group(g: &GroupRef) -> String {
    match g {
        GroupRef::Existing(id) => id.to_string(),
        GroupRef::New(port) => format!("(new group for {port})"),
    }
}

/// `server:port`, with the address for ENI and ECI backends (one ENI holds several pods).
fn backend_name(b: &Backend) -> String {
    match b.server_ip {
        Some(ip) if b.kind != crate::BackendType::Ecs => format!("{}/{ip}:{}", b.server_id, b.port),
        _ => format!("{}:{}", b.server_id, b.port),
    }
}

/// The first three backends as `show` prints them, then how many more.
fn first_few(list: &[Backend], show: impl Fn(&Backend) -> String) -> String {
    const SHOWN: usize = 3;
    let mut shown: Vec<String> = list.iter().take(SHOWN).map(show).collect();
    if list.len() > SHOWN {
        shown.push(format!("+{} more", list.len() - SHOWN));
    }
    shown.join(", ")
}

/// `n backend(s)`.
fn count(list: &[Backend]) -> String {
    format!("{} backend{}", list.len(), if list.len() == 1 { "" } else { "s" })
}

fn backends(list: &[Backend]) -> String {
    format!("{} [{}]", count(list), first_few(list, backend_name))
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateLoadBalancer { attributes, client_token, .. } => {
                let billing = match &attributes.billing {
                    super::spec::Billing::PayBySpec(s) => s.to_string(),
                    super::spec::Billing::PayByClcu => "pay-by-CLCU".into(),
                };
                write!(
                    f,
                    "+ create {} load balancer{} ({billing}; ClientToken {client_token})",
                    attributes.address_type,
                    attributes.name.as_deref().map(|n| format!(" {n:?}")).unwrap_or_default()
                )
            }
            Action::SetLoadBalancerName { from, to } => write!(f, "~ name: {from:?} -> {to:?}"),
            Action::ModifyInstanceSpec { from, to } => {
                write!(f, "~ spec: {} -> {to}", from.as_ref().map_or_else(|| "none".into(), ToString::to_string))
            }
            Action::ModifyInternetSpec { charge_type, bandwidth } => {
                write!(f, "~ internet spec:")?;
                if let Some(c) = charge_type {
                    write!(f, " charge type -> {c}")?;
                }
                if let Some(b) = bandwidth {
                    write!(f, " bandwidth -> {b} Mbit/s")?;
                }
                Ok(())
            }
            Action::SetDeleteProtection { on } => write!(f, "~ delete protection -> {}", on_off(*on)),
            Action::SetModificationProtection { on } => write!(f, "~ modification protection -> {}", on_off(*on)),
            Action::TagLoadBalancer { tags } => {
                let t: Vec<String> = tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
                write!(f, "~ tags + {}", t.join(", "))
            }
            Action::UntagLoadBalancer { keys } => {
                write!(f, "~ tags - {} (the binding lets the load balancer go)", keys.join(", "))
            }
            Action::DeleteLoadBalancer { load_balancer_id } => write!(f, "- delete load balancer {load_balancer_id}"),
            Action::CreateGroup { port, name, backends: b } => {
                write!(f, "+ port {port}: create VServer group {name:?} with {}", backends(b))
            }
            Action::AddBackends { port, group: g, backends: b } => {
                write!(f, "+ port {port}: add {} to {}", backends(b), group(g))
            }
            Action::SetBackends { port, group: g, backends: b, purpose: SetPurpose::Update } => {
                let weights = first_few(b, |b| format!("{} weight {}", backend_name(b), b.weight));
                write!(f, "~ port {port}: set {} in {}: {weights}", count(b), group(g))
            }
            Action::SetBackends { port, group: g, backends: b, purpose: SetPurpose::Drain } => {
                write!(f, "~ port {port}: drain {} in {} (weight 0)", backends(b), group(g))
            }
            Action::WaitDrain { port, backends: b, period, poll_health, .. } => {
                write!(f, "  port {port}: wait {period:?} for {} draining backends", b.len())?;
                if poll_health.is_some() {
                    write!(f, " (or until health checks show them out)")?;
                }
                Ok(())
            }
            Action::RemoveBackends { port, group: g, backends: b } => {
                write!(f, "- port {port}: remove {} from {}", backends(b), group(g))
            }
            Action::ReplaceBackends { port, group: g, old, new } => {
                write!(f, "~ port {port}: swap in {} for {} in {} (group full)", backends(new), backends(old), group(g))
            }
            Action::DeleteGroup { port, group } => write!(f, "- port {port}: delete VServer group {group}"),
            Action::CreateListener { listener, group: g, recreate, .. } => {
                let to = match (g, super::spec::PortSpec::new(listener.clone(), Vec::new()).redirects_to()) {
                    (_, Some(https)) => format!("redirect to {https}"),
                    (Some(g), None) => format!("-> {}", group(g)),
                    (None, None) => String::new(),
                };
                let what = if *recreate { "recreate" } else { "create" };
                write!(f, "+ port {}: {what} {} listener {to}", listener.port, listener.listener_protocol())
            }
            Action::SetListener { listener, changes, .. } => {
                write!(f, "~ port {}: set {} listener in place", listener.port, listener.listener_protocol())?;
                for c in changes {
                    write!(f, "\n        {c}")?;
                }
                Ok(())
            }
            Action::StartListener { port, protocol } => write!(f, "+ port {port}: start {protocol} listener"),
            Action::DeleteListener { port, protocol, recreate } => {
                let why = if *recreate { " (to recreate it: the port is down until then)" } else { "" };
                write!(f, "- port {port}: delete {protocol} listener{why}")
            }
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

impl fmt::Display for Plan {
    /// One line per step (`+` adds, `~` changes, `-` removes), with the steps it waits
    /// for, then the notes:
    ///
    /// ```text
    /// binding c-1/default/web on lb-bp1...: 3 steps
    ///   #0 + port 80: add 1 backend [i-bp1a:80] to rsp-bp1...
    ///   #1 ~ port 80: drain 1 backend [i-bp1b:80] in rsp-bp1... (weight 0)
    ///   #2   port 80: wait 30s for 1 draining backends            (after #1)
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lb = match &self.load_balancer {
            Some(LoadBalancerRef::Existing(id)) => id.to_string(),
            Some(LoadBalancerRef::New) => "a new load balancer".into(),
            None => "no load balancer".into(),
        };
        if self.steps.is_empty() {
            write!(f, "binding {} on {lb}: up to date", self.service)?;
        } else {
            write!(f, "binding {} on {lb}: {} steps, {} calls", self.service, self.steps.len(), self.writes())?;
        }
        for s in &self.steps {
            write!(f, "\n  #{:<3} {}", s.id, s.action)?;
            if !s.after.is_empty() {
                let after: Vec<String> = s.after.iter().map(|a| format!("#{a}")).collect();
                write!(f, "    (after {})", after.join(" "))?;
            }
        }
        for n in &self.notes {
            write!(f, "\n  ! {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::plan::SetPurpose;

    #[test]
    fn weights_name_each_pod_of_an_eni() {
        let eni = |last: u8, weight: u8| {
            let mut b =
                Backend::eni(&"eni-bp1a".parse().unwrap(), std::net::Ipv4Addr::new(192, 168, 0, last).into(), 8080);
            b.weight = weight;
            b
        };
        let set = |backends| Action::SetBackends {
            port: 80,
            group: GroupRef::New(80),
            backends,
            purpose: SetPurpose::Update,
        };
        assert_eq!(
            set(vec![eni(21, 100), eni(22, 0)]).to_string(),
            "~ port 80: set 2 backends in (new group for 80): \
             eni-bp1a/192.168.0.21:8080 weight 100, eni-bp1a/192.168.0.22:8080 weight 0"
        );
        let five = (1..=5).map(|i| eni(i, 100)).collect();
        assert!(set(five).to_string().ends_with("eni-bp1a/192.168.0.3:8080 weight 100, +2 more"));
        let mut ecs = Backend::ecs(&"i-bp1b".parse().unwrap(), 30080);
        ecs.weight = 1;
        assert_eq!(set(vec![ecs]).to_string(), "~ port 80: set 1 backend in (new group for 80): i-bp1b:30080 weight 1");
    }
}
