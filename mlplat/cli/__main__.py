"""`python -m mlplat.cli` runs the same command line as the `mlplat` script."""

from mlplat.cli import main

main()
