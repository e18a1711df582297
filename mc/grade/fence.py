"""The fence around a submission's process: what this machine allows, and entering it.

The grader runs on an instructor's laptop (a normal user), on a server (root), and
in containers (root without CAP_SYS_ADMIN: Docker, Gradescope, most JupyterHub
pods). :func:`probe` tries, in forked children, the same steps that
:func:`enter_sandbox` takes, and keeps the strongest combination that works:

* an **unprivileged user id** per worker slot (root only);
* a **user namespace** (non-root, or root without CAP_SYS_ADMIN), in which the
  other namespaces can be made without privileges;
* a private **mount namespace**: the instructor's folders covered by empty
  read-only filesystems, every other filesystem read-only, a private tmpfs as the
  scratch folder;
* a **network namespace** (no network) and a **PID namespace** (when its first
  process ends, the kernel kills every process in it: nothing escapes);
* **Landlock** (Linux 5.13+, no privileges needed): no writes outside the scratch
  folder, the hidden folders unreadable, no TCP, no signals to outside processes;
* always: resource limits, a new session, and a *child subreaper*, so that even a
  double-forked ``setsid`` daemon stays a descendant the grader finds and kills.

What holds is said in one line (:meth:`Plan.line`), in terms of :data:`PROTECTIONS`;
``--require-isolation LEVEL`` (:data:`LEVELS`) refuses to grade with less.

This module imports nothing else of :mod:`mc.grade`.
"""

import ctypes
import os
import re
import resource
import select
import signal
import stat
import struct
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

__all__ = ["Limits", "Plan", "PROTECTIONS", "LEVELS", "IsolationError", "probe", "enter_sandbox",
           "reserve_user_ids", "UserIds",
           "make_scratch", "sandbox_environment", "kill_user_processes", "sweep_children", "reap_children",
           "set_subreaper", "is_root"]

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
CAP_SYS_ADMIN = 21

# What a fence can promise, and the words the printed line uses for each.
PROTECTIONS = {
    "contained": "no process a submission starts outlives its row",
    "limits": "CPU time, memory, file size, open files and processes are limited",
    "read-only": "a submission can write nothing outside its scratch folder (not the output "
                 "folder, the records, other students' files or the grader's)",
    "no-signals": "a submission cannot signal the grader's or another submission's processes",
    "hidden": "the pset, the submissions and the output folder are unreadable to a submission",
    "no-network": "a submission has no network",
}
# --require-isolation LEVEL: each level asks for the protections listed.
LEVELS = {
    "none": [],
    "contained": ["contained", "limits"],
    "protected": ["contained", "limits", "read-only", "no-signals"],
    "full": list(PROTECTIONS),
}


class IsolationError(RuntimeError):
    """The machine cannot give the isolation that was required."""


@dataclass
class Limits:
    """Per-submission limits (seconds, bytes, counts)."""

    cell_timeout: float = 30.0        # one cell
    call_timeout: float = 10.0        # one call of an answer
    cpu_seconds: int = 300            # the whole process
    memory_bytes: int = 4 * 2**30     # address space
    file_bytes: int = 64 * 2**20      # largest file it may write
    open_files: int = 256
    processes: int = 64               # processes it may add
    max_restarts: int = 4             # replays after a crash or hang
    grace: float = 5.0                # wall-clock time beyond a timeout before a hang is declared
    scratch_bytes: int = 256 * 2**20  # its scratch folder, where it is a tmpfs of its own


@dataclass
class Plan:
    """How submissions are fenced in on this machine (made by :func:`probe`)."""

    hide: list = field(default_factory=list)   # folders and files a submission must not see
    setuid: bool = False                       # run slot k as uid uid_base + k (root only)
    uid_base: int = 61000
    userns: bool = False                       # make a user namespace (no privileges needed)
    mount: bool = False                        # private mounts: hide, read-only, tmpfs scratch
    network: bool = False                      # a network namespace of its own
    pid: bool = False                          # a PID namespace of its own
    landlock: int = 0                          # Landlock ABI version used (0: none)
    environment: str = ""                      # e.g. "root without CAP_SYS_ADMIN"
    holds: dict = field(default_factory=dict)  # protection -> True/False
    notes: list = field(default_factory=list)  # why a protection is missing

    def uid(self, slot):
        """The user id slot `slot` runs as, or None when it keeps the grader's."""
        return self.uid_base + slot if self.setuid else None

    @property
    def mechanisms(self):
        names = []
        if self.setuid:
            names.append("a user id per submission")
        if self.userns:
            names.append("user namespace")
        names += [n for flag, n in ((self.mount, "private mounts"), (self.network, "no network"),
                                    (self.pid, "PID namespace")) if flag]
        if self.landlock:
            names.append(f"Landlock ABI {self.landlock}")
        names.append("limits and a child subreaper")
        return names

    def line(self):
        """The one line a grading run prints: where it runs, what holds, what does not.

        >>> Plan(environment="unprivileged user", holds={"contained": True, "limits": True,
        ...      "hidden": False}).line()
        'isolation (unprivileged user; limits and a child subreaper): holds contained, limits; missing hidden'
        """
        held = [p for p in PROTECTIONS if self.holds.get(p)]
        missing = [p for p in PROTECTIONS if p in self.holds and not self.holds[p]]
        text = f"isolation ({self.environment}; {', '.join(self.mechanisms)}): holds {', '.join(held) or 'nothing'}"
        if missing:
            text += f"; missing {', '.join(missing)}"
        return text

    def missing(self, required):
        """The protections in `required` (a level or comma-separated names) that do not hold."""
        names = LEVELS[required] if required in LEVELS else [n.strip() for n in required.split(",") if n.strip()]
        unknown = [n for n in names if n not in PROTECTIONS]
        if unknown:
            raise ValueError(f"unknown protection {unknown[0]!r}: choose a level "
                             f"({', '.join(LEVELS)}) or protections ({', '.join(PROTECTIONS)})")
        return [n for n in names if not self.holds.get(n)]

    def require(self, required):
        """Raise :class:`IsolationError` unless every protection `required` asks for holds."""
        if not required:
            return
        missing = self.missing(required)
        if missing:
            reasons = "; ".join(self.notes) or "this machine does not allow it"
            raise IsolationError(f"--require-isolation {required}: {', '.join(missing)} cannot be "
                                 f"promised here ({self.line()}). Why: {reasons}")

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(**data)


def is_root():
    return os.geteuid() == 0


# ----------------------------------------------------------------------------- system calls

def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _prctl(option, value):
    _check(_libc().prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def set_subreaper():
    """Make orphaned descendants of this process its children (not init's)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _has_capability(number):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> number & 1)
    return False


def _drop_capabilities():
    """Clear every capability (those a new user namespace gives its creator)."""
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)       # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()
    _check(_libc().capset(header, data), "capset")


def _become(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


# ----------------------------------------------------------------------------- mounts

_MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}


def _mounts():
    """(mount point, per-mount flags) of every mount this process sees."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])   # \040 is a space
            flags = 0
            for option in fields[5].split(","):
                flags |= _MOUNT_FLAGS.get(option, 0)
            found.append((point, flags))
    return found


def _mount(source, target, fstype, flags, data, what):
    _check(_libc().mount(source, target.encode(), fstype, ctypes.c_ulong(flags), data), what)


def _fence_mounts(plan, scratch, uid, limits):
    """Private mounts: hidden paths covered, everything read-only, a tmpfs scratch."""
    _mount(b"none", "/", None, MS_REC | MS_PRIVATE, None, "make mounts private")
    for path in plan.hide:
        path = os.path.realpath(path)
        if os.path.isdir(path):
            _mount(b"tmpfs", path, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   b"size=4k,mode=0555", f"hide {path}")
        elif os.path.exists(path):
            _mount(b"/dev/null", path, None, MS_BIND, None, f"hide {path}")
    hidden = [os.path.realpath(p) for p in plan.hide]
    for point, flags in _mounts():
        if point.startswith(("/proc", "/sys", "/dev")) and point not in ("/dev/shm",):
            continue            # kernel interfaces and device nodes, not files
        if any(point == h or point.startswith(h.rstrip("/") + "/") for h in hidden):
            continue            # covered already (and perhaps no longer reachable)
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, None, f"read-only {point}")
        except OSError:
            if point == "/" or not os.path.isdir(point):
                raise
            # A mount this namespace may not change (locked): cover it instead.
            _mount(b"tmpfs", point, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, b"size=4k,mode=0555",
                   f"cover {point}")
    owner = f",uid={uid},gid={uid}" if uid is not None else ""
    _mount(b"tmpfs", scratch, b"tmpfs", MS_NOSUID | MS_NODEV,
           f"size={limits.scratch_bytes},mode=0700{owner}".encode(), "scratch tmpfs")


def _fresh_proc():
    """In a new PID namespace, a /proc that shows only its own processes (best effort)."""
    try:
        _mount(b"proc", "/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None, "mount /proc")
    except OSError:
        pass        # e.g. a container that masks parts of /proc: the old one stays


# ----------------------------------------------------------------------------- Landlock

_LANDLOCK_CREATE, _LANDLOCK_ADD, _LANDLOCK_RESTRICT = 444, 445, 446
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_WRITES_V1 = sum(1 << b for b in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))   # write, remove, make *
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2


def landlock_abi():
    """The Landlock ABI version this kernel offers (0: none)."""
    try:
        version = _libc().syscall(_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (AttributeError, OSError):
        return 0
    return max(int(version), 0)


def _landlock_rights(abi):
    writes = _FS_WRITES_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    return writes, writes | _FS_READ_FILE | _FS_READ_DIR | _FS_EXECUTE


def _landlock_allowed_reads(hide):
    """Paths under which reading is allowed: everything but the hidden paths.

    Landlock only grants, so each directory on the way from / to a hidden path is
    replaced by its entries other than the one leading to the hidden path."""
    hidden = [os.path.realpath(p) for p in hide]
    allowed, todo = [], ["/"]
    while todo:
        directory = todo.pop()
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(directory, name)
            real = os.path.realpath(path)
            if any(real == h or real.startswith(h.rstrip("/") + "/") for h in hidden):
                continue                               # hidden (or a link into it)
            if any(h.startswith(real.rstrip("/") + "/") for h in hidden):
                if os.path.islink(path):
                    continue                           # a link to an ancestor of a hidden path
                todo.append(path)                      # on the way to a hidden path: split it
            else:
                allowed.append(path)
    return allowed


def _landlock(abi, scratch, hide):
    """Restrict this process and its descendants (irreversibly): no writes but in
    `scratch` (and /dev/null), no reads of `hide`, no TCP, no signals out."""
    libc = _libc()
    writes, everything = _landlock_rights(abi)
    handled_fs = everything if hide else writes
    attr = struct.pack("<QQQ", handled_fs,
                       (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                       (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    buffer = ctypes.create_string_buffer(attr, 24)
    ruleset = libc.syscall(_LANDLOCK_CREATE, buffer, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        def allow(path, access):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                return
            try:
                mode = os.fstat(fd).st_mode
                if not stat.S_ISDIR(mode):
                    access &= _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE
                rule = ctypes.create_string_buffer(struct.pack("<Qi", access, fd), 12)
                _check(libc.syscall(_LANDLOCK_ADD, ruleset, 1, rule, 0), f"landlock rule {path}")
            finally:
                os.close(fd)

        allow(scratch, handled_fs)
        allow("/dev/null", handled_fs)
        if hide:
            for path in _landlock_allowed_reads(hide):
                allow(path, handled_fs & ~writes)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        _check(libc.syscall(_LANDLOCK_RESTRICT, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)


# ----------------------------------------------------------------------------- processes

def _pids():
    """The process ids this process can see (the numeric entries of /proc)."""
    return [entry for entry in os.listdir("/proc") if entry.isdigit()]


def _children(pid, sessions=()):
    """Direct children of `pid` (from /proc), less those in one of the `sessions`."""
    found = []
    for entry in _pids():
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != b"Z" and int(fields[3]) not in sessions:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def reap_children(statuses, only=None):
    """Reap every child that has ended; their exit codes go to `statuses` (for those
    in `only`, when given)."""
    while True:
        try:
            pid, raw = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if only is None or pid in only:
            statuses[pid] = os.waitstatus_to_exitcode(raw)


def sweep_children(keep=(), statuses=None, seconds=5.0):
    """SIGKILL and reap every child of this process except `keep`, until none is left.

    With this process a child subreaper, a daemon that double-forked and called
    ``setsid`` is one of these children: it cannot escape by leaving its parent.
    Exit codes of children in `keep` that are reaped on the way go to `statuses`.
    Processes in the session of a child in `keep` are spared too: a relay's own
    processes are its business while it lives (and a process of a PID namespace
    being set up can show up here as a child for a moment)."""
    me, killed = os.getpid(), 0
    deadline = time.monotonic() + seconds
    while True:
        victims = [pid for pid in _children(me, sessions=keep) if pid not in keep]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        reap_children({} if statuses is None else statuses, only=keep)   # zombies are not victims
        if not victims or time.monotonic() > deadline:
            return killed
        time.sleep(0.005)


def kill_user_processes(uid):
    """SIGKILL every live process whose real user id is `uid` (a slot's leftovers)."""
    killed = 0
    for _ in range(50):
        found = False
        for entry in _pids():
            try:
                with open(f"/proc/{entry}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
                if int(fields["Uid"].split()[0]) != uid or fields["State"].strip().startswith("Z"):
                    continue
                os.kill(int(entry), signal.SIGKILL)
                found = True
                killed += 1
            except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError, KeyError):
                continue
        if not found:
            break
        time.sleep(0.01)     # a process forking while we kill: look again
    return killed


class UserIds:
    """A block of user ids held for one grading run (see :func:`reserve_user_ids`)."""

    BLOCK = 64

    def __init__(self, base, handle):
        self.base, self._handle = base, handle

    def release(self):
        if self._handle is not None:
            self._handle.close()          # closing drops the lock
            self._handle = None


def reserve_user_ids(slots, first=61000, blocks=128):
    """Hold a block of unprivileged user ids for this run, by a lock file.

    A slot's leftovers are killed by user id, so two grading runs on one machine
    (two psets graded at once, or a test beside a run) must never share one: each
    would kill the other's submissions. The lock dies with the process."""
    import fcntl
    if slots > UserIds.BLOCK:
        raise ValueError(f"at most {UserIds.BLOCK} workers at once")
    folder = "/run/lock" if os.access("/run/lock", os.W_OK) else tempfile.gettempdir()
    for k in range(blocks):
        base = first + k * UserIds.BLOCK
        handle = open(os.path.join(folder, f"matrixcalc-uids-{base}.lock"), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return UserIds(base, handle)
    raise IsolationError(f"all {blocks} blocks of user ids from {first} are in use by other grading runs")


def _user_process_count(uid):
    count = 0
    for entry in _pids():
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += 1
        except OSError:
            pass
    return count


def _close_fds(keep=()):
    """Close every file descriptor from 3 up except `keep` (a relay holds no channel)."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


def _wait_for(child):
    """Wait for `child`, reaping any other child meanwhile; its raw wait status."""
    while True:
        try:
            pid, raw = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return None
        if pid == child:
            return raw


def _end_as(raw):
    """Exit the way a process with wait status `raw` ended (its signal re-raised)."""
    if raw is None:
        os._exit(70)
    if os.WIFSIGNALED(raw):
        number = os.WTERMSIG(raw)
        if number not in (signal.SIGKILL, signal.SIGSTOP):      # these keep their default
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        time.sleep(1)           # not delivered (the first process of a PID namespace)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(raw) & 0xFF)


def _relay(child, sweep=False, status_fd=None):
    """Wait for `child`, then end as it ended; never returns.

    The relay is what the launcher sees of a submission. With `sweep` (no PID
    namespace) it is a subreaper and first kills every leftover descendant. As the
    first process of a PID namespace (`status_fd` given), it writes the worker's
    status to its relay outside, since a signal cannot be re-raised in there, and
    its exit makes the kernel kill whatever is left in the namespace."""
    _close_fds(keep=() if status_fd is None else (status_fd,))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raw = _wait_for(child)
    if status_fd is not None and raw is not None:
        os.write(status_fd, struct.pack("<i", raw))
    if sweep:
        sweep_children()
    _end_as(raw)


def _outer_relay(child, status_r):
    """The relay outside a PID namespace: end as the namespace's worker ended."""
    _close_fds(keep=(status_r,))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raw = _wait_for(child)
    data = b""
    while len(data) < 4:
        try:
            chunk = os.read(status_r, 4 - len(data))
        except InterruptedError:
            continue
        if not chunk:
            break
        data += chunk
    _end_as(struct.unpack("<i", data)[0] if len(data) == 4 else raw)


# ----------------------------------------------------------------------------- entering the fence

def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def _enter_namespaces(plan, scratch, uid, limits):
    """Unshare what `plan` asks for and set up the mounts (before any fork)."""
    flags = (CLONE_NEWNS if plan.mount else 0) | (CLONE_NEWNET if plan.network else 0) | \
            (CLONE_NEWPID if plan.pid else 0)
    if plan.userns:
        if uid is not None:
            _become(uid)              # root without CAP_SYS_ADMIN: the user first, then its namespace
            _prctl(PR_SET_DUMPABLE, 1)   # a change of user made /proc/self root's; make it ours
        outer_uid, outer_gid = os.getuid(), os.getgid()
        _check(_libc().unshare(CLONE_NEWUSER | flags), "unshare(user namespace)")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{outer_uid} {outer_uid} 1")
        _write("/proc/self/gid_map", f"{outer_gid} {outer_gid} 1")
    elif flags:
        _check(_libc().unshare(flags), "unshare(namespaces)")
    if plan.mount:
        _fence_mounts(plan, scratch, None if plan.userns else uid, limits)


def enter_sandbox(plan, limits, slot, scratch):
    """Fence in the current (child) process; return in the process that runs the
    submission. Called before any student code runs; never returns in the relays."""
    if os.getsid(0) != os.getpid():
        os.setsid()
    plan = plan or Plan()
    uid = plan.uid(slot)
    _enter_namespaces(plan, scratch, uid, limits)
    if plan.pid:
        status_r, status_w = os.pipe()
        child = os.fork()
        if child:
            os.close(status_w)
            _outer_relay(child, status_r)
        os.close(status_r)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)   # the namespace dies with its relay outside
        if plan.mount:
            _fresh_proc()
        worker = os.fork()
        if worker:
            _relay(worker, status_fd=status_w)
        os.close(status_w)
    else:
        set_subreaper()
        worker = os.fork()
        if worker:
            _relay(worker, sweep=True)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)           # the worker dies with its relay
    processes = limits.processes
    if uid is None and not plan.userns:
        processes += _user_process_count(os.getuid())   # the limit counts all of this user's
    rl = [(resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_bytes),
          (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
          (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, processes)]
    for which, value in rl:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))
    if uid is not None and not plan.userns:
        _become(uid)
    if plan.userns:
        _drop_capabilities()
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if plan.landlock:
        _landlock(plan.landlock, scratch, [] if plan.mount else plan.hide)
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update(sandbox_environment(scratch))


def sandbox_environment(scratch):
    """The whole environment a submission's process gets (nothing of the grader's)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch,
            "MPLBACKEND": "Agg", "MC_GRADING": "1", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def make_scratch(slot, plan):
    """A fresh scratch folder for slot `slot`, owned by the user it runs as."""
    scratch = tempfile.mkdtemp(prefix="mc-submission-")
    uid = plan.uid(slot) if plan is not None else None
    if uid is not None:
        os.chown(scratch, uid, uid)
    os.chmod(scratch, 0o700)
    return scratch


# ----------------------------------------------------------------------------- probing

def _in_child(function, timeout=20.0):
    """Run `function` in a forked child; True when it returned without raising."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            code = 0 if function() else 2
        except BaseException:
            code = 1
        finally:
            try:
                os.write(write_end, bytes([code]))
            finally:
                os._exit(code)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], timeout)
    answer = os.read(read_end, 1) if ready else b""
    os.close(read_end)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
    return answer == b"\0"


def _try_plan(plan, limits):
    """Does `plan` work here? Enter it in a child and check what it must give."""
    scratch = tempfile.mkdtemp(prefix="mc-probe-")
    probe_file = os.path.join(scratch, "outside")
    inside = os.path.join(scratch, "inside")
    os.mkdir(inside)
    os.chmod(scratch, 0o711)
    uid = plan.uid(0)
    if uid is not None:
        os.chown(inside, uid, uid)

    def attempt():
        enter_sandbox(plan, limits, 0, inside)
        with open(os.devnull, "w") as handle:
            handle.write("x")
        with open("written", "w") as handle:       # the scratch folder is writable
            handle.write("x")
        if plan.mount or plan.landlock:
            try:
                with open(probe_file, "w"):
                    return False                    # outside the scratch: must fail
            except OSError:
                pass
        return True

    try:
        return _in_child(attempt)
    finally:
        import shutil
        shutil.rmtree(scratch, ignore_errors=True)


def _hidden_by_permissions(paths, uid):
    """Are all `paths` unreadable to `uid` (no groups) by their permission bits alone?"""
    for path in paths:
        path = os.path.realpath(path)
        if not os.path.exists(path):
            continue
        parts = path.split("/")
        reachable = True
        for depth in range(2, len(parts) + 1):
            info = os.stat("/".join(parts[:depth]) or "/")
            mine = info.st_uid == uid
            bits = (info.st_mode >> 6) & 7 if mine else info.st_mode & 7
            last = depth == len(parts)
            need = (5 if stat.S_ISDIR(info.st_mode) else 4) if last else 1
            if bits & need != need:
                reachable = False
                break
        if reachable:
            return False
    return True


def _environment_name():
    if not is_root():
        return "unprivileged user"
    return "root" if _has_capability(CAP_SYS_ADMIN) else "root without CAP_SYS_ADMIN"


def _disabled_by_user():
    """Mechanisms switched off by MC_FENCE_DISABLE (comma-separated: userns, landlock,
    setuid, mount): for instructors who must, and for testing the fallbacks."""
    return {w.strip() for w in os.environ.get("MC_FENCE_DISABLE", "").split(",") if w.strip()}


def probe(hide=(), uid_base=61000, limits=None, isolate=True):
    """The strongest :class:`Plan` this machine allows, each step tried for real."""
    limits = limits or Limits()
    off = _disabled_by_user()
    plan = Plan(hide=[str(p) for p in hide], uid_base=uid_base, environment=_environment_name())
    if not isolate:
        plan.environment += ", isolation switched off"
    else:
        root = is_root()
        if root and "setuid" not in off:
            plan.setuid = _try_plan(Plan(setuid=True, uid_base=uid_base), limits)
        full = dict(mount=True, network=True, pid=True)
        candidates = []
        if "mount" not in off:
            if root and _has_capability(CAP_SYS_ADMIN):
                candidates.append(dict(full, userns=False))
            if "userns" not in off:
                candidates.append(dict(full, userns=True))
        for candidate in candidates:
            trial = Plan(hide=plan.hide, setuid=plan.setuid, uid_base=uid_base, **candidate)
            if _try_plan(trial, limits):
                plan.userns, plan.mount, plan.network, plan.pid = (
                    trial.userns, trial.mount, trial.network, trial.pid)
                break
        else:
            if candidates:
                plan.notes.append("no namespaces: " + ("unprivileged user namespaces are not allowed "
                                                       "here" if not root else "neither CAP_SYS_ADMIN "
                                                       "nor user namespaces"))
        abi = 0 if "landlock" in off else landlock_abi()
        if abi:
            trial = Plan(hide=plan.hide, setuid=plan.setuid, uid_base=uid_base, userns=plan.userns,
                         mount=plan.mount, network=plan.network, pid=plan.pid, landlock=abi)
            plan.landlock = abi if _try_plan(trial, limits) else 0
        if not plan.landlock and not plan.mount:
            plan.notes.append("no Landlock (Linux 5.13 or later with Landlock enabled)")
    plan.holds = _protections(plan)
    if not plan.holds["contained"]:
        plan.notes.append("a submission could kill the grader's launcher and leave a daemon behind "
                          "(no PID namespace, user id of its own, or Landlock signal scope)")
    if not plan.holds["hidden"] and isolate:
        plan.notes.append("the pset, submissions or output folder are readable by the submission's user")
    return plan


def _protections(plan):
    """Which :data:`PROTECTIONS` a plan gives (see the table in docs/instructor.md)."""
    separate_uid = plan.setuid
    hidden = plan.mount or (plan.landlock > 0) or (
        separate_uid and _hidden_by_permissions(plan.hide, plan.uid_base))
    return {
        # A subreaper relay and a swept launcher catch every daemon, as long as the
        # submission cannot kill them: a PID namespace or user id of its own, or Landlock's
        # signal scope, make sure of that.
        "contained": plan.pid or separate_uid or plan.landlock >= 6,
        "limits": True,
        "read-only": plan.mount or plan.landlock > 0 or separate_uid,
        "no-signals": plan.pid or separate_uid or plan.landlock >= 6,
        "hidden": bool(hidden and plan.hide),
        "no-network": plan.network,
    }


def main():   # pragma: no cover - a convenience for instructors
    """``python -m mc.grade.fence``: print what this machine allows."""
    plan = probe(hide=[os.getcwd()])
    print(plan.line())
    for note in plan.notes:
        print("  " + note)
    return 0


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
