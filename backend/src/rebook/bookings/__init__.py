"""The host platform's bookings and services, read by owners (scoped to their places)."""
