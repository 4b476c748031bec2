"""Liveness and readiness probes for the operator's load balancer."""
