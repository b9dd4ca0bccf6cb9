"""The spec's vocabularies: the CLI's and RTMT's words for the page's states, read by the trace
reader through the header key `vocabulary` and matched by the oracle against a set of states."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from hasm.core.model import Model
from hasm.core.semantics import initial_config
from hasm.core.views import node_views
from hasm.errors import SpecError, TraceError
from hasm.oracle.files import check_file
from hasm.oracle.observing import node_matches
from hasm.spec.loader import build_spec, canonical_spec_path
from hasm.spec.model import Spec
from hasm.spec.schemas import load_schema
from hasm.trace.reader import read_trace
from hasm.trace.records import HeaderLine, NodeObservation, encode_line

A, B = "imp1.example.net", "imp2.example.net"


def _trace(vocabulary: str | None, *states: tuple[str, str], initial: str = "normal") -> str:
    header = HeaderLine([A, B], {}, initial, vocabulary=vocabulary).json()
    lines = [encode_line(header)]
    for t, (a, b) in enumerate(states, start=1):
        lines.append(
            encode_line({"t": t, "observe": {"nodes": {A: {"state": a}, B: {"state": b}}}})
        )
    return "\n".join(lines) + "\n"


def _observed(spec: Spec, text: str) -> list[NodeObservation]:
    _, records = read_trace(io.StringIO(text), spec, name="t.jsonl")
    out = []
    for record in records:
        nodes = getattr(record, "nodes", {})
        out.extend(nodes[n] for n in (A, B) if n in nodes)
    return out


def test_the_canonical_spec_has_the_cli_and_rtmt_vocabularies(spec: Spec) -> None:
    cli, rtmt = spec.vocabularies["cli"], spec.vocabularies["rtmt"]
    assert {t.term: t.states for t in cli.terms.values()} == {
        "Failover": ("failing_over",),
        "Failed": ("failed",),
    }
    assert rtmt.codes[0] == "Unknown" and rtmt.codes[3] == "Active Normal"
    assert rtmt.codes[9] == "Failed Over Affected Service" and rtmt.codes[12] == "Down State"
    assert len(rtmt.codes) == 13  # domain.md section 1b: 0 Unknown ... 12 Down State
    assert rtmt.terms["Backup Activated"].states == ("backup", "backup_activated")
    assert rtmt.terms["Failed Over Affected Service"].states == (
        "failed_over_csnr",
        "failover_affected",
    )
    assert rtmt.terms["Down State"].states == ("unknown",)
    for vocabulary in (cli, rtmt):
        for term in vocabulary.terms.values():
            assert term.assumption in spec.assumptions and term.assumption.startswith("A-vocab-")


def test_every_rtmt_code_reads_as_a_state(spec: Spec) -> None:
    terms = spec.state_terms("rtmt")
    for code in spec.vocabularies["rtmt"].codes:
        assert code in terms, code


def test_a_vocabulary_reads_its_terms_first_and_the_pages_labels_too(spec: Spec) -> None:
    rtmt = _observed(spec, _trace("rtmt", ("Backup Activated", "Active Normal")))
    assert rtmt[0].state == "backup" and rtmt[0].states == frozenset({"backup", "backup_activated"})
    assert (rtmt[1].state, rtmt[1].states) == ("normal", None)
    page = _observed(spec, _trace(None, ("Backup Activated", "Normal")))
    assert (page[0].state, page[0].states) == ("backup_activated", None)
    cli = _observed(spec, _trace("cli", ("Taking Over", "failover")))
    assert (cli[0].state, cli[1].state) == ("taking_over", "failing_over")


def test_a_page_alias_is_not_a_word_of_another_vocabulary(spec: Spec) -> None:
    with pytest.raises(
        TraceError,
        match=r"t.jsonl:2: observe.nodes.imp1.example.net.state: unknown state 'Backup Mode'",
    ):
        _observed(spec, _trace("cli", ("Backup Mode", "Normal")))


def test_an_unknown_vocabulary_is_a_located_input_error(spec: Spec) -> None:
    with pytest.raises(TraceError) as caught:
        _observed(spec, _trace("rmt", ("Normal", "Normal")))
    assert str(caught.value) == (
        "t.jsonl:1: vocabulary: unknown vocabulary 'rmt' (fix: did you mean 'rtmt'?)"
    )
    with pytest.raises(TraceError, match="vocabulary: unknown vocabulary 3"):
        _observed(spec, _trace(3, ("Normal", "Normal")))  # type: ignore[arg-type]


def test_an_ambiguous_term_matches_each_of_its_states(spec: Spec) -> None:
    model = Model(spec)
    view = node_views(model, initial_config(model, "normal", (0, 0)))[0]
    assert view.state == "normal"
    assert node_matches(
        view, NodeObservation("backup", None, None, None, frozenset({"backup", "normal"}))
    )
    assert not node_matches(
        view, NodeObservation("backup", None, None, None, frozenset({"backup"}))
    )
    assert not node_matches(view, NodeObservation("backup", None, None, None))


def test_the_oracle_checks_a_trace_in_rtmt_words(spec: Spec, tmp_path: Path) -> None:
    path = tmp_path / "rtmt.jsonl"
    path.write_text(_trace("rtmt", ("Active Normal", "Active Normal")), encoding="utf-8")
    assert check_file(spec, path).status == "conforms"
    path.write_text(_trace("rtmt", ("Backup Activated", "Active Normal")), encoding="utf-8")
    verdict = check_file(spec, path)
    assert verdict.status == "diverges"  # a Normal group shows neither backup state at t=1
    # The report shows every state the word may mean, not the first.
    assert verdict.divergence is not None
    (field,) = [f for f in verdict.divergence.fields if not f.conforms]
    assert field.observed == "Backup Activated or Running in Backup Mode"
    assert field.means == ("Backup Activated", "Running in Backup Mode")
    assert verdict.divergence.to_json()["fields"][0]["means"] == list(field.means)


def _spec_with(old: str, new: str) -> str:
    text = canonical_spec_path().read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "Failover: {states: [failing_over]",
            "Failover: {states: [failing_ovr]",
            "vocabularies.cli.terms.Failover.states[0]: unknown state 'failing_ovr'",
        ),
        (
            "Failed Over Affected Service, Falling Back",
            "Failed Over Afected Service, Falling Back",
            "vocabularies.rtmt.codes[9]: code 9 'Failed Over Afected Service' is neither a term",
        ),
        (
            "Failed: {states: [failed], source: S5, assumption: A-vocab-failed}",
            "Failed: {states: [failed], source: S5, assumption: A-vocab-faild}",
            "vocabularies.cli.terms.Failed.assumption: unknown assumption 'A-vocab-faild'",
        ),
        (
            "Failed: {states: [failed], source: S5, assumption: A-vocab-failed}",
            "Failed: {states: [failed], source: S5}\n      FAILED: {states: [failed]}",
            "vocabularies.cli.terms.FAILED: term 'FAILED' is also written 'Failed'",
        ),
        ("  cli:\n    source: S5\n", "  page:\n    source: S5\n", "vocabularies"),
    ],
)
def test_a_broken_vocabulary_is_a_located_spec_error(old: str, new: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        build_spec("spec.yaml", _spec_with(old, new))
    assert message in str(caught.value)
    assert all(p.line is not None for p in caught.value.problems)


def test_the_vocabulary_key_is_written_only_when_given() -> None:
    assert "vocabulary" not in HeaderLine(["a", "b"], {}, "normal").json()
    assert (
        json.loads(encode_line(HeaderLine(["a", "b"], {}, "normal", vocabulary="cli").json()))[
            "vocabulary"
        ]
        == "cli"
    )


def test_the_trace_schema_takes_the_vocabulary_key() -> None:
    validator = jsonschema.Draft202012Validator(load_schema("trace"))
    header = HeaderLine([A, B], {}, "normal", vocabulary="rtmt").json()
    assert list(validator.iter_errors(header)) == []
    assert list(validator.iter_errors({**header, "vocabulary": ""}))
