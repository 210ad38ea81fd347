"""Audiences from booking history: filters on what customers booked, and saved audiences."""
