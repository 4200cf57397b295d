"""Observability as code: the alert rules the monitoring stack loads, as plain data."""
