"""`make bench`, part 2: `hasm check` on a trace of 1,000,000 records against two baselines.

The trace: 100 users, cycles of manual failover, re-logins, fallback, re-logins, sign-outs and
sign-ins, written by the simulator once and repeated with shifted times (each cycle ends where
it started, so the long trace conforms). About half its records are events, half observations.
Baselines on the same file, in the same run: (a) stdlib json.loads of every line and nothing
else; (b) a hand-written `transitions` replay that only follows the two state labels.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from transitions import Machine

from hasm.core.semantics import Model
from hasm.oracle.files import check_file
from hasm.sim.simulator import Simulator
from hasm.spec.loader import load_spec
from hasm.trace.writer import TraceWriter

PUB, SUB = "IMPPub.example.net", "IMPSub.example.net"
CACHE = Path(__file__).resolve().parent / ".cache"


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


def timed(work: str, path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one workload, in a fresh process."""
    code = (
        "import sys, time, resource; sys.path.insert(0, 'bench'); import check_bench as b; "
        "from pathlib import Path; p = Path(sys.argv[1]); t = time.perf_counter(); "
        f"r = b.{work}(p); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    seconds, mib = out.stdout.split()
    return float(seconds), float(mib)


def hasm_check(path: Path) -> None:
    verdict = check_file(load_spec(), path)
    assert verdict.status == "conforms", verdict


def main() -> int:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"trace-{records}.jsonl"
    if not path.exists():
        make_trace(path, records)
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
        print(f"{label:<52} {seconds:>8.2f} {records / seconds:>11,.0f} {mib:>13.0f}")
    ratio = results["hasm_check"] / results["baseline_json"]
    print(f"hasm check / json.loads = {ratio:.2f} (goal <= 1, aim 0.5); peak memory goal < 150 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
