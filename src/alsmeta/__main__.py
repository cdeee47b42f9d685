"""``python -m alsmeta``: the same as the ``alsmeta`` command."""

from alsmeta.cli import run

if __name__ == "__main__":
    run()
