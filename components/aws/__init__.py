"""AWS-only components (VPC, EKS cluster, Karpenter GPU node pools, object store, metadata
database, alarm topic) and the functions that build their children."""
