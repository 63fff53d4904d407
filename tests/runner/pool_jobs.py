"""Jobs for the executor tests (module-level so spawned workers can import them)."""
import os
import time
from pathlib import Path


def square(x):
    return x * x


def die_once(args):
    """Kill the worker the first time (a marker file remembers), succeed on the retry."""
    marker, value = args
    if not Path(marker).exists():
        Path(marker).write_text("died")
        os._exit(3)
    return value


def always_die(_):
    os._exit(3)


def raise_error(_):
    raise ValueError("bad job")


def sleep_and_report_pid(seconds):
    time.sleep(seconds)
    return os.getpid()
