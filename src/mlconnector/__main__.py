"""`python -m mlconnector` is the `ml-connector` command (the demo starts its processes this way)."""

from mlconnector.cli import main

main()
