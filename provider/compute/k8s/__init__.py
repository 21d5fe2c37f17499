"""Kubernetes engine: manifests (pure), checks (pure), orchestrator."""
