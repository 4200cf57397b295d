"""Small shared pieces every part of mlplat uses: repository paths, atomic writes, YAML
loading with source locations, and user-facing error formatting. One home each, so the CLI,
the plan engine, the cloud-init renderer and the docs generator never grow their own copies.
"""
