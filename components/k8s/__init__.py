"""Provider-neutral in-cluster pieces: the same on EKS and on-prem clusters.

Services (the NVIDIA device plugin) are functions that build Kubernetes resources under a
component the caller passes in, so whoever owns the cluster connection (today GpuNodePools)
stays the parent. Team tenancy (tenancy.py) is a component of its own,
`mlplat:k8s/tenancy:TeamTenancy`, because a team stack owns it on any cluster; the caller
passes the cluster's Kubernetes provider in its options."""
