"""``--soak-minutes N`` (tests/conftest.py): the soak runs when asked, and for as long as asked.

The suite's own limit (``timeout = 120`` in pyproject.toml, pytest-timeout) ends any test that
hangs; a soak of more than a minute or so must not be ended by it as though it hung.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, List, Optional

import pytest
from conftest import SOAK_SLACK, pytest_collection_modifyitems


class _Config:
    def __init__(self, minutes: Optional[float]) -> None:
        self.minutes = minutes

    def getoption(self, name: str) -> Any:
        assert name == "--soak-minutes"
        return self.minutes


class _Item:
    def __init__(self, *markers: str) -> None:
        self.markers: List[pytest.Mark] = [getattr(pytest.mark, name).mark for name in markers]

    def get_closest_marker(self, name: str) -> Optional[pytest.Mark]:
        found = [mark for mark in self.markers if mark.name == name]
        return found[-1] if found else None

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.mark)


@pytest.mark.parametrize("minutes", [1.0, 15.0, 60.0])
def test_the_soak_gets_a_time_limit_of_its_minutes_and_the_usual_slack(minutes: float) -> None:
    soak, other = _Item("soak"), _Item()
    pytest_collection_modifyitems(_Config(minutes), [soak, other])  # type: ignore[arg-type]
    limit = soak.get_closest_marker("timeout")
    assert limit is not None and limit.args == (minutes * 60 + SOAK_SLACK,)
    assert other.markers == []  # every other test keeps the suite's limit
    assert soak.get_closest_marker("skip") is None


def test_without_the_option_the_soak_is_skipped_and_gets_no_limit_of_its_own() -> None:
    soak = _Item("soak")
    pytest_collection_modifyitems(_Config(None), [soak])  # type: ignore[arg-type]
    assert soak.get_closest_marker("skip") is not None
    assert soak.get_closest_marker("timeout") is None


def test_pytest_timeout_takes_the_added_limit_over_the_suites(tmp_path: Path) -> None:
    # What the rule relies on, in a real run: a "soak" test that outlasts the suite's limit
    # (0.3 s here) passes when the collection hook gives it a limit of its own (2 s).
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def pytest_collection_modifyitems(config, items):
                for item in items:
                    if item.get_closest_marker("soak") is not None:
                        item.add_marker(pytest.mark.timeout(2.0))
            """
        )
    )
    (tmp_path / "test_long.py").write_text(
        textwrap.dedent(
            """
            import threading
            import pytest

            @pytest.mark.soak
            def test_long():
                threading.Event().wait(0.6)
            """
        )
    )
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\ntimeout = 0.3\nmarkers =\n    soak: long\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert "1 passed" in run.stdout
