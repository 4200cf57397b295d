"""Provider-neutral in-cluster services, as functions that build Kubernetes resources (Helm
releases, plain objects) under a component the caller passes in. No ComponentResources here:
whoever owns the cluster connection (today GpuNodePools) stays the parent."""
