"""Receivers of the lower apps ' signals."""
