"""Parameter values for a run: defaults, overrides, types, ranges and timer windows."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hasm.errors import InputError, ParameterError, Problem
from hasm.spec.model import Spec
from hasm.spec.params import evaluate, parameter_warnings, resolve_params


def problems_of(spec: Spec, overrides: Mapping[str, object], **kwargs: object) -> list[Problem]:
    with pytest.raises(ParameterError) as caught:
        resolve_params(spec, overrides, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def window_params(spec: Spec) -> set[str]:
    """Seconds parameters that take part in a timer window with another term."""
    out: set[str] = set()
    for timer in spec.timers.values():
        d = timer.duration
        if not (d.exact and len(d.min.terms) == 1):
            out |= {*d.min.params, *d.max.params}
    return out


def free_seconds(spec: Spec) -> list[str]:
    related = window_params(spec)
    return [n for n, p in spec.parameters.items() if p.type == "seconds" and n not in related]


# -- defaults and overrides ----------------------------------------------------------------------
def test_defaults_come_back(canonical_spec: Spec) -> None:
    values = resolve_params(canonical_spec)
    assert values == dict(canonical_spec.defaults)
    assert values == {name: p.default for name, p in canonical_spec.parameters.items()}
    assert resolve_params(canonical_spec, {}) == values
    assert values["keep_alive_timeout_s"] == 60
    assert values["enable_automatic_fallback"] is False


def test_the_result_is_a_fresh_dict(canonical_spec: Spec) -> None:
    values = resolve_params(canonical_spec)
    values["keep_alive_timeout_s"] = 1.0
    assert canonical_spec.defaults["keep_alive_timeout_s"] == 60
    assert resolve_params(canonical_spec)["keep_alive_timeout_s"] == 60


def test_an_override_in_range_is_applied_as_float(canonical_spec: Spec) -> None:
    values = resolve_params(canonical_spec, {"keep_alive_timeout_s": 90})
    assert values["keep_alive_timeout_s"] == 90.0
    assert type(values["keep_alive_timeout_s"]) is float
    others = {k: v for k, v in values.items() if k != "keep_alive_timeout_s"}
    assert others == {
        k: v for k, v in canonical_spec.defaults.items() if k != "keep_alive_timeout_s"
    }
    assert canonical_spec.defaults["keep_alive_timeout_s"] == 60  # the spec is untouched
    assert (
        resolve_params(canonical_spec, {"keep_alive_timeout_s": 90.5})["keep_alive_timeout_s"]
        == 90.5
    )


def test_a_boolean_override(canonical_spec: Spec) -> None:
    values = resolve_params(canonical_spec, {"enable_automatic_fallback": True})
    assert values["enable_automatic_fallback"] is True


@pytest.mark.parametrize("end", [0, 1])
def test_range_ends_are_allowed(canonical_spec: Spec, end: int) -> None:
    for name in free_seconds(canonical_spec):
        bound = canonical_spec.parameters[name].range
        assert bound is not None
        assert resolve_params(canonical_spec, {name: bound[end]})[name] == bound[end]


def test_seconds_defaults_are_floats(canonical_spec: Spec) -> None:
    for name, param in canonical_spec.parameters.items():
        if param.type == "seconds":
            assert type(resolve_params(canonical_spec)[name]) is float, name


# -- bad overrides -------------------------------------------------------------------------------
def test_an_unknown_name_suggests_the_close_one(canonical_spec: Spec) -> None:
    [problem] = problems_of(canonical_spec, {"keep_alive_timout_s": 5})
    assert problem.path == "params.keep_alive_timout_s"
    assert problem.message == "unknown parameter 'keep_alive_timout_s'"
    assert problem.fix == "did you mean 'keep_alive_timeout_s'?"


def test_an_unknown_name_with_nothing_close_lists_the_known(canonical_spec: Spec) -> None:
    [problem] = problems_of(canonical_spec, {"zzz": 5})
    assert problem.fix == "known: " + ", ".join(canonical_spec.parameters)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("keep_alive_timeout_s", 0, "0 s is outside the range [1, 3600]"),
        ("keep_alive_timeout_s", 3601, "3601 s is outside the range [1, 3600]"),
        ("keep_alive_timeout_s", -1, "-1 s is outside the range [1, 3600]"),
        ("automatic_fallback_delay_s", 86400.5, "86400.5 s is outside the range [1, 86400]"),
        ("keep_alive_timeout_s", math.nan, "expected a finite number of seconds, got nan"),
        ("keep_alive_timeout_s", math.inf, "expected a finite number of seconds, got inf"),
        ("keep_alive_timeout_s", -math.inf, "expected a finite number of seconds, got -inf"),
        ("keep_alive_timeout_s", True, "expected a finite number of seconds, got True"),
        ("keep_alive_timeout_s", "90", "expected a finite number of seconds, got '90'"),
        ("keep_alive_timeout_s", None, "expected a finite number of seconds, got None"),
        ("enable_automatic_fallback", 1, "expected true or false, got 1"),
        ("enable_automatic_fallback", 0.0, "expected true or false, got 0.0"),
        ("enable_automatic_fallback", "true", "expected true or false, got 'true'"),
    ],
)
def test_a_bad_value_names_the_parameter(
    canonical_spec: Spec, name: str, value: object, message: str
) -> None:
    [problem] = problems_of(canonical_spec, {name: value})
    assert problem.path == f"params.{name}"
    assert problem.message == message
    assert f"params.{name}: {message}" in str(problem)


def test_a_range_problem_says_the_fix(canonical_spec: Spec) -> None:
    [problem] = problems_of(canonical_spec, {"keep_alive_timeout_s": 0})
    assert problem.fix == "use a value in [1, 3600]"


def test_parameter_error_is_an_input_error(canonical_spec: Spec) -> None:
    with pytest.raises(InputError):
        resolve_params(canonical_spec, {"zzz": 1})


def test_problems_are_located_where_the_overrides_were(canonical_spec: Spec) -> None:
    [problem] = problems_of(
        canonical_spec,
        {"keep_alive_timeout_s": 0},
        file="scenario.yaml",
        lines={"keep_alive_timeout_s": 7},
        path="scenario.params",
    )
    assert (problem.file, problem.line) == ("scenario.yaml", 7)
    assert str(problem).startswith("scenario.yaml:7: scenario.params.keep_alive_timeout_s: 0 s is")


def test_problems_without_a_line_name_the_file(canonical_spec: Spec) -> None:
    [problem] = problems_of(canonical_spec, {"zzz": 1})
    assert (problem.file, problem.line) == ("(parameters)", None)
    assert str(problem).startswith("(parameters): params.zzz: unknown parameter 'zzz'")


def test_several_bad_overrides_are_all_reported(canonical_spec: Spec) -> None:
    problems = problems_of(
        canonical_spec,
        {
            "kep_alive_interval_s": 1,
            "keep_alive_timeout_s": 0,
            "enable_automatic_fallback": "yes",
            "transition_max_s": math.nan,
            "transition_min_s": 5,  # fine
        },
        lines={"kep_alive_interval_s": 2, "transition_max_s": 5},
    )
    assert [(p.path, p.line) for p in problems] == [
        ("params.kep_alive_interval_s", 2),
        ("params.keep_alive_timeout_s", None),
        ("params.enable_automatic_fallback", None),
        ("params.transition_max_s", 5),
    ]


def test_an_integer_too_large_for_a_float_is_a_parameter_error(canonical_spec: Spec) -> None:
    [problem] = problems_of(canonical_spec, {"keep_alive_timeout_s": 10**400})
    assert problem.path == "params.keep_alive_timeout_s"


# -- timer windows -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "timers", "shown"),
    [
        (
            {"keep_alive_interval_s": 100, "keep_alive_timeout_s": 60},
            ["heartbeat_loss"],
            "= [-40, 160] s, which is impossible (keep_alive_interval_s = 100, "
            "keep_alive_timeout_s = 60)",
        ),
        (
            {"client_relogin_lower_limit_s": 600, "client_relogin_upper_limit_s": 100},
            ["client_relogin"],
            "= [600, 100] s, which is impossible (client_relogin_lower_limit_s = 600, "
            "client_relogin_upper_limit_s = 100)",
        ),
        ({"transition_min_s": 61}, ["initialization", "user_move"], "= [61, 60] s"),
        (
            {"initialization_keep_alive_timeout_s": 10},
            ["initialization_heartbeat_loss"],
            "= [-5, 25] s",
        ),
    ],
)
def test_an_impossible_timer_window_names_the_timer(
    canonical_spec: Spec, overrides: dict[str, object], timers: list[str], shown: str
) -> None:
    problems = problems_of(canonical_spec, overrides)
    assert [p.message.split("'")[1] for p in problems] == timers
    for problem in problems:
        assert problem.path == "params"
        assert shown in problem.message
        assert problem.fix == "choose values that make the window non-negative with min <= max"


@pytest.mark.parametrize(
    "overrides",
    [
        {"keep_alive_interval_s": 60, "keep_alive_timeout_s": 60},  # window [0, 120]
        {"client_relogin_lower_limit_s": 300, "client_relogin_upper_limit_s": 300},
        {"transition_min_s": 0, "transition_max_s": 0},
    ],
)
def test_a_window_may_start_at_zero_or_be_exact(
    canonical_spec: Spec, overrides: dict[str, float]
) -> None:
    values = resolve_params(canonical_spec, overrides)
    assert all(values[k] == v for k, v in overrides.items())


def test_evaluate(canonical_spec: Spec) -> None:
    heartbeat = canonical_spec.timers["heartbeat_loss"].duration
    values = resolve_params(canonical_spec, {"keep_alive_interval_s": 20})
    assert (evaluate(heartbeat.min, values), evaluate(heartbeat.max, values)) == (40.0, 80.0)


# -- properties ----------------------------------------------------------------------------------
def test_some_seconds_parameters_are_free(canonical_spec: Spec) -> None:
    assert "critical_service_down_delay_s" in free_seconds(canonical_spec)
    assert "keep_alive_interval_s" not in free_seconds(canonical_spec)


@settings(max_examples=examples(60))
@given(data=st.data())
def test_any_in_range_value_of_a_free_parameter_round_trips(
    canonical_spec: Spec, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(free_seconds(canonical_spec)), label="name")
    bound = canonical_spec.parameters[name].range
    assert bound is not None
    low, high = bound
    value = data.draw(
        st.floats(low, high, allow_nan=False) | st.integers(math.ceil(low), math.floor(high)),
        label="value",
    )
    values = resolve_params(canonical_spec, {name: value})
    assert values[name] == float(value)
    assert type(values[name]) is float
    assert {k: v for k, v in values.items() if k != name} == {
        k: v for k, v in canonical_spec.defaults.items() if k != name
    }


@settings(max_examples=examples(60))
@given(interval=st.integers(1, 300), timeout=st.integers(1, 3600))
def test_heartbeat_windows_are_possible_exactly_when_interval_fits(
    canonical_spec: Spec, interval: int, timeout: int
) -> None:
    init_timeout = canonical_spec.defaults["initialization_keep_alive_timeout_s"]
    overrides = {"keep_alive_interval_s": interval, "keep_alive_timeout_s": timeout}
    expected = [
        timer
        for timer, limit in (
            ("heartbeat_loss", timeout),
            ("initialization_heartbeat_loss", init_timeout),
        )
        if interval > limit
    ]
    if not expected:
        values = resolve_params(canonical_spec, overrides)
        assert (values["keep_alive_interval_s"], values["keep_alive_timeout_s"]) == (
            interval,
            timeout,
        )
        return
    problems = problems_of(canonical_spec, overrides)
    assert [p.message.split("'")[1] for p in problems] == expected


# -- the vendor's advice (S3): warnings, never errors ---------------------------------------------
def test_the_defaults_follow_s3(canonical_spec: Spec) -> None:
    assert parameter_warnings(canonical_spec, resolve_params(canonical_spec)) == []


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        ({"client_relogin_lower_limit_s": 89}, True),
        ({"client_relogin_lower_limit_s": 90}, False),  # at the delay: what S3's step 5 asks
        # "If the Critical Service Down Delay is changed then the lower limit must also change"
        ({"critical_service_down_delay_s": 150}, True),
        ({"critical_service_down_delay_s": 150, "client_relogin_lower_limit_s": 150}, False),
    ],
)
def test_a_lower_limit_below_the_critical_service_down_delay_is_a_warning(
    canonical_spec: Spec, overrides: dict[str, float], warned: bool
) -> None:
    values = resolve_params(canonical_spec, overrides)  # allowed: no ParameterError
    warnings = parameter_warnings(canonical_spec, values)
    assert len(warnings) == warned
    if warned:
        lower, delay = (
            values["client_relogin_lower_limit_s"],
            values["critical_service_down_delay_s"],
        )
        assert warnings[0].startswith(
            f"client_relogin_lower_limit_s = {lower:g} s is below "
            f"critical_service_down_delay_s = {delay:g} s; S3: "
        )
        assert "If the Critical Service Down Delay is changed" in warnings[0]
