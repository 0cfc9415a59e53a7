"""`python -m mlconnector.x12 validate FILE`: the x12 commands without loading the rest of the connector."""

from mlconnector.x12.cli import main

main()
