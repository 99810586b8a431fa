"""prosperity: measure, explain and simulate common prosperity.

Layers (imports flow downward only):

- ``cli`` / ``report``           interfaces, no maths of their own
- ``table``                       table-level API: many measures, by groups, with SEs, tidy frames
- ``measures`` ``decompose`` ``grouped`` ``dynamics`` ``index``   capabilities
- ``variance``                    influence functions + survey design -> standard errors
- ``io``                          loading, validation, the ``Sample`` data model
"""

__version__ = "0.1.0"
