"""Observability as code: the metrics each exporter of the monitoring stack emits
(`metrics`), Grafana dashboards built with grafana-foundation-sdk (`dashboards`), the
PromQL checks both rely on (`promql`) and the alert rules with their unit-test machinery
(`rules`, `rule_tests`)."""
