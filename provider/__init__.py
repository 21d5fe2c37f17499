"""Ocean Protocol compatible Provider with built-in Compute-to-Data."""
