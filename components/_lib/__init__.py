"""Pieces every component shares: naming and tags, policy documents, the encrypted log group
helper, the single-port security group and the one error type a component may raise.
Nothing here registers a ComponentResource of its own."""
