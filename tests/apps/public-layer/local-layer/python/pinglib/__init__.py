"""The function's own layer."""

PONG = "pong from the local layer"
