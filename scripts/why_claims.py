"""Model-specific text of docs/why.md, each sentence filled from measured figures, and the
claims of each model's header (servers/src/models/) with the check that keeps or corrects them.
Used by why-doc.py; a model with no entry here gets the generic sentences only.

A check returns (figure text, holds, correction): the figure that tests the claim, whether it
holds, and what the header should say instead when it does not.
"""
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "docs" / "data" / "why"


def get(cells, model, clients):
    return cells.get((model, clients))


def f2(v):
    """Two decimals, or three significant digits below 0.1 (so 0.004 does not read 0.00)."""
    if v is None:
        return "—"
    return f"{v:.2f}" if abs(v) >= 0.1 or v == 0 else f"{v:.2g}"


def across(cells, model, what):
    """`a / b / c` of `what(cell)` at 1, 100 and 1,000 clients."""
    return " / ".join(f2(what(c)) if (c := get(cells, model, n)) else "—" for n in (1, 100, 1000))


def flame_share(cell, names):
    """Share (%) of the cell's flamegraph samples inside any of the functions `names`
    (outermost frames only, so a function nested in another of `names` is not counted twice)."""
    if cell is None or not cell.flame:
        return None
    svg = (DATA / cell.flame).read_text()
    total = None
    found = []
    for m in re.finditer(r'<title>(.*?) \(([\d,]+) samples?, ([\d.]+)%\)</title><rect x="([\d.]+)%" y="(\d+)" width="([\d.]+)%"', svg):
        name, n, _, x, y, w = m.groups()
        n = int(n.replace(",", ""))
        if name == "all":
            total = n
        if name in names:
            found.append((float(x), float(x) + float(w), int(y), n))
    if not total:
        return None
    # Keep the frames not covered by a frame of `names` nearer the root (larger y is nearer
    # the root in inferno's top-down SVG coordinates: the root row is at the bottom).
    kept = [f for f in found if not any(
        o is not f and o[0] <= f[0] and f[1] <= o[1] and o[2] > f[2] for o in found)]
    return 100.0 * sum(f[3] for f in kept) / total


def share_text(cells, model, names, label):
    a, z = get(cells, model, 1), get(cells, model, 1000)
    sa, sz = flame_share(a, names), flame_share(z, names)
    if sa is None or sz is None:
        return None, None, None
    return f"{sz:.0f}% of its CPU samples at 1,000 clients are inside {label}, against {sa:.0f}% at 1 client", sa, sz


def cs_at(cells, model, n):
    c = get(cells, model, n)
    return c.cs if c else None


def no_switch_between_clients(model):
    def check(cells):
        z = get(cells, model, 1000)
        text = (f"voluntary context switches per message at 1 / 100 / 1,000 clients: "
                f"{across(cells, model, lambda c: c.vol)} (involuntary ones are other processes "
                f"taking the CPU)")
        holds = z is not None and z.vol is not None and z.vol < 0.05
        return text, holds, (f"the loop blocks between clients: {f2(z.vol if z else None)} voluntary "
                             f"switches per message at 1,000 clients")
    return check


def per_call_us(cell, names, call):
    """CPU µs one `call` system call costs: the share of samples inside `names` times the CPU
    per message, divided by the calls per message."""
    share = flame_share(cell, names)
    calls = cell.call(call) if cell else None
    if share is None or not calls or cell.cpu is None:
        return None
    return share / 100 * cell.cpu / calls / 1000


def scan_claim(model, names, label, call):
    def check(cells):
        a, z = get(cells, model, 1), get(cells, model, 1000)
        pa, pz = per_call_us(a, names, call), per_call_us(z, names, call)
        if pa is None or pz is None:
            return "no flamegraph or no calls to measure the scan with", True, ""
        text = (f"one {call} call costs {pz:.0f} µs of CPU at 1,000 clients against {pa:.1f} µs at "
                f"1 client ({label}'s share of the samples × CPU per message ÷ {call} calls per "
                f"message)")
        return text, pz > 5 * pa, f"a {call} call costs about the same at 1 and 1,000 clients"
    return check


def mio_epoll(cells):
    a, z = get(cells, "mio", 1), get(cells, "mio", 1000)
    text = (f"epoll_wait per message at 1 / 100 / 1,000 clients: {across(cells, 'mio', lambda c: c.call('epoll_wait'))}; "
            f"read {across(cells, 'mio', lambda c: c.call('read'))}, write {across(cells, 'mio', lambda c: c.call('write'))}")
    holds = bool(a and z and a.call("epoll_wait") and z.call("epoll_wait") is not None
                 and z.call("epoll_wait") < a.call("epoll_wait"))
    return text, holds, "epoll_wait is not amortised: one per message at every client count"


def threads_switch(cells):
    text = f"context switches per message at 1 / 100 / 1,000 clients: {across(cells, 'threads', lambda c: c.cs)}"
    vals = [cs_at(cells, "threads", n) for n in (1, 100, 1000)]
    holds = all(v is not None and v >= 0.5 for v in vals)
    low = min((v for v in vals if v is not None), default=None)
    return text, holds, (f"a context switch for most messages while few clients are busy; with many, "
                         f"a thread often finds its next message already there ({f2(low)} per message)")


def tokio_steal(cells):
    t, c = get(cells, "tokio", 100), get(cells, "tokio-current-thread", 100)
    if not (t and c):
        return "no runs of both runtimes", True, ""
    text = (f"futex calls per message at 100 clients: multi-thread {f2(t.call('futex'))}, "
            f"current-thread {f2(c.call('futex'))}; context switches {f2(t.cs)} against {f2(c.cs)}")
    holds = (t.call("futex") or 0) > (c.call("futex") or 0)
    return text, holds, "the multi-thread runtime shows no more cross-thread wake-ups than current-thread"


def tokio_futex(cells):
    t1, t, m = get(cells, "tokio", 1), get(cells, "tokio", 100), get(cells, "mio", 100)
    if not (t1 and t and m):
        return "no runs of tokio and mio", True, ""
    text = (f"futex calls per message: tokio {f2(t1.call('futex'))} at 1 client, "
            f"{f2(t.call('futex'))} (one per {1 / t.call('futex'):.0f} messages) at 100 "
            f"(mio {f2(m.call('futex'))}); CPU per message at 1 client: tokio "
            f"{t1.cpu / 1000:.2f} µs, mio {get(cells, 'mio', 1).cpu / 1000:.2f} µs (medians)"
            if t.call("futex") else "no futex calls at 100 clients")
    holds = (t.call("futex") or 0) > (m.call("futex") or 0) and (t1.call("futex") or 0) < 0.01
    return text, holds, "the futex calls per message differ from the header's"


def pool_handoff(cells):
    p, m = get(cells, "reactor-pool", 1), get(cells, "mio", 1)
    if not (p and m):
        return "no runs of reactor-pool and mio at 1 client", True, ""
    text = (f"at 1 client, where the reactor sleeps before every message: writes per message "
            f"{f2(p.call('write'))} (mio {f2(m.call('write'))}), epoll_wait "
            f"{f2(p.call('epoll_wait'))} (mio {f2(m.call('epoll_wait'))})")
    # The eventfd write is paid on every hand-off; the extra epoll_wait only when the reactor
    # was asleep, which the claim says is not always.
    writes = (p.call("write") or 0) >= (m.call("write") or 0) + 0.9
    waits = (p.call("epoll_wait") or 0) >= (m.call("epoll_wait") or 0) + 0.05
    missing = "eventfd write" if not writes else "epoll_wait"
    return text, writes and waits, f"the hand-off shows no extra {missing} per message over mio"


def uring_few_calls(cells):
    u, m = get(cells, "uring", 1000), get(cells, "mio", 1000)
    if not (u and m):
        return "no runs of uring and mio at 1,000 clients", True, ""
    text = (f"at 1,000 clients, io_uring_enter {f2(u.call('io_uring_enter'))} per message, "
            f"{f2(u.call('total'))} system calls per message in all (mio: {f2(m.call('total'))})")
    holds = (u.call("total") or 99) < (m.call("total") or 0)
    return text, holds, "uring makes no fewer system calls per message than mio"


def completion_io(model):
    """A completion runtime's claim: reads and writes go through the ring, reaped in batches,
    so at 1,000 clients it makes fewer io_uring_enter calls than messages and no read/write."""
    def check(cells):
        z = get(cells, model, 1000)
        if z is None:
            return "no runs at 1,000 clients", True, ""
        enter, rw = z.call("io_uring_enter"), (z.call("read") or 0) + (z.call("write") or 0)
        text = (f"at 1,000 clients, io_uring_enter {f2(enter)} per message, read and write calls "
                f"{f2(rw)}, {f2(z.call('total'))} system calls per message in all")
        holds = enter is not None and enter < 1 and rw < 0.1
        return text, holds, (f"the reads and writes are not all completions reaped in batches "
                             f"({f2(enter)} io_uring_enter and {f2(rw)} read/write calls per message)")
    return check


def no_cross_thread(model, correction="there are cross-thread wake-ups (futex calls) per message"):
    """The claim that no thread wakes another: futex calls per message stay below 0.01."""
    def check(cells):
        text = (f"futex calls per message at 1 / 100 / 1,000 clients: "
                f"{across(cells, model, lambda c: c.call('futex'))}")
        vals = [c.call("futex") for n in (1, 100, 1000) if (c := get(cells, model, n))]
        holds = all(v is not None and v < 0.01 for v in vals)
        return text, holds, correction
    return check


def glommio_recv_first(cells):
    z = get(cells, "glommio", 1000)
    if z is None:
        return "no runs at 1,000 clients", True, ""
    text = (f"at 1 / 100 / 1,000 clients: read {across(cells, 'glommio', lambda c: c.call('read'))}, "
            f"write {across(cells, 'glommio', lambda c: c.call('write'))}, io_uring_enter "
            f"{across(cells, 'glommio', lambda c: c.call('io_uring_enter'))} per message")
    holds = (z.call("read") or 0) >= 0.9 and (z.call("write") or 0) >= 0.9
    return text, holds, "the reads and writes are not one system call each per message"


def smol_cross(cells):
    t, c = get(cells, "smol", 100), get(cells, "tokio-current-thread", 100)
    if not (t and c):
        return "no runs of smol and tokio-current-thread at 100 clients", True, ""
    text = (f"at 100 clients, futex calls per message {f2(t.call('futex'))} and context switches "
            f"{f2(t.cs)} (tokio-current-thread, one thread: {f2(c.call('futex'))} and {f2(c.cs)})")
    holds = (t.call("futex") or 0) > (c.call("futex") or 0)
    return text, holds, "no message crosses threads: smol makes no more futex calls than one thread"


def may_user_switch(cells):
    m, t = get(cells, "may", 1000), get(cells, "threads", 1000)
    if not (m and t):
        return "no runs of may and threads at 1,000 clients", True, ""
    text = (f"context switches per message at 1,000 clients: may {f2(m.cs)}, threads {f2(t.cs)}; "
            f"epoll_wait per message {f2(m.call('epoll_wait'))}")
    holds = m.cs is not None and t.cs is not None and m.cs < t.cs
    return text, holds, "a coroutine switch costs the kernel context switches like a thread's"


CLAIMS = {
    "mio": [
        ("Per event: one `epoll_wait` amortised over every ready socket, then plain `read`/`write` calls", mio_epoll),
        ("No context switches between clients", no_switch_between_clients("mio")),
    ],
    "poll": [
        ("Per turn: the kernel copies the whole array in and out and polls every socket in it ... O(total clients)",
         scan_claim("poll", {"do_sys_poll"}, "do_sys_poll", "poll")),
        ("No context switches between clients", no_switch_between_clients("poll")),
    ],
    "select": [
        ("Per turn: O(highest fd) work twice over, in user space ... and in the kernel",
         scan_claim("select", {"core_sys_select"}, "core_sys_select", "select")),
        ("No context switches between clients", no_switch_between_clients("select")),
    ],
    "threads": [
        ("a context switch whenever that client has data", threads_switch),
    ],
    "tokio": [
        ("Per event: a reactor wake-up, a task schedule and, on the multi-thread runtime, possibly a cross-thread steal", tokio_steal),
        ("The multi-thread scheduler wakes idle workers with futex calls a plain loop never makes (measured: about one per 160 messages at 100 clients, none at 1 client, where its CPU per message was within `mio`'s range)",
         tokio_futex,
         "The multi-thread scheduler's shared queues and wake-ups cost more than a plain loop when clients are few"),
    ],
    "tokio-current-thread": [
        ("`CurrentThread` runs everything on the calling thread",
         no_cross_thread("tokio-current-thread", "threads of the runtime wake one another (futex calls per message)")),
    ],
    "thread-per-core": [
        ("No locks, no cross-thread wake-ups", no_cross_thread("thread-per-core")),
    ],
    "reactor-pool": [
        ("Per batch: ... two cross-thread cache-line hand-offs and, when the reactor is asleep, an eventfd write plus an `epoll_wait` wake-up", pool_handoff),
    ],
    "uring": [
        ("many completions are reaped per `io_uring_enter`, so a busy loop makes few system calls", uring_few_calls),
    ],
    "monoio": [
        ("Per message under io_uring: one submission and one completion per read and per write, many reaped per `io_uring_enter`", completion_io("monoio")),
        ("No locks, no cross-thread wake-ups, no work stealing", no_cross_thread("monoio")),
    ],
    "compio": [
        ("Per message under io_uring: a submission and a completion per read and per write, reaped in batches", completion_io("compio")),
        ("No locks and no cross-thread wake-ups between workers", no_cross_thread("compio")),
    ],
    "glommio": [
        ("Per message: a `recv` and a `send` system call when data is already there, plus an io_uring poll round trip when it is not", glommio_recv_first),
        ("No locks and no cross-thread wake-ups", no_cross_thread("glommio")),
    ],
    "smol": [
        ("a message may cross threads between the reactor and the task", smol_cross),
    ],
    "may": [
        ("A switch between coroutines is a register save and restore in user space, far cheaper than a thread's context switch", may_user_switch),
    ],
}


def scan_story(model, names, call):
    def story(cells):
        a, z = get(cells, model, 1), get(cells, model, 1000)
        pa, pz = per_call_us(a, names, call), per_call_us(z, names, call)
        if pa is None or pz is None:
            return ""
        return (f"At 1,000 clients one {call} call serves {1 / z.call(call):.0f} messages and "
                f"costs {pz:.0f} µs of CPU ({flame_share(z, names):.0f}% of the samples), against "
                f"{pa:.1f} µs at 1 client: the scan of every socket is paid once per turn and spread "
                f"over the messages that turn finds, so at 1,000 busy clients it is "
                f"{pz / (z.cpu / 1000) / (1 / z.call(call)) * 100:.0f}% of a message's CPU.")
    return story


def mio_story(cells):
    z = get(cells, "mio", 1000)
    text, _, _ = share_text(cells, "mio", {"do_epoll_wait"}, "epoll_wait (do_epoll_wait)")
    if z is None or text is None:
        return ""
    return f"epoll_wait is paid per wake-up, not per socket: {text}."


def tokio_story(cells):
    t, c = get(cells, "tokio", 100), get(cells, "tokio-current-thread", 100)
    if not (t and c and t.cpu and c.cpu):
        return ""
    return (f"At 100 clients the multi-thread runtime makes {f2(t.call('futex'))} futex calls and "
            f"{f2(t.cs)} context switches per message against {f2(c.call('futex'))} and {f2(c.cs)} on "
            f"current-thread, and spends {t.cpu / 1000:.2f} µs against {c.cpu / 1000:.2f}: that is "
            f"where its cross-thread wake-ups show.")


def uring_story(cells):
    u, m = get(cells, "uring", 1000), get(cells, "mio", 1000)
    if not (u and m and u.cpu and m.cpu):
        return ""
    mio_calls = sum(m.call(g) or 0 for g in ("read", "write", "epoll_wait"))
    return (f"At 1,000 clients {f2(u.call('io_uring_enter'))} io_uring_enter calls per message stand "
            f"in for mio's {mio_calls:.2f} read, write and epoll_wait calls; what it spends instead "
            f"shows in its CPU split: {u.sys / 1000:.2f} µs of kernel time per message against mio's "
            f"{m.sys / 1000:.2f}, the socket work now done in io_uring's own paths.")


def pool_story(cells):
    p, m = get(cells, "reactor-pool", 1000), get(cells, "mio", 1000)
    if not (p and m and p.cpu and m.cpu):
        return ""
    yield_share = flame_share(p, {"sched_yield", "__do_sys_sched_yield"})
    idle = (f" Most of its {f2(p.call('other'))} \"other\" calls per message are the pool's idle "
            f"threads yielding: {yield_share:.0f}% of its samples are inside sched_yield."
            if yield_share is not None else "")
    return (f"At 1,000 clients the hand-off to the pool costs {f2(p.call('futex'))} futex calls and "
            f"{f2(p.cs)} context switches per message (mio: {f2(m.call('futex'))} and {f2(m.cs)}), "
            f"and {p.cpu / 1000:.2f} µs of CPU against mio's {m.cpu / 1000:.2f}." + idle)


def threads_story(cells):
    z = get(cells, "threads", 1000)
    if z is None:
        return ""
    return (f"At 1,000 clients each message still costs {f2(z.call('read'))} read and "
            f"{f2(z.call('write'))} write calls and {f2(z.cs)} context switches: the scheduler is the "
            f"event loop, and its work is the system time.")


def tpc_story(cells):
    t, m = get(cells, "thread-per-core", 1000), get(cells, "mio", 1000)
    if not (t and m and t.cpu and m.cpu):
        return ""
    return (f"Its system calls per message match mio's ({f2(t.call('total'))} against "
            f"{f2(m.call('total'))} at 1,000 clients), with {f2(t.call('futex'))} futex calls: "
            f"two loops share nothing, and the CPU per message ({t.cpu / 1000:.2f} µs against "
            f"{m.cpu / 1000:.2f}) is the same work spread over two cores.")


def ring_story(model):
    def story(cells):
        z, u = get(cells, model, 1000), get(cells, "uring", 1000)
        if not (z and z.cpu and z.sys):
            return ""
        vs = (f" (the hand-written uring model: {u.cpu / 1000:.2f} µs, {f2(u.call('total'))} calls)"
              if u and u.cpu else "")
        return (f"At 1,000 clients it makes {f2(z.call('total'))} system calls per message, "
                f"{f2(z.call('io_uring_enter'))} of them io_uring_enter, and spends "
                f"{z.cpu / 1000:.2f} µs per message{vs}; {100 * z.sys / z.cpu:.0f}% of that is "
                f"kernel time, the socket work io_uring does on the runtime's behalf.")
    return story


def glommio_story(cells):
    z, m = get(cells, "glommio", 1000), get(cells, "monoio", 1000)
    if not (z and z.cpu):
        return ""
    vs = (f", against monoio's {f2(m.call('total'))} and {m.cpu / 1000:.2f} µs" if m and m.cpu else "")
    return (f"Its optimistic `recv` and its `send` are ordinary system calls, so at 1,000 clients "
            f"it makes {f2(z.call('total'))} calls and spends {z.cpu / 1000:.2f} µs per "
            f"message{vs}: glommio uses its rings to wait, not to move the bytes.")


def smol_story(cells):
    z, t = get(cells, "smol", 1000), get(cells, "tokio", 1000)
    if not (z and z.cpu):
        return ""
    vs = (f"; tokio's multi-thread runtime: {f2(t.call('futex'))} futex calls and "
          f"{t.cpu / 1000:.2f} µs" if t and t.cpu else "")
    return (f"At 1,000 clients the shared reactor and executor cost {f2(z.call('futex'))} futex "
            f"calls, {f2(z.call('epoll_wait'))} epoll_wait calls and {f2(z.cs)} context switches "
            f"per message, and {z.cpu / 1000:.2f} µs of CPU{vs}.")


def may_story(cells):
    z = get(cells, "may", 1000)
    if not (z and z.cpu):
        return ""
    return (f"At 1,000 clients a message costs {f2(z.call('read'))} read and {f2(z.call('write'))} "
            f"write calls like the `threads` model's loop, but {f2(z.call('epoll_wait'))} epoll_wait "
            f"and {f2(z.call('futex'))} futex calls of may's selector and scheduler stand in for "
            f"the kernel's thread switches ({f2(z.cs)} per message).")


STORIES = {
    "poll": [scan_story("poll", {"do_sys_poll"}, "poll")],
    "select": [scan_story("select", {"core_sys_select"}, "select")],
    "mio": [mio_story],
    "tokio": [tokio_story],
    "uring": [uring_story],
    "reactor-pool": [pool_story],
    "threads": [threads_story],
    "thread-per-core": [tpc_story],
    "monoio": [ring_story("monoio")],
    "compio": [ring_story("compio")],
    "glommio": [glommio_story],
    "smol": [smol_story],
    "may": [may_story],
}
