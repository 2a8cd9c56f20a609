"""Helpers shared by the real-socket tests."""
