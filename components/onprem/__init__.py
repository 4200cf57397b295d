"""On-prem components: the data services mlplat runs on an existing Kubernetes cluster
(MinIO, CloudNativePG). The cluster itself comes from kubespray or k3s on hosts the Ansible
roles prepared (docs/onprem-handoff.md); in-cluster tenancy and MLflow are components/k8s/."""
