"""Run a command where user namespaces cannot be created, as on a kernel that forbids them.

``python tests/without_userns.py CMD ARGS...`` (as root): CMD runs in a user namespace
that maps every user id to itself, whose ``max_user_namespaces`` is 0, so neither it
nor any user it switches to can make another (``unshare`` fails with ENOSPC, as with
``user.max_user_namespaces = 0``). Nothing changes outside: the limit is this
namespace's own. tests/test_environments.py uses it for the graders' fallbacks.
"""

import ctypes
import os
import sys

CLONE_NEWUSER = 0x10000000


def main(argv):
    libc = ctypes.CDLL(None, use_errno=True)
    go_r, go_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        os.close(ready_r)
        if libc.unshare(CLONE_NEWUSER) != 0:
            sys.stderr.write(f"unshare(CLONE_NEWUSER): {os.strerror(ctypes.get_errno())}\n")
            os._exit(125)
        os.write(ready_w, b"x")
        os.close(ready_w)
        os.read(go_r, 1)             # the maps are written: we are root in here
        with open("/proc/sys/user/max_user_namespaces", "w") as handle:
            handle.write("0")
        os.execvp(argv[0], argv)
    os.close(go_r)
    os.close(ready_w)
    os.read(ready_r, 1)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as handle:
            handle.write("0 0 4294967295")
    os.write(go_w, b"x")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
