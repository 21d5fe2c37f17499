"""Cryptography adapters: ECIES to the provider key."""
