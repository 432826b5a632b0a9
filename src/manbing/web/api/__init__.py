"""JSON API (version 1), documented at /api/docs."""
