"""The OTIO plugin registers the ``aleph_json`` adapter once, from the right file, in every mode.

Each mode runs in a subprocess with a controlled environment:

(a) a checkout: ``OTIO_PLUGIN_MANIFEST_PATH`` + ``OTIO_DISABLE_ENTRYPOINTS_PLUGINS``, repo on
    PYTHONPATH, nothing installed;
(b) ``pip install .`` (a real wheel) into a fresh venv: the entry point finds the manifest
    inside the installed package;
(c) ``pip install -e .`` into a fresh venv: the entry point finds the manifest at the root of
    the source tree.

The fresh venvs reuse this interpreter's dependencies through a ``.pth`` line (no network, no
rebuild of OTIO); a ``.pth`` line does not run the ``.pth`` files of the folder it adds, so the
editable install of the test environment stays invisible, and its dist-info (same project name)
comes later on sys.path than the fresh one, which importlib.metadata then prefers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import opentimelineio as otio
import aleph_otio
names = otio.adapters.available_adapter_names()
adapter = otio.adapters.from_filepath("cut.aleph.json")
manifest = otio.plugins.ActiveManifest()
linker = otio.media_linker.from_name("aleph_linker")
print(json.dumps({
    "linkers": otio.media_linker.available_media_linker_names(),
    "linker_file": linker.module().__file__,
    "linker_callable": callable(getattr(linker.module(), "link_media_reference", None)),
    "names": names,
    "adapter": adapter.name,
    "adapter_file": adapter.module().__file__,
    "package": aleph_otio.__file__,
    "json_adapters": [a.name for a in manifest.adapters if "json" in a.suffixes],
    "read": adapter.has_feature("read"),
    "write": adapter.has_feature("write"),
}))
"""


@pytest.fixture(scope="module")
def sample_project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project, made once per session (read-only: copy it before changing it)."""
    from aleph_otio.sample import make_sample_project

    folder = tmp_path_factory.getbasetemp() / "aleph-sample-shared"
    if not (folder / "sample.otio").is_file():
        make_sample_project(folder)
    return folder


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OTIO_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env.update(extra)
    return env


def _run(args: list[str], *, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def _probe(python: Path, *, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = _run([str(python), "-c", PROBE], env=env, cwd=cwd)
    # OTIO only *logs* plugin load failures; any of these means the plugin half-loaded.
    assert "Traceback" not in result.stderr, result.stderr
    assert "could not load plugin" not in result.stderr, result.stderr
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _bare_venv(where: Path) -> Path:
    """A venv with no aleph-otio, seeing this interpreter's installed dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_aleph_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _copy_project(dest: Path) -> Path:
    """The files a build needs, copied so that pip never writes into the working tree."""
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("aleph_otio", "adapters"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "plugin_manifest.json"):
        shutil.copy2(REPO / name, dest / name)
    return dest


def _pip_install(python: Path, *args: str) -> None:
    # Reusing this environment's hatchling is fast and offline; a CI venv made by a plain
    # `pip install -e .` may lack it, and then pip fetches the build backend itself.
    have_backend = all(
        importlib.util.find_spec(name) is not None for name in ("hatchling", "editables")
    )
    build = ["--no-build-isolation", "--no-index"] if have_backend else []
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         *build, *args],
        check=True,
        env=_env(PIP_DISABLE_PIP_VERSION_CHECK="1"),
        capture_output=True,
        text=True,
    )  # fmt: skip


def _assert_registered_once(data: dict[str, Any], adapter_file: Path) -> None:
    assert data["names"].count("aleph_json") == 1, data["names"]
    assert data["linkers"].count("aleph_linker") == 1, data["linkers"]
    linker_file = adapter_file.with_name("aleph_linker.py")
    assert Path(data["linker_file"]).resolve() == linker_file.resolve()
    assert data["linker_callable"]
    assert data["adapter"] == "aleph_json"
    assert data["json_adapters"] == ["aleph_json"], "another adapter also claims .json"
    assert Path(data["adapter_file"]).resolve() == adapter_file.resolve()
    assert data["read"] and data["write"]


def test_suffix_json_resolves_to_aleph_json_in_this_environment() -> None:
    adapter = otio.adapters.from_filepath("reel 1/cut.aleph.json")
    assert adapter.name == "aleph_json"
    claiming = [a.name for a in otio.plugins.ActiveManifest().adapters if "json" in a.suffixes]
    assert claiming == ["aleph_json"]


def test_manifest_lists_only_files_that_exist() -> None:
    manifest = json.loads((REPO / "plugin_manifest.json").read_text())
    for kind in ("adapters", "media_linkers", "hook_scripts"):
        for plugin in manifest.get(kind, []):
            assert (REPO / plugin["filepath"]).is_file(), plugin


def test_checkout_mode_env_manifest(tmp_path: Path) -> None:
    python = _bare_venv(tmp_path / "bare")
    env = _env(
        OTIO_PLUGIN_MANIFEST_PATH=str(REPO / "plugin_manifest.json"),
        OTIO_DISABLE_ENTRYPOINTS_PLUGINS="1",
        PYTHONPATH=str(REPO),
    )
    data = _probe(python, env=env, cwd=tmp_path)
    _assert_registered_once(data, REPO / "adapters" / "aleph_json.py")
    assert Path(data["package"]).resolve() == REPO / "aleph_otio" / "__init__.py"


def test_checkout_without_manifest_path_has_no_adapter(tmp_path: Path) -> None:
    """The control: with entry points off and no manifest path, nothing registers it."""
    python = _bare_venv(tmp_path / "bare")
    env = _env(OTIO_DISABLE_ENTRYPOINTS_PLUGINS="1", PYTHONPATH=str(REPO))
    code = (
        "import opentimelineio as otio; print(otio.adapters.available_adapter_names(), "
        "otio.media_linker.available_media_linker_names())"
    )
    result = _run([str(python), "-c", code], env=env, cwd=tmp_path)
    assert "aleph_json" not in result.stdout and "aleph_linker" not in result.stdout


@pytest.mark.slow
def test_wheel_install_entry_point(tmp_path: Path, sample_project_dir: Path) -> None:
    project = _copy_project(tmp_path / "src")
    python = _bare_venv(tmp_path / "venv")
    _pip_install(python, str(project))
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            env=_env(),
            cwd=tmp_path,
        ).stdout.strip()
    )
    data = _probe(python, env=_env(), cwd=tmp_path)
    _assert_registered_once(data, site / "aleph_otio" / "adapters" / "aleph_json.py")
    assert Path(data["package"]).resolve() == (site / "aleph_otio" / "__init__.py").resolve()

    # The README's main command, from the installed console script.
    readme = tmp_path / "readme"
    readme.mkdir()
    main = _run([str(python.parent / "aleph-otio"), "plan", "--sample"], env=_env(), cwd=readme)
    assert (readme / "aleph-sample" / "sample.otio").is_file()
    assert "3 shot(s)" in main.stdout

    info = _run(
        [str(python), "-m", "opentimelineio.console.otiopluginfo"], env=_env(), cwd=tmp_path
    )
    assert "aleph_json" in info.stdout and "aleph_linker" in info.stdout
    assert "Traceback" not in info.stderr + info.stdout
    assert "could not load plugin" not in info.stderr

    # otioconvert plans the sample edit and writes the batch manifest, then reads it back.
    work = tmp_path / "work"
    shutil.copytree(sample_project_dir, work)
    _run(
        [str(python), "-m", "opentimelineio.console.otioconvert",
         "-i", "sample.otio", "-o", "cut.aleph.json"],
        env=_env(),
        cwd=work,
    )  # fmt: skip
    batch = json.loads((work / "cut.aleph.json").read_text())
    assert batch["format"] == "aleph-otio.batch"
    assert batch["errors"] == []
    prompts = sorted(s["prompt"] for s in batch["shots"])
    assert prompts == ["relight to dusk", "remove the boom mic", "swap the can for a bottle"]
    assert all(s["task"]["model"] == "runway:aleph@2.0" for s in batch["shots"])
    _run(
        [str(python), "-m", "opentimelineio.console.otioconvert",
         "-i", "cut.aleph.json", "-o", "back.otio"],
        env=_env(),
        cwd=work,
    )  # fmt: skip
    back = otio.adapters.read_from_file(str(work / "back.otio"))
    assert len(list(back.find_clips())) == 4  # the boom-mic shot spans the C/D cut
    assert sorted(m.name for m in back.tracks[0].markers) == [
        "aleph: relight to dusk",
        "aleph: remove the boom mic",
        "aleph: swap the can for a bottle",
    ]


@pytest.mark.slow
def test_editable_install_entry_point(tmp_path: Path) -> None:
    project = _copy_project(tmp_path / "src")
    python = _bare_venv(tmp_path / "venv")
    _pip_install(python, "-e", str(project))
    data = _probe(python, env=_env(), cwd=tmp_path)
    # The editable install runs the source tree: adapters from its root, not stale copies.
    _assert_registered_once(data, project / "adapters" / "aleph_json.py")
    assert Path(data["package"]).resolve() == (project / "aleph_otio" / "__init__.py").resolve()
