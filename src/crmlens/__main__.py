"""``python -m crmlens`` is the ``crmlens`` command."""

from crmlens.cli import main

main()
