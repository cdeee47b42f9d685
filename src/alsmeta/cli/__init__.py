"""Command-line interface: one module per subcommand; parse, call, format."""

from alsmeta.cli.main import main, run

__all__ = ["main", "run"]
