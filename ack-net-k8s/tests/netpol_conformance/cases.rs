//! The upstream cases, one `case(...)` per `ginkgo.It`, in upstream's order.

use super::*;

pub(crate) fn tcp_cases() -> Vec<Case> {
    let c = |it, pods, ports, snapshots| case(TCP_CONTEXT, it, pods, &[Tcp], ports, snapshots);
    let mut cases = Vec::new();

    const P1: &[&str] = &["x/a", "x/b", "y/a", "y/b"];
    cases.push(c(
        "should support a 'default-deny-ingress' policy",
        P1,
        &[80],
        vec![snapshot("policy created", vec![policy("x", "deny-ingress", labels(&[])).ingress([])]).probe(
            80,
            Tcp,
            Reach::new(P1).expect_peer(any(), ns("x"), false),
        )],
    ));

    const P2: &[&str] = &["x/a", "x/b", "y/a"];
    cases.push(c(
        "should support a 'default-deny-all' policy",
        P2,
        &[80],
        vec![snapshot("policy created", vec![policy("x", "deny-all", labels(&[])).ingress([]).egress([])]).probe(
            80,
            Tcp,
            Reach::new(P2).expect_peer(any(), ns("x"), false).expect_peer(ns("x"), any(), false),
        )],
    ));

    const P3: &[&str] = &["x/a", "x/b", "x/c", "y/a"];
    cases.push(c(
        "should enforce policy to allow traffic from pods within server namespace based on PodSelector",
        P3,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "x-a-allows-x-b", "a")
                .ingress([json!({"from": [{"podSelector": labels(&[("pod", "b")])}]})])],
        )
        .probe(80, Tcp, Reach::new(P3).expect_all_ingress("x/a", false).expect("x/b", "x/a", true))],
    ));

    const P4: &[&str] = &["x/a", "x/b", "y/a"];
    cases.push(c(
        "should enforce policy to allow ingress traffic for a target",
        P4,
        &[80],
        vec![snapshot(
            "both policies created",
            vec![
                policy("x", "deny-all", labels(&[])).ingress([]),
                policy_for_pod("x", "allow-all-to-a", "a")
                    .ingress([json!({"from": [{"podSelector": {}, "namespaceSelector": {}}]})]),
            ],
        )
        .probe(80, Tcp, Reach::new(P4).expect_all_ingress("x/a", true).expect_all_ingress("x/b", false))],
    ));

    const P5: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    cases.push(c(
        "should enforce policy to allow ingress traffic from pods in all namespaces",
        P5,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-from-another-ns", "a")
                .ingress([json!({"from": [{"namespaceSelector": labels(&[])}]})])],
        )
        .probe(80, Tcp, Reach::new(P5))],
    ));

    const P6: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    cases.push(c(
        "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
        P6,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-client-a-via-ns-selector", "a")
                .ingress([json!({"from": [{"namespaceSelector": ns_named("y")}]})])],
        )
        .probe(
            80,
            Tcp,
            Reach::new(P6).expect_peer(ns("x"), pod("x/a"), false).expect_peer(ns("z"), pod("x/a"), false),
        )],
    ));

    const P7: &[&str] = &["x/a", "x/b", "y/a"];
    cases.push(c(
        "should enforce policy based on PodSelector with MatchExpressions",
        P7,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "x-a-allows-x-b", "a")
                .ingress([json!({"from": [{"podSelector": expression("pod", "In", &["b"])}]})])],
        )
        .probe(80, Tcp, Reach::new(P7).expect_all_ingress("x/a", false).expect("x/b", "x/a", true))],
    ));

    const P8: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    cases.push(c(
        "should enforce policy based on NamespaceSelector with MatchExpressions",
        P8,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-ns-y-match-selector", "a")
                .ingress([json!({"from": [{"namespaceSelector": expression(NS_LABEL, "In", &["y"])}]})])],
        )
        .probe(
            80,
            Tcp,
            Reach::new(P8).expect_peer(ns("x"), pod("x/a"), false).expect_peer(ns("z"), pod("x/a"), false),
        )],
    ));

    const P9: &[&str] = &["x/a", "x/b", "x/c", "y/a"];
    cases.push(c(
        "should enforce policy based on PodSelector or NamespaceSelector",
        P9,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-ns-y-match-selector", "a").ingress([json!({"from": [
                {"namespaceSelector": expression(NS_LABEL, "NotIn", &["x"])},
                {"podSelector": labels(&[("pod", "b")])},
            ]})])],
        )
        .probe(80, Tcp, Reach::new(P9).expect("x/a", "x/a", false).expect("x/c", "x/a", false))],
    ));

    const P10: &[&str] = &["x/a", "x/b", "y/a", "y/b", "z/b"];
    cases.push(c(
        "should enforce policy based on PodSelector and NamespaceSelector",
        P10,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-ns-y-podselector-and-nsselector", "a").ingress([json!({"from": [{
                "namespaceSelector": expression(NS_LABEL, "NotIn", &["x"]),
                "podSelector": labels(&[("pod", "b")]),
            }]})])],
        )
        .probe(
            80,
            Tcp,
            Reach::new(P10).expect_all_ingress("x/a", false).expect("y/b", "x/a", true).expect("z/b", "x/a", true),
        )],
    ));

    const P11: &[&str] = &["x/a", "x/b", "y/a", "y/b", "y/c"];
    cases.push(c(
        "should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
        P11,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-ns-y-z-pod-b-c", "a").ingress([json!({"from": [{
                "namespaceSelector": expression(NS_LABEL, "NotIn", &["x"]),
                "podSelector": expression("pod", "In", &["b", "c"]),
            }]})])],
        )
        .probe(80, Tcp, Reach::new(P11).expect_peer(ns("x"), pod("x/a"), false).expect("y/a", "x/a", false))],
    ));

    const P12: &[&str] = &["x/a", "x/b", "x/c"];
    cases.push(c(
        "should enforce policy based on any PodSelectors",
        P12,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-ns-x-pod-b-c", "a").ingress([json!({"from": [
                {"podSelector": labels(&[("pod", "b")])},
                {"podSelector": labels(&[("pod", "c")])},
            ]})])],
        )
        .probe(
            80,
            Tcp,
            Reach::new(P12).expect_all_ingress("x/a", false).expect("x/b", "x/a", true).expect("x/c", "x/a", true),
        )],
    ));

    const P13: &[&str] = &["x/a", "x/b", "y/a", "y/b", "z/a"];
    cases.push(c(
        "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
        P13,
        &[80],
        vec![snapshot("policy created", vec![from_y_a("allow-ns-y-pod-a-via-namespace-pod-selector")])
            .probe(80, Tcp, Reach::new(P13).expect_all_ingress("x/a", false).expect("y/a", "x/a", true))],
    ));

    const P14: &[&str] = &["x/a", "x/b", "y/a", "y/b", "z/a"];
    let port_81_from_y = || from_y_on_port("allow-client-a-via-ns-selector", json!(81), Tcp);
    let allow_y = |pods| {
        Reach::new(pods).expect_peer(ns("x"), pod("x/a"), false).expect_peer(ns("y"), pod("x/a"), true).expect_peer(
            ns("z"),
            pod("x/a"),
            false,
        )
    };
    cases.push(c(
        "should enforce policy based on Ports",
        P14,
        &[81],
        vec![snapshot("policy created", vec![port_81_from_y()]).probe(81, Tcp, allow_y(P14))],
    ));

    const P15: &[&str] = &["x/a", "x/b", "y/a", "y/b", "z/a"];
    cases.push(c(
        "should enforce multiple, stacked policies with overlapping podSelectors",
        P15,
        &[80, 81],
        vec![
            snapshot("the port 81 policy created", vec![port_81_from_y()]).probe(81, Tcp, allow_y(P15)).probe(
                80,
                Tcp,
                Reach::new(P15).expect_all_ingress("x/a", false),
            ),
            snapshot(
                "the port 80 policy added",
                vec![port_81_from_y(), from_y_on_port("allow-client-a-via-ns-selector-80", json!(80), Tcp)],
            )
            .probe(80, Tcp, allow_y(P15)),
        ],
    ));

    const P16: &[&str] = &["x/a", "x/b", "y/a"];
    cases.push(c(
        "should support allow-all policy",
        P16,
        &[80, 81],
        vec![snapshot("policy created", vec![policy("x", "allow-all", labels(&[])).ingress([json!({})])])
            .probe(80, Tcp, Reach::new(P16))
            .probe(81, Tcp, Reach::new(P16))],
    ));

    const P17: &[&str] = &["x/a", "x/b", "y/a"];
    cases.push(c(
        "should allow ingress access on one named port",
        P17,
        &[80, 81],
        vec![snapshot(
            "policy created",
            vec![policy("x", "allow-all", labels(&[])).ingress([json!({"ports": [{"port": "serve-81-tcp"}]})])],
        )
        .probe(81, Tcp, Reach::new(P17))
        .probe(80, Tcp, Reach::new(P17).expect_peer(any(), ns("x"), false))],
    ));

    const P18: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    cases.push(c(
        "should allow ingress access from namespace on one named port",
        P18,
        &[80, 81],
        vec![snapshot(
            "policy created",
            vec![from_y_on_port("allow-client-a-via-ns-selector-80", json!("serve-80-tcp"), Tcp)],
        )
        .probe(80, Tcp, Reach::new(P18).expect_peer(ns("x"), pod("x/a"), false).expect_peer(ns("z"), pod("x/a"), false))
        .probe(81, Tcp, Reach::new(P18).expect_all_ingress("x/a", false))],
    ));

    const P19: &[&str] = &["x/a", "y/a"];
    cases.push(c(
        "should allow egress access on one named port",
        P19,
        &[80, 81],
        vec![snapshot(
            "policy created",
            vec![policy("x", "allow-egress", labels(&[])).egress([json!({"ports": [{"port": "serve-80-tcp"}]})])],
        )
        .probe(80, Tcp, Reach::new(P19))
        .probe(81, Tcp, Reach::new(P19).expect_peer(ns("x"), any(), false))],
    ));

    const P20: &[&str] = &["x/a", "y/a"];
    let mutated = || policy("x", "allow-all-mutate-to-deny-all", labels(&[]));
    cases.push(c(
        "should enforce updated policy",
        P20,
        &[81],
        vec![
            snapshot("allow all", vec![mutated().ingress([json!({})])]).probe(81, Tcp, Reach::new(P20)),
            snapshot("updated to deny all", vec![mutated().ingress([])]).probe(
                81,
                Tcp,
                Reach::new(P20).expect_peer(any(), ns("x"), false),
            ),
        ],
    ));

    const P21: &[&str] = &["x/a", "y/a"];
    let from_ns2 = || {
        policy_for_pod("x", "allow-client-a-via-ns-selector", "a")
            .ingress([json!({"from": [{"namespaceSelector": labels(&[("ns2", "updated")])}]})])
    };
    cases.push(c(
        "should allow ingress access from updated namespace",
        P21,
        &[80],
        vec![
            snapshot("policy created", vec![from_ns2()]).probe(
                80,
                Tcp,
                Reach::new(P21).expect_all_ingress("x/a", false),
            ),
            snapshot("namespace y labelled ns2=updated", vec![from_ns2()])
                .namespace_label("y", "ns2", "updated")
                .probe(80, Tcp, Reach::new(P21).expect_all_ingress("x/a", false).expect_peer(ns("y"), any(), true)),
        ],
    ));

    const P22: &[&str] = &["x/a", "x/b"];
    let from_pod2 = || {
        policy_for_pod("x", "allow-client-a-via-pod-selector", "a")
            .ingress([json!({"from": [{"podSelector": labels(&[("pod", "b"), ("pod2", "updated")])}]})])
    };
    cases.push(c(
        "should allow ingress access from updated pod",
        P22,
        &[80],
        vec![
            snapshot("policy created", vec![from_pod2()]).probe(
                80,
                Tcp,
                Reach::new(P22).expect_all_ingress("x/a", false),
            ),
            snapshot("x/b labelled pod2=updated", vec![from_pod2()])
                .pod_labels("x/b", &[("pod", "b"), ("pod2", "updated")])
                .probe(80, Tcp, Reach::new(P22).expect_all_ingress("x/a", false).expect("x/b", "x/a", true)),
        ],
    ));

    const P23: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    cases.push(c(
        "should deny ingress from pods on other namespaces",
        P23,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy("x", "deny-empty-policy", labels(&[]))
                .ingress([json!({"from": [{"podSelector": labels(&[])}]})])],
        )
        .probe(
            80,
            Tcp,
            Reach::new(P23).expect_peer(ns("y"), ns("x"), false).expect_peer(ns("z"), ns("x"), false),
        )],
    ));

    const P24: &[&str] = &["x/a", "y/a"];
    let isolate = || policy("x", "deny-ingress-via-label-selector", labels(&[("target", "isolated")])).ingress([]);
    cases.push(c(
        "should deny ingress access to updated pod",
        P24,
        &[80],
        vec![
            snapshot("policy created", vec![isolate()]).probe(80, Tcp, Reach::new(P24)),
            snapshot("x/a labelled target=isolated", vec![isolate()])
                .pod_labels("x/a", &[("target", "isolated")])
                .probe(80, Tcp, Reach::new(P24).expect_all_ingress("x/a", false)),
        ],
    ));

    const P25: &[&str] = &["x/a", "x/b", "y/a"];
    cases.push(c(
        "should deny egress from pods based on PodSelector",
        P25,
        &[80],
        vec![snapshot("policy created", vec![policy_for_pod("x", "deny-egress-pod-a", "a").egress([])]).probe(
            80,
            Tcp,
            Reach::new(P25).expect_all_egress("x/a", false),
        )],
    ));

    const P26: &[&str] = &["x/a", "x/b", "y/a"];
    cases.push(c(
        "should deny egress from all pods in a namespace",
        P26,
        &[80],
        vec![snapshot("policy created", vec![policy("x", "deny-egress-ns-x", labels(&[])).egress([])]).probe(
            80,
            Tcp,
            Reach::new(P26).expect_peer(ns("x"), any(), false),
        )],
    ));

    const P27: &[&str] = &["x/a", "x/b", "x/c", "y/a"];
    cases.push(c(
        "should work with Ingress, Egress specified together",
        P27,
        &[80, 81],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-client-a-via-pod-selector", "a")
                .ingress([json!({"from": [{"podSelector": labels(&[("pod", "b")])}]})])
                .egress([json!({"ports": [{"port": 80}]})])
                .policy_types(["Egress", "Ingress"])],
        )
        .probe(80, Tcp, Reach::new(P27).expect_all_ingress("x/a", false).expect("x/b", "x/a", true))
        .probe(
            81,
            Tcp,
            Reach::new(P27).expect_all_ingress("x/a", false).expect_all_egress("x/a", false).expect("x/b", "x/a", true),
        )],
    ));

    const P28: &[&str] = &["x/a", "y/a", "y/b"];
    let from_x_a = json!({"from": [{"namespaceSelector": ns_named("x"), "podSelector": labels(&[("pod", "a")])}]});
    cases.push(c(
        "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
        P28,
        &[80],
        vec![snapshot(
            "the three policies created",
            vec![
                to_y_a(),
                policy_for_pod("y", "allow-from-xa-on-ya-match-selector", "a").ingress([from_x_a.clone()]),
                policy_for_pod("y", "allow-from-xa-on-yb-match-selector", "b").ingress([from_x_a]),
            ],
        )
        .probe(
            80,
            Tcp,
            Reach::new(P28)
                .expect_peer(pod("x/a"), any(), false)
                .expect_peer(any(), pod("y/a"), false)
                .expect_peer(pod("x/a"), pod("y/a"), true)
                .expect_peer(any(), pod("y/b"), false),
        )],
    ));

    const P29: &[&str] = &["x/a", "y/a", "y/b"];
    cases.push(c(
        "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
        P29,
        &[80],
        vec![snapshot("policy created", vec![to_y_a()])
            .probe(80, Tcp, Reach::new(P29).expect_all_egress("x/a", false).expect("x/a", "y/a", true))],
    ));

    const P30: &[&str] = &["x/a", "y/a"];
    cases.push(case(
        TCP_CONTEXT,
        "should enforce ingress policy allowing any port traffic to a server on a specific protocol",
        P30,
        &[Tcp, Udp],
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-ingress-by-proto", "a").ingress([json!({"ports": [{"protocol": "TCP"}]})])],
        )
        .probe(80, Tcp, Reach::new(P30))
        .probe(80, Udp, Reach::new(P30).expect_peer(any(), pod("x/a"), false))],
    ));

    const P31: &[&str] = &["x/a", "y/a"];
    let ingress_80 = || policy("x", "allow-ingress-port-80", labels(&[])).ingress([json!({"ports": [{"port": 80}]})]);
    cases.push(c(
        "should enforce multiple ingress policies with ingress allow-all policy taking precedence",
        P31,
        &[81],
        vec![
            snapshot("the port 80 policy created", vec![ingress_80()]).probe(
                81,
                Tcp,
                Reach::new(P31).expect_peer(any(), ns("x"), false),
            ),
            snapshot(
                "the allow-all policy added",
                vec![ingress_80(), policy("x", "allow-ingress", labels(&[])).ingress([json!({})])],
            )
            .probe(81, Tcp, Reach::new(P31)),
        ],
    ));

    const P32: &[&str] = &["x/a", "y/a"];
    let egress_80 = || policy("x", "allow-egress-port-80", labels(&[])).egress([json!({"ports": [{"port": 80}]})]);
    cases.push(c(
        "should enforce multiple egress policies with egress allow-all policy taking precedence",
        P32,
        &[81],
        vec![
            snapshot("the port 80 policy created", vec![egress_80()]).probe(
                81,
                Tcp,
                Reach::new(P32).expect_peer(ns("x"), any(), false),
            ),
            snapshot(
                "the allow-all policy added",
                vec![egress_80(), policy("x", "allow-egress", labels(&[])).egress([json!({})])],
            )
            .probe(81, Tcp, Reach::new(P32)),
        ],
    ));

    const P33: &[&str] = &["x/a", "y/a"];
    cases.push(c(
        "should stop enforcing policies after they are deleted",
        P33,
        &[80],
        vec![
            snapshot("policy created", vec![policy("x", "deny-all", labels(&[])).ingress([]).egress([])]).probe(
                80,
                Tcp,
                Reach::new(P33).expect_peer(ns("x"), any(), false).expect_peer(any(), ns("x"), false),
            ),
            snapshot("policies deleted", vec![]).probe(80, Tcp, Reach::new(P33)),
        ],
    ));

    const P34: &[&str] = &["x/a", "y/a", "y/b"];
    cases.push(c(
        "should allow egress access to server in CIDR block",
        P34,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-client-a-via-cidr-egress-rule", "a")
                .egress([json!({"to": [{"ipBlock": {"cidr": host_cidr("y/b")}}]})])],
        )
        .probe(80, Tcp, Reach::new(P34).expect_all_egress("x/a", false).expect("x/a", "y/b", true))],
    ));

    const P35: &[&str] = &["x/a", "x/b", "x/c"];
    let around_x_b = || {
        policy_for_pod("x", "allow-client-a-via-cidr-egress-rule", "a").egress([json!({"to": [{"ipBlock": {
            "cidr": large_cidr("x/b"),
            "except": [host_cidr("x/b")],
        }}]})])
    };
    cases.push(c(
        "should enforce except clause while egress access to server in CIDR block",
        P35,
        &[80],
        vec![snapshot("policy created", vec![around_x_b()]).probe(
            80,
            Tcp,
            Reach::new(P35).expect("x/a", "x/b", false),
        )],
    ));

    const P36: &[&str] = &["x/a", "x/b", "x/c"];
    cases.push(c(
        "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
        P36,
        &[80],
        vec![
            snapshot("policy created", vec![around_x_b()]).probe(80, Tcp, Reach::new(P36).expect("x/a", "x/b", false)),
            // Upstream *updates* the policy of the same name, so its CIDR-and-except rule is
            // replaced by the /32 one (and the matrix denies x/a -> x/c accordingly).
            snapshot(
                "policy updated to allow x/b's /32",
                vec![policy_for_pod("x", "allow-client-a-via-cidr-egress-rule", "a")
                    .egress([json!({"to": [{"ipBlock": {"cidr": host_cidr("x/b")}}]})])],
            )
            .probe(80, Tcp, Reach::new(P36).expect_all_egress("x/a", false).expect("x/a", "x/b", true)),
        ],
    ));

    const P37: &[&str] = &["x/a", "x/b", "y/a"];
    let allow_egress_a = || policy("x", "allow-egress-for-target", labels(&[("pod", "a")])).egress([json!({})]);
    cases.push(c(
        "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
        P37,
        &[80],
        vec![
            snapshot("egress policy created", vec![allow_egress_a()]).probe(80, Tcp, Reach::new(P37)),
            snapshot(
                "ingress policy added",
                vec![
                    allow_egress_a(),
                    policy("x", "deny-ingress-via-label-selector", labels(&[("pod", "a")])).ingress([]),
                ],
            )
            .probe(80, Tcp, Reach::new(P37).expect_all_ingress("x/a", false)),
        ],
    ));

    const P38: &[&str] = &["x/a", "y/a"];
    cases.push(c(
        "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
        P38,
        &[81],
        vec![snapshot(
            "both policies created",
            vec![
                policy("x", "deny-ingress", labels(&[])).ingress([]),
                policy_for_pod("x", "allow-only-sctp-ingress-on-port-81", "a")
                    .ingress([json!({"ports": [{"port": 81, "protocol": "SCTP"}]})]),
            ],
        )
        .probe(81, Tcp, Reach::new(P38).expect_peer(any(), ns("x"), false))],
    ));

    const P39: &[&str] = &["x/a", "y/a"];
    cases.push(c(
        "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
        P39,
        &[81],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-only-sctp-ingress-on-port-80", "a")
                .ingress([json!({"ports": [{"port": 80, "protocol": "SCTP"}]})])],
        )
        .probe(81, Tcp, Reach::new(P39).expect_all_ingress("x/a", false))],
    ));

    const P40: &[&str] = &["x/a", "y/a"];
    cases.push(c(
        "should not allow access by TCP when a policy specifies only UDP",
        P40,
        &[81],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-only-udp-ingress-on-port-81", "a")
                .ingress([json!({"ports": [{"port": 81, "protocol": "UDP"}]})])],
        )
        .probe(81, Tcp, Reach::new(P40).expect_all_ingress("x/a", false))],
    ));

    const P41: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    cases.push(c(
        "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
        P41,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-client-a-via-ns-selector-for-immutable-ns-label", "a")
                .ingress([json!({"from": [{"namespaceSelector": ns_named("y")}]})])],
        )
        .probe(
            80,
            Tcp,
            Reach::new(P41).expect_peer(ns("x"), pod("x/a"), false).expect_peer(ns("z"), pod("x/a"), false),
        )],
    ));

    const P42: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    cases.push(c(
        "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
        P42,
        &[80],
        vec![snapshot(
            "policy created",
            vec![policy_for_pod("x", "allow-ns-y-match-selector-for-immutable-ns-label", "a")
                .egress([json!({"to": [{"namespaceSelector": expression(NS_LABEL, "NotIn", &["y"])}]})])],
        )
        .probe(80, Tcp, Reach::new(P42).expect_peer(pod("x/a"), ns("y"), false))],
    ));

    cases
}

/// x/a's policy allowing ingress only from y/a (namespace and pod selector in one peer).
fn from_y_a(name: &'static str) -> Policy {
    policy_for_pod("x", name, "a").ingress([json!({"from": [{
        "namespaceSelector": ns_named("y"),
        "podSelector": labels(&[("pod", "a")]),
    }]})])
}

/// x/a's policy allowing ingress from namespace y on one port.
fn from_y_on_port(name: &'static str, port: Value, protocol: Protocol) -> Policy {
    policy_for_pod("x", name, "a").ingress([json!({
        "from": [{"namespaceSelector": ns_named("y")}],
        "ports": [{"port": port, "protocol": protocol.as_str()}],
    })])
}

/// x/a's policy allowing egress only to y/a.
fn to_y_a() -> Policy {
    policy_for_pod("x", "allow-to-ns-y-pod-a", "a").egress([json!({"to": [{
        "namespaceSelector": ns_named("y"),
        "podSelector": labels(&[("pod", "a")]),
    }]})])
}

/// The three cases upstream repeats in its UDP and SCTP contexts.
pub(crate) fn protocol_cases(context: &'static str, protocol: Protocol) -> Vec<Case> {
    let protocols: &'static [Protocol] = match protocol {
        Udp => &[Udp],
        Sctp => &[Sctp],
        Tcp => &[Tcp],
    };
    const D: &[&str] = &["x/a", "x/b", "y/a", "y/b"];
    const P: &[&str] = &["x/a", "x/b", "y/a", "z/a"];
    const S: &[&str] = &["x/a", "x/b", "y/a"];
    vec![
        case(
            context,
            "should support a 'default-deny-ingress' policy",
            D,
            protocols,
            &[80],
            vec![snapshot("policy created", vec![policy("x", "deny-all", labels(&[])).ingress([])]).probe(
                80,
                protocol,
                Reach::new(D).expect_peer(any(), ns("x"), false),
            )],
        ),
        case(
            context,
            "should enforce policy based on Ports",
            P,
            protocols,
            &[81],
            vec![snapshot("policy created", vec![from_y_on_port("allow-ingress-on-port-81-ns-x", json!(81), protocol)])
                .probe(
                    81,
                    protocol,
                    Reach::new(P).expect_peer(ns("x"), pod("x/a"), false).expect_peer(ns("z"), pod("x/a"), false),
                )],
        ),
        case(
            context,
            "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
            S,
            protocols,
            &[80],
            vec![snapshot("policy created", vec![from_y_a("allow-ns-y-pod-a-via-namespace-pod-selector")])
                .probe(80, protocol, Reach::new(S).expect_all_ingress("x/a", false).expect("y/a", "x/a", true))],
        ),
    ]
}

// --- Running the table ------------------------------------------------------------------------
