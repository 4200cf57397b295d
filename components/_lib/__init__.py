"""Pieces every component shares: naming and tags, policy documents, the encrypted log group
helper and the one error type a component may raise. Nothing here registers a
ComponentResource of its own."""
