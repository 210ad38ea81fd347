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
SEND_SLOTS_MISSED = Counter(
    "rebook_send_slots_missed_total",
    "Messages that came too late for their send slot and took a new one (a busy worker, a "
    "slow provider): each costs the rate one slot",
    ["channel"],
)
