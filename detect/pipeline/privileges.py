"""Dropping root once the source is open: to a named user, with that user's groups."""

from __future__ import annotations

import os
import pwd

from detect.core.errors import DetectError


class PrivilegeError(DetectError):
    """The user does not exist, or we are not allowed to become it."""


def drop_to(name: str) -> tuple[int, int]:
    """Become `name` (its uid, primary gid and supplementary groups); (uid, gid). Irreversible."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PrivilegeError(f"no such user: {name}") from None
    if entry.pw_uid != 0 and os.getuid() == os.geteuid() == entry.pw_uid:
        return entry.pw_uid, entry.pw_gid  # already that user (a wrapper dropped first)
    try:
        os.initgroups(name, entry.pw_gid)
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    except PermissionError as error:
        raise PrivilegeError(f"cannot become {name}: {error}") from None
    if entry.pw_uid != 0 and (os.geteuid() == 0 or _can_regain()):
        raise PrivilegeError(f"still privileged after becoming {name}")
    return entry.pw_uid, entry.pw_gid


def _can_regain() -> bool:
    try:
        os.setuid(0)
    except PermissionError:
        return False
    return True
