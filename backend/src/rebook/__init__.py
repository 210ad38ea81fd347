"""Rebook: the owner-side marketing backend of a booking platform."""
