"""Each way a function can end its process, chosen by the event's "mode"."""

import ctypes
import json
import os
import sys


def handler(event, context):
    if "body" in event:  # through the HTTP API
        event = json.loads(event["body"] or "{}")
    mode = event.get("mode")
    if mode == "exit":
        os._exit(3)
    if mode == "segfault":
        ctypes.string_at(0)
    if mode == "sys_exit":
        sys.exit(1)
    if mode == "loop":
        print(f"looping in {os.getpid()}", flush=True)
        while True:
            pass
    if mode == "memory":
        hog = []
        while True:
            hog.append(bytearray(16 * 1024 * 1024))  # bytearray fills its pages: resident at once
    if mode == "raise":
        raise ValueError("bad input: " + str(event.get("detail")))
    return {"pid": os.getpid(), "mode": mode}
