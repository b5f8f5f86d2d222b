#!/usr/bin/env bash
# The `ack_net` CLI's Ingress story against a standalone mock (ACK_NET_ENDPOINT, started with
# `--preload examples/manifests/mock-preload.json`, which holds the Nodes' instances): plan the
# Ingresses, apply (the load balancer is created from their annotations), then nothing left to
# plan, list the load balancer, delete (rules, groups, certificate and the load balancer).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ACK_NET_ENDPOINT:?set ACK_NET_ENDPOINT to the URL of the mock}"
manifests=(examples/manifests/ingress.yaml examples/manifests/nodes.yaml)
ack_net() { cargo run --locked --quiet --example ack_net -- "$@"; }
ack_net plan "${manifests[@]}"
ack_net apply "${manifests[@]}"
again="$(ack_net plan "${manifests[@]}")"
grep -q "up to date" <<< "$again" || { echo "a second plan after apply still changes something:"; echo "$again"; exit 1; }
ack_net lbs
ack_net delete "${manifests[@]}"
left="$(ack_net lbs --output json)"
[ "$left" = "[]" ] || { echo "delete left load balancers: $left"; exit 1; }
echo "ack_net: Ingresses planned, applied, converged and deleted against $ACK_NET_ENDPOINT"
