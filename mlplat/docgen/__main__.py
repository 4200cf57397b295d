"""`python -m mlplat.docgen [--check]`: the same as `mlplat docs [--check]`."""

import sys

from mlplat.cli import main

main(["docs", *sys.argv[1:]])
