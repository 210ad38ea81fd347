"""Deliverability: DKIM keys aside (channels/dkim.py), what happens after an email leaves —
bounces and complaints, by mail (`rebook bounces`) and by provider webhooks, the suppressions
they make, and the complaint-rate hold."""
