"""Compute-to-Data: the compute API and its engines (local sandbox, Kubernetes)."""
