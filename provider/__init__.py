"""Ocean Protocol compatible Provider with built-in Compute-to-Data."""

VERSION = "2.1.6"  # the reference Provider API version this one speaks
