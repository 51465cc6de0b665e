"""crmlens: local-first customer intelligence."""

from crmlens.workspace import Workspace, open_workspace

__version__ = "0.1.0"
open = open_workspace  # noqa: A001 - ``crmlens.open(DIR)`` is the documented entry point

__all__ = ["Workspace", "__version__", "open", "open_workspace"]
