"""ml-connector: Sage 100 ⇄ Cleo over X12."""

__version__ = "0.1.0"
