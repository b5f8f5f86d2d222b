#!/usr/bin/env bash
# The `ack_net` CLI's story against a standalone mock (ACK_NET_ENDPOINT, started with
# `--preload examples/manifests/mock-preload.json`, which holds the Nodes' instances and a
# VSwitch): list, plan, apply (then nothing left to plan), list the load balancer, delete it.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ACK_NET_ENDPOINT:?set ACK_NET_ENDPOINT to the URL of the mock}"
manifests=(examples/manifests/web-service.yaml examples/manifests/nodes.yaml)
ack_net() { cargo run --locked --quiet --example ack_net -- "$@"; }
ack_net vswitches
ack_net plan --vswitch vsw-bp1manifests "${manifests[@]}"
ack_net apply --vswitch vsw-bp1manifests "${manifests[@]}"
again="$(ack_net plan --vswitch vsw-bp1manifests "${manifests[@]}")"
grep -q "up to date" <<< "$again" || { echo "a second plan after apply still changes something:"; echo "$again"; exit 1; }
ack_net lbs
ack_net delete --vswitch vsw-bp1manifests "${manifests[@]}"
left="$(ack_net lbs --output json)"
[ "$left" = "[]" ] || { echo "delete left load balancers: $left"; exit 1; }
echo "ack_net: listed, planned, applied, converged and deleted against $ACK_NET_ENDPOINT"
