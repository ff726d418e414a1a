"""The worker's last confinement before student code: OOM score and a system-call filter.

``raise_oom_score`` makes the worker the kernel OOM killer's first choice (1000), while
the worker is still root where it was started as root, so that the floor is locked and
student code cannot lower it again: a full machine or cgroup loses the student's worker,
never the grader or a classmate's.

``install_seccomp`` installs a seccomp filter, a small BPF program written here (no
library needed), on every thread of the worker. It denies, with ``EPERM``, what a lab on
linear regression never needs and a sandbox escape or a denial of service does (isolate's
and nsjail's lists, and Docker's default profile, were the references): new namespaces
(``unshare``, ``setns``, ``clone`` with a namespace flag: no user namespace inside the
sandbox), mounts, ``ptrace`` and reading other processes' memory, ``bpf``,
``perf_event_open``, ``userfaultfd`` (stalls the kernel on a page fault), keyrings,
``kexec`` and modules, ``memfd_create`` and ``memfd_secret`` (memory outside
``RLIMIT_AS``), ``io_uring`` (system calls the filter would not see), ``pidfd_getfd``
and ``kcmp``; ``clone3`` answers ``ENOSYS``, so that the C library falls back to
``clone``, whose flags the filter can read. A foreign system-call ABI (x32, i386 on
x86-64) is refused alike.
"""

import ctypes
import os
import platform
import struct

OOM_SCORE_WORKER = 1000
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
EPERM, ENOSYS = 1, 38
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
NAMESPACE_FLAGS = (
    0x7E020080  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
)
X32_BIT = 0x40000000

DENIED = (
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "open_by_handle_at",
    "name_to_handle_at",
    "memfd_create",
    "memfd_secret",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "syslog",
    "quotactl",
    "lookup_dcookie",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "vhangup",
    "pidfd_getfd",
    "kcmp",
    "fanotify_init",
    "shmget",
)

# (audit architecture, seccomp(2)'s number, {name: number}) per machine.
_X86_64 = dict(
    unshare=272,
    setns=308,
    mount=165,
    umount2=166,
    pivot_root=155,
    chroot=161,
    ptrace=101,
    process_vm_readv=310,
    process_vm_writev=311,
    kexec_load=246,
    kexec_file_load=320,
    bpf=321,
    perf_event_open=298,
    keyctl=250,
    add_key=248,
    request_key=249,
    userfaultfd=323,
    init_module=175,
    finit_module=313,
    delete_module=176,
    reboot=169,
    swapon=167,
    swapoff=168,
    acct=163,
    open_by_handle_at=304,
    name_to_handle_at=303,
    memfd_create=319,
    syslog=103,
    quotactl=179,
    lookup_dcookie=212,
    settimeofday=164,
    clock_settime=227,
    clock_adjtime=305,
    adjtimex=159,
    vhangup=153,
    kcmp=312,
    fanotify_init=300,
    clone=56,
    shmget=29,
)
_AARCH64 = dict(
    unshare=97,
    setns=268,
    mount=40,
    umount2=39,
    pivot_root=41,
    chroot=51,
    ptrace=117,
    process_vm_readv=270,
    process_vm_writev=271,
    kexec_load=104,
    kexec_file_load=294,
    bpf=280,
    perf_event_open=241,
    keyctl=219,
    add_key=217,
    request_key=218,
    userfaultfd=282,
    init_module=105,
    finit_module=273,
    delete_module=106,
    reboot=142,
    swapon=224,
    swapoff=225,
    acct=89,
    open_by_handle_at=265,
    name_to_handle_at=264,
    memfd_create=279,
    syslog=116,
    quotactl=60,
    lookup_dcookie=18,
    settimeofday=170,
    clock_settime=112,
    clock_adjtime=266,
    adjtimex=171,
    vhangup=58,
    kcmp=272,
    fanotify_init=262,
    clone=220,
    shmget=194,
)
_COMMON = dict(
    open_tree=428,
    move_mount=429,
    fsopen=430,
    fsconfig=431,
    fsmount=432,
    fspick=433,
    mount_setattr=442,
    memfd_secret=447,
    io_uring_setup=425,
    io_uring_enter=426,
    io_uring_register=427,
    pidfd_getfd=438,
    clone3=435,
)
MACHINES = {
    "x86_64": (0xC000003E, 317, {**_X86_64, **_COMMON}),
    "aarch64": (0xC00000B7, 277, {**_AARCH64, **_COMMON}),
}


def apply():
    """Both, before the worker drops its privileges; what took effect, for the judge."""
    return {"oom_score_raised": raise_oom_score(), "seccomp": install_seccomp()}


def supported():
    """Whether this machine's kernel and architecture take the filter."""
    return platform.machine() in MACHINES and os.path.exists("/proc/sys/kernel/seccomp")


def raise_oom_score():
    """Make this process the OOM killer's first choice; whether it could."""
    return set_oom_score(OOM_SCORE_WORKER)


def set_oom_score(value):
    """This process's ``oom_score_adj`` (lowering it needs root); whether it could."""
    try:
        with open("/proc/self/oom_score_adj", "w") as score:
            score.write(str(value))
    except OSError:
        return False
    return True


def install_seccomp():
    """Filter every thread's system calls from now on; whether the filter is in place."""
    if not supported():
        return False
    arch, seccomp_call, numbers = MACHINES[platform.machine()]
    program = _program(arch, numbers)
    filters = (ctypes.c_char * len(program)).from_buffer_copy(program)
    fprog = struct.pack("HxxxxxxP", len(program) // 8, ctypes.addressof(filters))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    fprog_buffer = ctypes.create_string_buffer(fprog)
    result = libc.syscall(
        ctypes.c_long(seccomp_call),
        ctypes.c_long(SECCOMP_SET_MODE_FILTER),
        ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC),
        fprog_buffer,
    )
    return result == 0


def _program(arch, numbers):
    """The filter, as the kernel reads it: 8-byte ``sock_filter`` instructions."""
    deny = RET_ERRNO | EPERM
    code = [
        (LD_ABS, 0, 0, 4),  # seccomp_data.arch
        (JEQ, 1, 0, arch),
        (RET, 0, 0, deny),
        (LD_ABS, 0, 0, 0),  # seccomp_data.nr
        (JGE, 0, 1, X32_BIT),
        (RET, 0, 0, deny),
        (JEQ, 0, 1, numbers["clone3"]),
        (RET, 0, 0, RET_ERRNO | ENOSYS),
        (JEQ, 0, 4, numbers["clone"]),
        (LD_ABS, 0, 0, 16),  # the low half of args[0]: clone's flags
        (JSET, 0, 1, NAMESPACE_FLAGS),
        (RET, 0, 0, deny),
        (RET, 0, 0, RET_ALLOW),
    ]
    for name in DENIED:
        code += [(JEQ, 0, 1, numbers[name]), (RET, 0, 0, deny)]
    code.append((RET, 0, 0, RET_ALLOW))
    return b"".join(struct.pack("HBBI", *instruction) for instruction in code)
