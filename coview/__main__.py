"""`python -m coview` runs the same CLI as the `coview` script."""

from coview.cli import main

main()
