"""Lambda's runtimes beyond the host: how each one starts in an execution environment.

`launch.py` turns a function into the command, variables and folder its environment process starts
with (Python through an interpreter for its version, Node.js through `node_bootstrap.cjs`, `provided.*`
through the function's own `bootstrap`); `support.py` says which functions cannot run here and why,
as the lines `up` and `validate` print. The environment host runs the command and serves the Runtime API.
"""
