"""AWS-only components (VPC, EKS cluster, Karpenter GPU and CPU node pools, block storage,
shared file system, object store, metadata database, alarm topic) and the functions that
build their children."""
