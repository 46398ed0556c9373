"""Test fakes (local stand-ins for remote services)."""
