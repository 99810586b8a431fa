"""prosperity: measure, explain and simulate common prosperity.

Layers (imports flow downward only):

- ``cli`` / ``report``           interfaces, no maths of their own
- ``table``                       table-level API: many measures, by groups, with SEs, tidy frames
- ``measures`` ``decompose`` ``grouped`` ``dynamics`` ``index``   capabilities
- ``variance``                    influence functions + survey design -> standard errors
- ``io``                          loading, validation, the ``Sample`` data model
"""

__version__ = "0.1.0"

# The table-level entry points, imported lazily so that ``import prosperity.measures`` stays light.
_LAZY = {
    "measure": ("prosperity.table", "measure"),
    "load": ("prosperity.io", "load"),
    "fit_grouped": ("prosperity.grouped", "fit_grouped"),
    "list_datasets": ("prosperity.datasets", "list_datasets"),
    "load_dataset": ("prosperity.datasets", "load_dataset"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'prosperity' has no attribute {name!r}")
