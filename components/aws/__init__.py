"""AWS components (VPC, EKS cluster, Karpenter GPU node pools; later object store and RDS)
and the functions that build their children."""
