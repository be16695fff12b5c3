"""The Popen options that make a child die with its parent, and a child that follows a lifeline."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from lightbox import config
from lightbox.services.supervision import child_options


def test_a_child_gets_the_lifeline_and_dies_with_the_parent_thread() -> None:
    options = child_options({"A": "1"})
    assert options["env"]["A"] == "1"
    fd = int(options["env"][config.LIFELINE_VAR])
    assert options["pass_fds"] == (fd,)
    assert callable(options["preexec_fn"])  # from the main thread: PR_SET_PDEATHSIG too


def test_a_lightbox_child_ends_when_its_lifeline_closes() -> None:
    # A child follows the lifeline of a parent that then ends (here: the write end is closed).
    read, write = os.pipe()
    script = textwrap.dedent("""
        import os, time
        from lightbox.services.supervision import follow_lifeline
        follow_lifeline()
        print("following", flush=True)
        time.sleep(60)
    """)
    env = {**os.environ, config.LIFELINE_VAR: str(read)}
    child = subprocess.Popen([sys.executable, "-c", script], env=env, pass_fds=(read,), stdout=subprocess.PIPE)
    os.close(read)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"following\n"
        os.close(write)  # what the kernel does when the parent ends, however it ends
        assert child.wait(timeout=30) == -9
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_a_variable_without_its_pipe_is_not_followed() -> None:
    script = "from lightbox.services.supervision import follow_lifeline; follow_lifeline(); print('alive')"
    env = {**os.environ, config.LIFELINE_VAR: "0"}  # stdin: not a pipe from a parent's lifeline
    done = subprocess.run([sys.executable, "-c", script], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "alive\n")
