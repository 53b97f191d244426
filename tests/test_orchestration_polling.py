"""Poll schedules that users get by default: against an emulator, results are seen promptly."""

from __future__ import annotations

import pytest

from aleph_otio.config import resolve_api_settings


def _settings(emulator_url: str | None, poll_interval: float | None = None) -> tuple[float, float]:
    settings = resolve_api_settings(
        emulator_url=emulator_url,
        base_url=None,
        ttl=None,
        include_cost=True,
        webhook_url=None,
        upload_endpoint=None,
        safety=None,
        price=0.28,
        poll_interval=poll_interval,
    )
    return settings.poll_interval, settings.poll_max_interval


def test_emulator_results_wait_at_most_a_second_unseen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_API_KEY", "rw-test-key-orchestration")
    assert _settings("http://127.0.0.1:9/v1", 0.25) == (0.25, 1.0)
    # An explicit longer first interval is honoured, not capped below itself.
    assert _settings("http://127.0.0.1:9/v1", 3.0) == (3.0, 3.0)
    # The real service keeps its defaults: tasks take minutes, polls back off to 15 s.
    assert _settings(None) == (2.0, 15.0)
