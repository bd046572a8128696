#!/usr/bin/env python3
"""Cuts rtt-phases.sh's ftrace record into gateway echoes and prints each phase's median per stack.

An echo starts at ping's sendto and follows, in order: the request queued to the tap and handed
to its xmit (in ping's context), the waking and the wake-up of a thread that answers (one listed
in THREADS: "tid index stack"), its switch in, its epoll_wait/poll returning, its read entered
and returned, its write entered and returned, and ping's recvmsg returning. An echo whose
events do not all come in that order within 5 ms (a lost ping, a wake-up of another thread) is
left out and counted. Timestamps are TSC ticks; the two calibration markers give ticks per µs.
Usage: rtt-phases.py TRACE THREADS
"""
import collections
import re
import statistics
import sys

LINE = re.compile(r"^\s*(.+)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+):\s+(\w+)(.*)$")
MARK = re.compile(r"rtt-phases-calibration (\d+)")

# (from, to, label): the phases printed, then two sums.
PHASES = [
    ("send", "queue", "ping's send to the tap's queue (kernel: IP)"),
    ("queue", "start", "queue to the tap's xmit (kernel: qdisc)"),
    ("start", "waking", "tap's xmit to the stack's waking (its wait)"),
    ("waking", "wake", "waking to woken (kernel: scheduler)"),
    ("send", "wake", "ping's send to the stack's wake-up (sum)"),
    ("wake", "run", "wake-up to switch in (kernel)"),
    ("run", "waited", "switch in to the wait's return (kernel)"),
    ("waited", "read", "wait's return to read (user: dispatch)"),
    ("read", "readdone", "read (kernel)"),
    ("readdone", "write", "read to write (user: the answer)"),
    ("write", "written", "write (kernel, delivery to ping)"),
    ("written", "recv", "write's return to ping's recvmsg (kernel)"),
    ("waited", "write", "user space, wait's return to write"),
    ("send", "recv", "total"),
]
ORDER = ["queue", "start", "waking", "wake", "run", "waited", "read", "readdone", "write", "written", "recv"]


def parse(path):
    events, marks = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            comm, pid, _cpu, ts, name, rest = m.groups()
            mark = MARK.search(rest)
            if name == "tracing_mark_write" and mark:
                marks.append((int(ts), int(mark.group(1))))
                continue
            events.append((comm, int(pid), int(ts), name, rest))
    return events, marks


def step(event, want, thread, ping):
    """Whether EVENT is the echo's next step WANT; for a wake-up, the woken thread's id."""
    comm, pid, _ts, name, rest = event
    is_exit = "->" in rest
    if want == "queue":
        return pid == ping and name == "net_dev_queue"
    if want == "start":
        return pid == ping and name == "net_dev_start_xmit"
    if want == "waking":
        m = re.search(r" pid=(\d+)", rest)
        return name == "sched_waking" and m is not None and int(m.group(1)) in thread
    if want == "wake":
        return name == "sched_wakeup" and re.search(rf" pid={thread}\b", rest) is not None
    if want == "run":
        return name == "sched_switch" and re.search(rf"next_pid={thread}\b", rest) is not None
    if want == "recv":
        return pid == ping and name == "sys_recvmsg" and is_exit
    if pid != thread:
        return False
    return {
        "waited": name in ("sys_epoll_wait", "sys_poll", "sys_ppoll") and is_exit,
        "read": name == "sys_read" and not is_exit,
        "readdone": name == "sys_read" and is_exit,
        "write": name == "sys_write" and not is_exit,
        "written": name == "sys_write" and is_exit,
    }[want]


def main():
    events, marks = parse(sys.argv[1])
    stack_of, stacks = {}, []
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            tid, _index, stack = line.split()
            stack_of[int(tid)] = stack
            if stack not in stacks:
                stacks.append(stack)
    if len(marks) < 2 or marks[-1][1] == marks[0][1]:
        sys.exit("rtt-phases: no calibration markers in the trace")
    ticks_per_us = (marks[-1][0] - marks[0][0]) / ((marks[-1][1] - marks[0][1]) / 1000)

    echoes, lost = collections.defaultdict(list), 0
    i = 0
    while i < len(events):
        comm, pid, ts, name, _rest = events[i]
        if comm != "ping" or name != "sys_sendto":
            i += 1
            continue
        times, thread, j = {"send": ts}, set(stack_of), i + 1
        k = 0
        while j < len(events) and k < len(ORDER) and events[j][2] - ts < 5000 * ticks_per_us:
            if step(events[j], ORDER[k], thread, pid):
                if ORDER[k] == "waking":
                    thread = int(re.search(r" pid=(\d+)", events[j][4]).group(1))
                times[ORDER[k]] = events[j][2]
                k += 1
            j += 1
        if k == len(ORDER):
            echoes[stack_of[thread]].append(times)
            i = j
        else:
            lost += 1
            i += 1

    width = max(len(label) for _, _, label in PHASES)
    # Stacks with settings get numbered columns and a legend: their names do not fit a column.
    columns = stacks if all(len(s) <= 14 for s in stacks) else [f"#{n + 1}" for n in range(len(stacks))]
    if columns is not stacks:
        for column, stack in zip(columns, stacks):
            print(f"  {column}: {stack}")
    print(f"  {'':{width}s}" + "".join(f"{c:>15s}" for c in columns) + (f"{'difference':>15s}" if len(stacks) == 2 else ""))
    for start, end, label in PHASES:
        medians = [statistics.median((e[end] - e[start]) / ticks_per_us for e in echoes[s]) if echoes[s] else float("nan") for s in stacks]
        line = f"  {label:{width}s}" + "".join(f"{m:15.2f}" for m in medians)
        if len(stacks) == 2:
            line += f"{medians[1] - medians[0]:+15.2f}"
        print(line)
    print(f"  {'echoes':{width}s}" + "".join(f"{len(echoes[s]):15d}" for s in stacks) + f"   ({lost} left out)")


if __name__ == "__main__":
    main()
