"""Data access: fileinfo, initialize, download (see issue: data access)."""
