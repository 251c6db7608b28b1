"""The live side of `detect stream`: reader thread and queue, wall-clock expiry, stats,
privileges, and the loop that joins them (detect/stream.py)."""
