"""`make bench`, part 2: `hasm check` on two shapes of trace of 1,000,000 records.

The long trace: 100 users, cycles of manual failover, re-logins, fallback, re-logins, sign-outs
and sign-ins, written by the simulator once and repeated with shifted times (each cycle ends where
it started, so the long trace conforms). About half its records are events, half observations.
Baselines on the same file, in the same run: (a) stdlib json.loads of every line and nothing
else; (b) a hand-written `transitions` replay that only follows the two state labels.

The short trace: no users, cycles of manual failover and fallback, a monitored service's blip
and a critical service down with its automatic failover, observed as the nodes' states only
(some observations name one node): about 114 bytes a line, the shape of a test that watches
the Presence Redundancy Group page and nothing else. It weighs the per-record cost of the
oracle rather than JSON decoding; timed as the median of five against json.loads.

HASM_BASELINE=/path/to/checkout times `hasm check` of that checkout too (its own
.venv/bin/python, its own `hasm` package), interleaved with this one on the same files, and
prints new / baseline.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from transitions import Machine

from hasm.core.model import Model
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec
from hasm.trace.writer import TraceWriter

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
ROUNDS = 5  # the short trace's timings are the median of this many fresh processes


def _cycle_lines(users: dict[str, str]) -> tuple[str, list[dict[str, object]], float]:
    """One cycle as (header line, records, its length in seconds)."""
    model = Model(load_spec())
    sim = Simulator(model, (PUB, SUB), users, "normal", seed=1)
    out = io.StringIO()
    writer = TraceWriter(out, model, (PUB, SUB), users, "normal", model.params)
    t = 10.0
    for event in ("failover", "fallback"):
        for record in sim.run_until(t):
            writer.record(record)
        writer.record(sim.event(event, node=PUB))
        t += 700.0
    for record in sim.run_until(t):
        writer.record(record)
    for name in users:  # sign-outs and sign-ins: events with an observation each
        t += 1.0
        writer.record(sim.event("logout", user=name))
        writer.record(sim.event("login", user=name))
    header, *lines = out.getvalue().splitlines()
    return header, [json.loads(line) for line in lines], t + 1.0


def make_trace(path: Path, records: int, users: int = 100) -> None:
    homes = {f"user{i:03d}": PUB if i % 2 else SUB for i in range(users)}
    header, cycle, length = _cycle_lines(homes)
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n")
        written, offset = 0, 0.0
        while written < records:
            for record in cycle:
                shifted = dict(record)
                shifted["t"] = round(float(record["t"]) + offset, 3)  # type: ignore[arg-type]
                out.write(json.dumps(shifted, separators=(", ", ": ")) + "\n")
                written += 1
                if written == records:
                    break
            offset += length


# The short cycle: (seconds to wait before it, event, its fields); every one is offered where it
# falls, and the cycle ends with both nodes Normal and every service running, as it began.
SHORT_PLAN: tuple[tuple[float, str, str, str | None], ...] = (
    (10.0, "failover", PUB, None),
    (700.0, "fallback", PUB, None),
    (700.0, "service_stop", PUB, "xcp_router"),
    (30.0, "service_start", PUB, "xcp_router"),  # back within the Critical Service Down Delay
    (300.0, "service_stop", SUB, "presence_engine"),
    (300.0, "service_start", SUB, "presence_engine"),
    (700.0, "fallback", SUB, None),
)
SHORT_AFTER = 700.0  # seconds after the last event: every transition state has ended


def _short_cycle() -> tuple[str, list[dict[str, object]], float]:
    """One short cycle as (header line, records, its length in seconds), from a real run."""
    model = Model(load_spec())
    sim = Simulator(model, (PUB, SUB), {}, "normal", seed=1)
    out = io.StringIO()
    writer = TraceWriter(out, model, (PUB, SUB), {}, "normal", model.params)
    t = 0.0
    for wait, event, node, service in SHORT_PLAN:
        t += wait
        for record in sim.run_until(t):
            writer.record(record)
        writer.record(sim.event(event, node=node, service=service))
    t += SHORT_AFTER
    for record in sim.run_until(t):
        writer.record(record)
    header, *lines = out.getvalue().splitlines()
    return header, [json.loads(line) for line in lines], t


def _partial(observe: dict[str, object], rng: random.Random) -> dict[str, object]:
    """The nodes' states alone; one observation in five names a single node (either), so the
    oracle must keep the other node open. The reasons, counters, sessions and offers go."""
    nodes: dict[str, dict[str, object]] = observe["nodes"]  # type: ignore[assignment]
    states = {node: {"state": seen["state"]} for node, seen in nodes.items()}
    if rng.random() < 0.2:
        del states[rng.choice((PUB, SUB))]
    return {"nodes": states}


def make_short_trace(path: Path, records: int, seed: int = 7) -> None:
    """The short cycle repeated with shifted times, each observation made partial afresh with a
    seeded draw (so the lines vary as a real tester's would, and every run writes the same file)."""
    header, cycle, length = _short_cycle()
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n")
        written, offset = 0, 0.0
        while written < records:
            for record in cycle:
                shifted = dict(record)
                shifted["t"] = round(float(record["t"]) + offset, 3)  # type: ignore[arg-type]
                if "observe" in record:
                    shifted["observe"] = _partial(record["observe"], rng)  # type: ignore[arg-type]
                out.write(json.dumps(shifted, separators=(", ", ": ")) + "\n")
                written += 1
                if written == records:
                    break
            offset += length


def _cached(
    name: str, records: int, make: Callable[[Path, int], None], check_once: bool = False
) -> Path:
    """The cached trace, made if absent (and, if `check_once`, checked to conform as it is made:
    the long trace needs no such check, every timing of it asserts it). Written under a temporary
    name first, so an interrupted run leaves no half trace to be timed later."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}-{records}.jsonl"
    if not path.exists():
        partial = path.with_suffix(".part")
        make(partial, records)
        if check_once:
            check = [sys.executable, "-m", "hasm", "check", str(partial)]
            subprocess.run(check, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        partial.rename(path)
    return path


def lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as f:
        yield from f


def baseline_json(path: Path) -> None:
    loads = json.loads
    for line in lines(path):
        loads(line)


def baseline_transitions(path: Path) -> None:
    """Follow the two state labels with a transitions machine; check observed labels only."""
    spec = load_spec()
    labels = [s.label for s in spec.states.values()]
    states = [f"{a}|{b}" for a in labels for b in labels]
    machine = Machine(states=states, initial=f"{labels[2]}|{labels[2]}", auto_transitions=True)
    mismatches = 0
    it = lines(path)
    header = json.loads(next(it))
    nodes = header["nodes"]
    for line in it:
        record = json.loads(line)
        observe = record.get("observe")
        if observe is None:
            continue
        seen = observe.get("nodes", {})
        pair = f"{seen[nodes[0]]['state']}|{seen[nodes[1]]['state']}"
        if pair != machine.state:
            mismatches += 1
            machine.set_state(pair)
    assert mismatches > 0


# `hasm check` through the package's public API, importing nothing from this file: the same code
# times this checkout and a baseline one, whose bench/ may differ. The modules are imported
# before the clock starts and the spec loaded after, as when this file's own function was timed.
CHECK = (
    "import sys, time, resource; sys.path.insert(0, sys.argv[2]); import hasm; "
    "p = sys.argv[1]; check, load = hasm.check_file, hasm.load_spec; t = time.perf_counter(); "
    "v = check(load(), p); s = time.perf_counter() - t; "
    "assert v.status == 'conforms', v; "
    "print(s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)


def timed(work: str, path: Path, root: Path = ROOT) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one workload, in a fresh process; `hasm_check` runs in the
    checkout `root`, with its own virtual environment's Python."""
    if work == "hasm_check":
        python, code, args = str(root / ".venv" / "bin" / "python"), CHECK, [str(root)]
    else:
        python, args = sys.executable, []
        code = (
            "import sys, time, resource; sys.path.insert(0, 'bench'); import check_bench as b; "
            "from pathlib import Path; p = Path(sys.argv[1]); t = time.perf_counter(); "
            f"r = b.{work}(p); "
            "print(time.perf_counter() - t, "
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
        )
    out = subprocess.run(
        [python, "-c", code, str(path), *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, mib = out.stdout.split()
    return float(seconds), float(mib)


def baseline_checkout() -> Path | None:
    """The checkout named by HASM_BASELINE, if any; refused unless it has its own venv."""
    name = os.environ.get("HASM_BASELINE")
    if not name:
        return None
    root = Path(name).resolve()
    if not (root / ".venv" / "bin" / "python").exists() or not (root / "hasm").is_dir():
        sys.exit(f"HASM_BASELINE={name}: no hasm checkout with a .venv/bin/python there")
    return root


def row(label: str, seconds: float, records: int, mib: float) -> None:
    print(f"{label:<52} {seconds:>8.2f} {records / seconds:>11,.0f} {mib:>13.0f}")


def compare(label: str, new: list[float], base: list[float]) -> None:
    """The side-by-side line: medians of this checkout and the baseline, and their ratio."""
    a, b = statistics.median(new), statistics.median(base)
    print(f"{label}: new {a:.2f} s, baseline {b:.2f} s, new / baseline = {a / b:.2f}")


def long_shape(records: int, baseline: Path | None) -> None:
    """Today's shape, timed once per workload in a fresh process, as its figures always were."""
    path = _cached("trace", records, make_trace)
    size = path.stat().st_size / 2**20
    events = sum(1 for line in lines(path) if '"event"' in line)
    print(f"trace: {records:,} records ({events:,} events), 100 users, {size:.0f} MiB: {path}")
    print(f"{'workload':<52} {'seconds':>8} {'records/s':>11} {'peak RSS MiB':>13}")
    results = {}
    for label, work in (
        ("(a) stdlib json.loads of every line", "baseline_json"),
        ("(b) transitions replay of the two state labels", "baseline_transitions"),
        ("hasm check", "hasm_check"),
    ):
        seconds, mib = timed(work, path)
        results[work] = seconds
        row(label, seconds, records, mib)
    if baseline is not None:
        seconds, mib = timed("hasm_check", path, baseline)
        results["baseline"] = seconds
        row("hasm check, baseline checkout", seconds, records, mib)
    ratio = results["hasm_check"] / results["baseline_json"]
    print(f"hasm check / json.loads = {ratio:.2f} (goal <= 1, aim 0.5); peak memory goal < 150 MB")
    if baseline is not None:
        compare(
            f"hasm check (one run each, baseline {baseline})",
            [results["hasm_check"]],
            [results["baseline"]],
        )


def short_shape(records: int, baseline: Path | None) -> None:
    """The short shape: json.loads, hasm check and the baseline's in turn, five rounds (the
    baseline going first in every other round, so neither gains from the machine's drift)."""
    path = _cached("short", records, make_short_trace, check_once=True)
    size = path.stat().st_size
    with path.open(encoding="utf-8") as f:
        next(f)  # the header is not a record
        body = [len(line) for line in f]
    events = sum(1 for line in lines(path) if '"event"' in line)
    print(
        f"short trace: {records:,} records ({events:,} events), no users, observations of the "
        f"nodes' states only, {size / 2**20:.0f} MiB, {sum(body) / len(body):.1f} bytes a line "
        f"on average: {path}"
    )
    print(f"{'workload':<52} {'seconds':>8} {'records/s':>11} {'peak RSS MiB':>13}")
    runs: dict[str, list[tuple[float, float]]] = {"json": [], "new": [], "base": []}
    for i in range(ROUNDS):
        runs["json"].append(timed("baseline_json", path))
        order = [("new", ROOT), ("base", baseline)] if baseline is not None else [("new", ROOT)]
        for key, root in order if i % 2 == 0 else order[::-1]:
            assert root is not None
            runs[key].append(timed("hasm_check", path, root))
    rows = [("(a) stdlib json.loads of every line", "json"), ("hasm check", "new")]
    if baseline is not None:
        rows.append(("hasm check, baseline checkout", "base"))
    for label, key in rows:
        seconds = statistics.median(s for s, _ in runs[key])
        row(f"{label} (median of {ROUNDS})", seconds, records, max(m for _, m in runs[key]))
    new = [s for s, _ in runs["new"]]
    ratio = statistics.median(new) / statistics.median(s for s, _ in runs["json"])
    print(
        f"short trace: hasm check / json.loads = {ratio:.2f} (medians of {ROUNDS}, json.loads "
        "timed in the same run; goal <= 1); peak RSS is the largest of the runs"
    )
    if baseline is not None:
        compare(
            f"hasm check (medians of {ROUNDS}, interleaved, baseline {baseline})",
            new,
            [s for s, _ in runs["base"]],
        )


def main() -> int:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    baseline = baseline_checkout()
    long_shape(records, baseline)
    print()
    short_shape(records, baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
