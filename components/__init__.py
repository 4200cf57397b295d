"""Pulumi ComponentResources that make up an mlplat environment.

Each module holds one component with one typed args dataclass; type tokens are
`mlplat:<module>:<Type>`; children are named `f"{name}-<role>"` and parented to the component.
"""
