"""State adapters: SQLite (default) and Redis (several provider processes)."""
