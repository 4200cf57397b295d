"""Test support that ships with mlplat; ``mlplat.testing.hosts`` boots real throwaway hosts."""
