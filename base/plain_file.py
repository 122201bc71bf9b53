"""Read a file a student handed in as data, never as a way to reach another file or to block."""

import os
import stat


def read_plain_file(path, max_bytes):
    """The bytes of `path` if it is a plain file of at most `max_bytes`: never what a link points
    to (the source notebook, hidden tests and all), nor a pipe or device a read would block on.
    Raises OSError, or ValueError saying what the file is instead."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with open(fd, "rb") as file:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise ValueError(f"{path} is not a plain file")
        if found.st_size > max_bytes:
            raise ValueError(f"{path} is larger than {max_bytes} bytes")
        return file.read(max_bytes + 1)
