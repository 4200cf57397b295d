"""Compositions: one module per substrate wiring the components of that substrate into a
complete team environment (today AWS)."""
