"""What every training recipe needs around its loop: one run per work folder, and a log that goes to the screen and
to a file."""
import fcntl
import os
import sys


class Log:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def __call__(self, *parts):
        line = " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


_held = []  # open lock files: a lock lasts as long as its file stays open


def hold_lock(work):
    """Holds WORK/train.lock for the life of the process; exits if another run holds it."""
    lock = open(os.path.join(work, "train.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(f"another training run holds {work}/train.lock")
    _held.append(lock)
