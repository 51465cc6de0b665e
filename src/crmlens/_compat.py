"""Compatibility shims for dependencies that lag behind their own dependencies; one place only."""

from __future__ import annotations

import types

import numpy as np


def diffprivlib() -> types.ModuleType:
    """``diffprivlib``, imported whole (tools and models).

    diffprivlib 0.6 imports two dtype aliases of ``sklearn.tree._tree`` that scikit-learn 1.8
    removed (only its random forest reads them); they are given back before the import.
    """
    import sklearn.tree._tree as tree

    if not hasattr(tree, "DOUBLE"):
        tree.DOUBLE = np.float64
    if not hasattr(tree, "DTYPE"):
        tree.DTYPE = np.float32
    import diffprivlib as dpl
    import diffprivlib.models
    import diffprivlib.tools  # noqa: F401 - loads the sub-packages onto the module

    return dpl
