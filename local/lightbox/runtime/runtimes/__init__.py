"""Lambda's runtimes: what the execution environment of each one starts.

`python.py` picks the interpreter for a Python version; `node.py` runs `node_bootstrap.cjs` (Lambda's
Node.js runtime, speaking the Runtime API); `provided.py` runs a custom runtime's own `bootstrap`;
`layers.py` maps layers onto Lambda's `/opt` search paths; `launchers.py` registers the Node.js and
custom launchers with the environment host (runtime/environments); `support.py` says which functions
cannot run here and why, and on which language version the others run, as `up` and `validate` print it.
"""
