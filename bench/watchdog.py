#!/usr/bin/env python3
"""Watchdog for bench/run: kills commands of the harness that run too long.

    watchdog.py HARNESS_PID TIMEOUT_SECONDS LOGFILE

Every half second it looks at the direct children of HARNESS_PID (the runtime
commands the harness is timing). A child older than TIMEOUT_SECONDS is killed
together with its descendants, through pidfds so that a reused PID is never hit,
and a line is appended to LOGFILE. The watchdog exits when the harness is gone.
Polling a few small /proc files every 0.5 s costs far less than a timeout(1)
process around every timed command would.
"""
import os
import signal
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    """(ppid, starttime in ticks) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[19])


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


def tree(pid):
    """pid and all of its descendants, deepest last."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children(p))
    return seen


def uptime_ticks():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) * CLK_TCK


def kill_pid(pid, expect_start):
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        st = stat_fields(pid)
        if st is None or st[1] != expect_start:
            return False  # not the process we looked at
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def main():
    harness, timeout, logfile = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness decides about Ctrl-C
    me = os.getpid()
    while True:
        if stat_fields(harness) is None or os.getppid() != harness:
            return
        now = uptime_ticks()
        for child in children(harness):
            if child == me:
                continue
            st = stat_fields(child)
            if st is None or st[0] != harness:
                continue
            age = (now - st[1]) / CLK_TCK
            if age <= timeout:
                continue
            try:
                with open(f"/proc/{child}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = "?"
            victims = [(p, stat_fields(p)) for p in tree(child)]
            for pid, pst in victims:
                if pst is not None:
                    kill_pid(pid, pst[1])
            with open(logfile, "a") as f:
                f.write(f"killed after {age:.1f}s (timeout {timeout:g}s): pid {child}: {cmd}\n")
        time.sleep(0.5)


if __name__ == "__main__":
    main()
