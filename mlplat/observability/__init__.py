"""Observability as code: the metrics each exporter of the monitoring stack emits
(`metrics`), Grafana dashboards built with grafana-foundation-sdk (`dashboards`) and the
PromQL checks both rely on (`promql`)."""
