"""Guest path names: reading them from guest memory and mapping them to host paths.

Why one place: every handler that takes a path goes through `guest_path`, so sysroot support
and the /proc/self/exe alias live here and nowhere else.
"""

from __future__ import annotations

import errno
import os

from syscalls.abi import SyscallContext

PATH_MAX = 4096


def read_path(ctx: SyscallContext, addr: int) -> bytes | int:
    """The guest C string at addr, or -EFAULT / -ENAMETOOLONG."""
    s = ctx.mem.read_cstring(addr & 0xFFFFFFFFFFFFFFFF, PATH_MAX)
    if s is None:
        if ctx.mem.read(addr & 0xFFFFFFFFFFFFFFFF, 1) is None:
            return -errno.EFAULT
        return -errno.ENAMETOOLONG
    return s


def own_pid(ctx: SyscallContext) -> int:
    return ctx.proc.pid or os.getpid()


def is_self_exe(ctx: SyscallContext, path: bytes) -> bool:
    """Whether path names the running executable through /proc (self or our own pid)."""
    if not path.startswith(b"/proc/") or not path.endswith(b"/exe"):
        return False
    who = path[len(b"/proc/"):-len(b"/exe")]
    return who in (b"self", b"thread-self", str(own_pid(ctx)).encode())


def exe_bytes(ctx: SyscallContext) -> bytes:
    return os.fsencode(os.path.abspath(ctx.proc.exe_path))


def resolve_path(ctx: SyscallContext, path: bytes, follow: bool = True) -> bytes:
    """Map a guest path to the host path to use.

    /proc/self/exe names the guest executable, not the emulator. With a sysroot, absolute
    paths that exist inside it are taken from there (like qemu-user's -L), except the kernel's
    own trees, which stay the host's. `follow=False` leaves a symlink in the last component
    unresolved, for calls that act on the link itself (readlink, lstat, unlink, rename).
    """
    if is_self_exe(ctx, path):
        return exe_bytes(ctx)
    root = ctx.proc.sysroot
    if root and path.startswith(b"/") and not path.startswith((b"/proc/", b"/sys/", b"/dev/")):
        inside = resolve_in_root(os.fsencode(root), path, follow)
        if inside is not None:
            return inside
    return path


_MAX_LINKS = 40  # as Linux's MAXSYMLINKS


def resolve_in_root(root: bytes, path: bytes, follow_last: bool = True) -> bytes | None:
    """The host path of absolute `path` inside `root`, following symlinks as a chroot would
    (an absolute link target restarts at root), or None if it does not exist there.

    Why not just root + path: unpacked Debian trees hold absolute links (e.g. to
    /lib/aarch64-linux-gnu/...) that the host kernel would follow out of the root.
    """
    root = root.rstrip(b"/")
    todo = [c for c in path.split(b"/") if c]
    done: list[bytes] = []
    links = 0
    while todo:
        comp = todo.pop(0)
        if comp == b".":
            continue
        if comp == b"..":
            if done:
                done.pop()
            continue
        host = root + b"/" + b"/".join([*done, comp])
        if not todo and not follow_last:
            return host if os.path.lexists(host) else None
        try:
            target = os.readlink(host)
        except OSError as e:
            if e.errno == errno.EINVAL:  # exists and is not a link
                done.append(comp)
                continue
            return None
        links += 1
        if links > _MAX_LINKS:
            return None
        parts = [c for c in target.split(b"/") if c]
        if target.startswith(b"/"):
            done = []
        todo = parts + todo
    return root + b"/" + b"/".join(done)


def guest_path(ctx: SyscallContext, addr: int, follow: bool = True) -> bytes | int:
    """read_path + resolve_path: the host path for a guest path argument, or -errno."""
    p = read_path(ctx, addr)
    if isinstance(p, int):
        return p
    return resolve_path(ctx, p, follow)
