"""The explorer page in a real browser: Debian's chromium, driven through its chromedriver by
Selenium, opens the generated file and a person's clicks do what the spec says.

`make browser` installs chromium and chromium-driver; without them (or without selenium) these
tests skip, saying why. No network is needed: the driver is named explicitly, so Selenium
Manager never runs, and Chromium's background traffic is turned off."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from running import hasm_here as hasm

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ROOT = Path(__file__).parents[2]
SCENARIO = ROOT / "specs" / "scenarios" / "02_critical_service_down.yaml"
SPEC = ROOT / "specs" / "imp-ha.yaml"
FIRST, SECOND = "IMPPub.example.net", "IMPSub.example.net"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
pytestmark = pytest.mark.skipif(
    bool(missing),
    reason=f"{' and '.join(missing)} missing: run 'make browser' as root "
    "(apt-get install chromium chromium-driver)",
)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1400,1800")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], "the page's script reported errors"
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


@pytest.fixture(scope="module")
def explorer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "explorer.html"
    assert hasm("explorer", "--max-states", "3000", "-o", str(out)) == 0
    return out


def text(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def states(driver: WebDriver) -> tuple[str, str]:
    return text(driver, "node0-state"), text(driver, "node1-state")


def click_step(driver: WebDriver, words: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'button[data-words="{words}"]').click()


def marked(driver: WebDriver, side: int) -> list[str]:
    """The state ids the diagram marks for node `side`."""
    found = driver.find_elements(By.CSS_SELECTOR, f"#diagram g.node.hl{side} > title")
    return sorted(str(e.get_attribute("textContent")) for e in found)


def clock(driver: WebDriver) -> float:
    return float(driver.find_element(By.ID, "clock").get_attribute("data-t") or "nan")


def test_a_stopped_service_fails_the_node_over_after_the_delay(
    browser: WebDriver, explorer_file: Path, tmp_path: Path
) -> None:
    browser.get(explorer_file.as_uri())
    assert states(browser) == ("Normal", "Normal")
    assert "Normal" in text(browser, "node0-reason")
    browser.save_screenshot(str(tmp_path / "1-start.png"))

    click_step(browser, f"service_stop presence_engine on {FIRST}")
    assert states(browser) == ("Normal", "Normal")
    timers = text(browser, "timers")
    assert "critical_service_down" in timers and "t=90..90" in timers
    browser.save_screenshot(str(tmp_path / "2-stopped.png"))

    browser.find_element(By.ID, "wait").click()  # to the Critical Service Down Delay's end
    assert clock(browser) == 90
    assert "Time cannot pass" in text(browser, "no-wait")
    click_step(browser, f"timer critical_service_down on {FIRST} fires")
    browser.find_element(By.ID, "wait").click()  # past 90 s
    assert clock(browser) == 91
    assert states(browser) == ("Failing Over", "Taking Over")
    assert text(browser, "node0-reason") == "Critical Service Down"
    assert marked(browser, 0) == ["failing_over"]
    assert marked(browser, 1) == ["taking_over"]
    browser.save_screenshot(str(tmp_path / "3-failing-over.png"))

    # Back twice: before the timer fired, both nodes Normal at t=90.
    browser.find_element(By.ID, "back").click()
    assert clock(browser) == 90
    assert states(browser) == ("Failing Over", "Taking Over")
    browser.find_element(By.ID, "back").click()
    assert states(browser) == ("Normal", "Normal")
    assert clock(browser) == 90
    assert marked(browser, 0) == marked(browser, 1) == ["normal"]
    browser.save_screenshot(str(tmp_path / "4-back.png"))


def test_the_position_is_in_the_url(browser: WebDriver, explorer_file: Path) -> None:
    browser.get(explorer_file.as_uri())
    click_step(browser, f"service_stop presence_engine on {FIRST}")
    browser.find_element(By.ID, "wait").click()
    click_step(browser, f"timer critical_service_down on {FIRST} fires")
    url = str(browser.current_url)
    assert "#a=0&p=" in url  # the default answer to the readings, and the steps from its start
    where = text(browser, "position")

    browser.get("about:blank")
    browser.get(url)  # the shared link reopens the same position, its history with it
    assert text(browser, "position") == where
    assert states(browser) == ("Failing Over", "Taking Over")
    browser.refresh()
    assert states(browser) == ("Failing Over", "Taking Over")
    browser.find_element(By.ID, "back").click()
    assert states(browser) == ("Normal", "Normal")


def renders(driver: WebDriver) -> int:
    """How many times the page has drawn itself (the script counts on #app)."""
    return int(driver.find_element(By.ID, "app").get_attribute("data-renders") or "0")


def redrawn_after(driver: WebDriver, before: int) -> None:
    WebDriverWait(driver, 10).until(lambda d: renders(d) > before)


def opened(driver: WebDriver, url: str) -> None:
    """A fresh load of `url` (not a jump within the page already open), drawn once."""
    driver.get("about:blank")
    driver.get(url)
    WebDriverWait(driver, 10).until(lambda d: renders(d) >= 1)


def answer_of(driver: WebDriver) -> tuple[str, str]:
    """The answer the page shows (its index) and the configuration it started from."""
    position = driver.find_element(By.ID, "position")
    return str(position.get_attribute("data-answer")), str(position.get_attribute("data-start"))


SESSION_READING = "reading-session_ends_with_presence_engine"
STOP = f"service_stop presence_engine on {FIRST}"


def test_an_answer_to_the_readings_restarts_from_its_start_and_is_in_the_url(
    browser: WebDriver, explorer_file: Path, tmp_path: Path
) -> None:
    opened(browser, explorer_file.as_uri())
    readings = text(browser, "readings")
    assert "session_ends_with_presence_engine" in readings
    assert "A-session-outlives-presence-engine" in readings
    assert "How the Critical Service Down Delay counts." in readings
    assert answer_of(browser) == ("0", "0")
    # Under the default answer a user's session outlives its node's Presence Engine.
    click_step(browser, STOP)
    assert text(browser, "node0-active") == "1"

    before = renders(browser)
    Select(browser.find_element(By.ID, SESSION_READING)).select_by_value("yes")
    redrawn_after(browser, before)
    # 3,000 configurations shared by 8 answers: this one's (answer 2) starts at configuration 750.
    assert answer_of(browser) == ("2", "750")
    assert "Configuration 750 of 3000, 0 step(s) from the start" in text(browser, "position")
    assert "session_ends_with_presence_engine yes" in text(browser, "position")
    assert states(browser) == ("Normal", "Normal") and clock(browser) == 0
    url = str(browser.current_url)
    assert url.endswith("#a=2&p=")
    # The same step under this answer ends the session: the client waits to re-login.
    before = renders(browser)
    click_step(browser, STOP)
    redrawn_after(browser, before)
    assert text(browser, "node0-active") == "0"
    assert "re-login of 1 client(s)" in text(browser, "timers")
    browser.save_screenshot(str(tmp_path / "answer-2.png"))

    # A shared link opens the same answer and position; so does a reload.
    shared = str(browser.current_url)
    assert re.search(r"#a=2&p=\d+$", shared), shared
    opened(browser, shared)
    assert answer_of(browser) == ("2", "750")
    assert Select(browser.find_element(By.ID, SESSION_READING)).first_selected_option.text == "yes"
    assert text(browser, "node0-active") == "0"
    before = renders(browser)
    browser.refresh()
    WebDriverWait(browser, 10).until(lambda d: renders(d) >= 1 and answer_of(d) == ("2", "750"))
    assert text(browser, "node0-active") == "0"
    assert not browser.find_elements(By.ID, "answer-note")
    # Back to the default answer: its own start again.
    before = renders(browser)
    Select(browser.find_element(By.ID, SESSION_READING)).select_by_value("no")
    redrawn_after(browser, before)
    assert answer_of(browser) == ("0", "0")
    assert str(browser.current_url).endswith("#a=0&p=")


def test_a_link_to_an_unknown_answer_falls_back_to_the_default_saying_so(
    browser: WebDriver, explorer_file: Path
) -> None:
    opened(browser, explorer_file.as_uri() + "#a=9&p=0")
    assert answer_of(browser) == ("0", "0")
    note = text(browser, "answer-note")
    assert '"9"' in note and "showing the default answer" in note
    assert states(browser) == ("Normal", "Normal") and clock(browser) == 0
    # A step from there is the default answer's, and the note goes.
    before = renders(browser)
    click_step(browser, STOP)
    redrawn_after(browser, before)
    assert re.search(r"#a=0&p=\d+$", str(browser.current_url))
    assert not browser.find_elements(By.ID, "answer-note")


def test_a_trace_shows_which_answers_explain_it_up_to_each_record(
    browser: WebDriver, tmp_path: Path
) -> None:
    trace = tmp_path / "telling.jsonl"
    lines = [
        '{"hasm_trace": 1, "nodes": ["pub", "sub"], "users": {"alice": "pub"}, "initial": "normal"}',
        '{"t": 0, "observe": {"sessions": {"alice": "pub"}}}',
        '{"t": 10, "event": "service_stop", "node": "pub", "service": "presence_engine"}',
        '{"t": 11, "observe": {"sessions": {"alice": "pub"}}}',
        '{"t": 12, "observe": {"sessions": {"alice": null}}}',
    ]
    trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = tmp_path / "telling.html"
    assert hasm("explorer", "--trace", str(trace), "-o", str(page)) == 0
    opened(browser, page.as_uri())
    # Line by line: every answer, every answer after the event, the four where alice's session
    # outlives pub's Presence Engine, then none - the divergence.
    for want in ("0 1 2 3 4 5 6 7", "0 1 2 3 4 5 6 7", "0 1 4 5", ""):
        answers = browser.find_element(By.ID, "record-answers")
        assert answers.get_attribute("data-answers") == want
        if want:
            before = renders(browser)
            browser.find_element(By.ID, "next").click()
            redrawn_after(browser, before)
    assert "No answer to the readings explains the trace" in answers.text
    assert "divergent" in str(browser.find_element(By.ID, "record").get_attribute("class"))


def test_administrator_actions_are_what_the_state_offers(
    browser: WebDriver, explorer_file: Path
) -> None:
    browser.get(explorer_file.as_uri())
    admin = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "button.admin")]
    assert admin == ["ha_disable", f"failover on {FIRST}", f"failover on {SECOND}"]
    click_step(browser, f"failover on {FIRST}")
    assert states(browser) == ("Failing Over", "Taking Over")
    assert "On Admin Request" in text(browser, "node0-reason")
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "button.admin")] == [
        "ha_disable"
    ]


def test_the_edge_of_the_embedded_space_says_how_to_go_on(
    browser: WebDriver, tmp_path: Path
) -> None:
    page = tmp_path / "tiny.html"
    # One configuration for each of the 8 answers to the readings: their starts alone.
    assert hasm("explorer", "--max-states", "8", "-o", str(page)) == 0
    browser.get(page.as_uri())
    unexplored = browser.find_elements(By.CSS_SELECTOR, "button.unexplored")
    assert unexplored
    unexplored[0].click()
    edge = text(browser, "edge")
    assert "Not explored" in edge
    assert f"hasm explorer --initial normal --users 1 --faults 1 --max-states 16 -o {page}" in edge
    browser.save_screenshot(str(tmp_path / "edge.png"))
    browser.find_element(By.ID, "back").click()
    assert states(browser) == ("Normal", "Normal")


def divergent_trace(tmp_path: Path) -> Path:
    good = tmp_path / "run.jsonl"
    assert hasm("simulate", str(SCENARIO), "--trace", str(good), "--quiet") == 0
    bad = tmp_path / "bad.jsonl"
    text_ = good.read_text(encoding="utf-8")
    moved = text_.replace('{"t": 190, "observe"', '{"t": 189.5, "observe"')
    assert moved != text_
    bad.write_text(moved, encoding="utf-8")
    return bad


def test_a_divergent_trace_shows_its_divergence(browser: WebDriver, tmp_path: Path) -> None:
    page = tmp_path / "trace.html"
    assert hasm("explorer", "--trace", str(divergent_trace(tmp_path)), "-o", str(page)) == 0
    browser.get(page.as_uri())
    assert "does not conform: line 4" in text(browser, "verdict")
    divergence = text(browser, "divergence")
    assert "bad.jsonl:4: t=189.500: does not conform: observation" in divergence
    assert f"NOT nodes.{FIRST}.state: observed Failing Over; the spec allows Normal" in divergence
    browser.save_screenshot(str(tmp_path / "trace-start.png"))

    # Scrub: record by record to the divergence, each with what the spec allowed there.
    assert "line 2" in text(browser, "record")
    browser.find_element(By.ID, "next").click()
    assert "line 3" in text(browser, "record")
    assert "service_stop presence_engine" in text(browser, "record")
    browser.find_element(By.ID, "goto-divergence").click()
    record = browser.find_element(By.ID, "record")
    assert "line 4" in record.text and "divergent" in str(record.get_attribute("class"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#fields tr.not")
    assert any(f"nodes.{FIRST}.state" in r.text and "Failing Over" in r.text for r in rows)
    assert marked(browser, 0) == ["normal"]  # what the spec allowed there
    browser.save_screenshot(str(tmp_path / "trace-divergence.png"))
    browser.refresh()
    assert "line 4" in text(browser, "record")


def test_a_verify_counterexample_opens_as_a_trace(browser: WebDriver, tmp_path: Path) -> None:
    # A planted bug: the Critical Service Down Delay runs 30 s short.
    mutant = tmp_path / "mutant.yaml"
    source = SPEC.read_text(encoding="utf-8")
    line = "    duration: critical_service_down_delay_s\n"
    assert line in source
    mutant.write_text(source.replace(line, "    duration: critical_service_down_delay_s - 30\n"))
    out = tmp_path / "cex"
    assert hasm("verify", str(mutant), "--first", "--out", str(out)) == 1
    found = sorted(out.glob("counterexample-*automatic_failover_only_after_delay.jsonl"))
    assert found
    page = tmp_path / "cex.html"
    assert hasm("explorer", "--trace", str(found[0]), "-o", str(page)) == 0
    browser.get(page.as_uri())
    assert "does not conform" in text(browser, "verdict")
    assert "does not conform" in text(browser, "divergence")
    browser.find_element(By.ID, "goto-divergence").click()
    assert "divergent" in str(browser.find_element(By.ID, "record").get_attribute("class"))
    browser.save_screenshot(str(tmp_path / "counterexample.png"))


def test_without_graphviz_the_page_works_and_says_so(
    browser: WebDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hasm.errors import DiagramError  # noqa: PLC0415
    from hasm.page import html  # noqa: PLC0415

    def missing(source: str, fmt: str) -> bytes:
        raise DiagramError("graphviz's 'dot' is missing")

    monkeypatch.setattr(html, "render", missing)
    page = tmp_path / "no-dot.html"
    assert hasm("explorer", "--max-states", "160", "-o", str(page)) == 0
    browser.get(page.as_uri())
    assert "No diagram" in text(browser, "no-diagram")
    click_step(browser, f"failover on {FIRST}")
    assert states(browser) == ("Failing Over", "Taking Over")
    browser.save_screenshot(str(tmp_path / "no-dot.png"))
