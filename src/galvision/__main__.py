"""``python -m galvision``: the ``galvision`` command."""

from galvision.cli import main

main()
