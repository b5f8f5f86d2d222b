//! ack-net-k8s (work in progress).
