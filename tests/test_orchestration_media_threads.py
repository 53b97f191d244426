"""Cutting is CPU-bound: a run cuts on no more threads than cores, while ``concurrency`` still
lets that many shots be in flight (uploading, submitting, waiting) at once."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aleph_otio import pipeline
from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.pipeline import send
from tests.test_crash_consistency import make_tiny_project

KEY = "test-key-not-secret-media-threads"


def test_cuts_use_at_most_one_thread_per_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_tiny_project(tmp_path / "proj", shots=3)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    real_prepare = send.prepare_shot
    lock = threading.Lock()
    running = 0
    most = 0
    threads: set[str] = set()

    def slow_prepare(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.current_thread().name)
        try:
            time.sleep(0.3)  # long enough for every shot in flight to reach its cut
            return real_prepare(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(send, "prepare_shot", slow_prepare)
    with Emulator(EmulatorConfig(latency=0.2, concurrency=3, api_key=KEY)) as emu:
        settings = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        config = pipeline.RunConfig(
            timeline=project.timeline,
            output=tmp_path / "out.otio",
            work_dir=tmp_path / "work",
            api_settings=settings,
            concurrency=3,
        )

        async def go() -> pipeline.RunSummary:
            async with AlephClient(api_key=KEY, settings=settings) as client:
                return await pipeline.run_pipeline(config, client)

        summary = asyncio.run(go())
    assert summary.exit_code == 0, [(s.name, s.state, s.reason) for s in summary.shots]
    assert most == 2, "three shots in flight, two cores: two cuts at a time"
    assert all(name.startswith("aleph-media") for name in threads), threads
