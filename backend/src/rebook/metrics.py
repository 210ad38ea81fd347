"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "rebook_deliveries_total",
    "Delivery outcomes by channel and outcome (sent, failed, retried, skipped)",
    ["channel", "outcome"],
)
SEND_LATENCY = Histogram(
    "rebook_send_latency_seconds",
    "Time the provider took to accept one message",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
