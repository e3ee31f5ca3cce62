"""How much memory a fit may use: physical memory, or the tighter limit of
the process's cgroup (a container's ``memory.max``)."""

import os


def _physical_memory():
    """Total physical memory in bytes, or None where the OS does not tell."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # e.g. Windows
        return None


def cgroup_memory_limit(proc_cgroup="/proc/self/cgroup",
                        mountinfo="/proc/self/mountinfo"):
    """The tightest memory limit of this process's cgroup and its ancestors.

    Reads cgroup v2's ``memory.max`` or cgroup v1's ``memory.limit_in_bytes``
    from the mounted hierarchy the process belongs to. Returns None without a
    cgroup, a mounted memory hierarchy or a limit ("max").
    """
    try:
        with open(proc_cgroup) as f:
            memberships = [line.rstrip("\n").split(":", 2) for line in f]
        with open(mountinfo) as f:
            mounts = [line.split() for line in f]
    except OSError:
        return None
    limits = []
    for fields_ in mounts:
        if "-" not in fields_:
            continue
        sep = fields_.index("-")
        root, mount_point = fields_[3], fields_[4]
        fstype, options = fields_[sep + 1], fields_[sep + 3].split(",")
        for hierarchy_id, controllers, path in memberships:
            if fstype == "cgroup2" and hierarchy_id == "0" and controllers == "":
                name = "memory.max"
            elif fstype == "cgroup" and "memory" in controllers.split(",") \
                    and "memory" in options:
                name = "memory.limit_in_bytes"
            else:
                continue
            if root != "/" and path.startswith(root):
                path = path[len(root):]
            folder = os.path.join(mount_point, path.lstrip("/"))
            while True:
                limits.append(_read_limit(os.path.join(folder, name)))
                if os.path.normpath(folder) == os.path.normpath(mount_point):
                    break
                folder = os.path.dirname(os.path.normpath(folder))
    limits = [limit for limit in limits if limit is not None]
    return min(limits) if limits else None


def _read_limit(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return None if text == "max" else int(text)
    except (OSError, ValueError):
        return None


def available_memory():
    """``(bytes, where)``: the memory this process may use, the smaller of the
    machine's physical memory and its cgroup's limit; ``(None, None)`` where
    neither is known."""
    physical, limit = _physical_memory(), cgroup_memory_limit()
    if limit is not None and (physical is None or limit < physical):
        return limit, "this process's cgroup (its memory limit)"
    return physical, "this machine"


# --------------------------------------------------------------------------
# the epoch loop
# --------------------------------------------------------------------------
