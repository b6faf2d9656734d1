"""Both runtimes on a Python that still receives security fixes, installed from the lock files.

The service and the bot run on the interpreter `make setup` found; the images name theirs in
FROM. Each must be a Python whose upstream security support has not ended (the table below,
from python.org's release schedule: "end of life" is the last security release). Each venv
holds exactly what its lock file pins, and the images install with the uv the Makefile pins.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"

# Upstream end of life (the end of security fixes), per minor version.
END_OF_LIFE = {
    (3, 8): dt.date(2024, 10, 7),
    (3, 9): dt.date(2025, 10, 31),
    (3, 10): dt.date(2026, 10, 31),
    (3, 11): dt.date(2027, 10, 31),
    (3, 12): dt.date(2028, 10, 31),
    (3, 13): dt.date(2029, 10, 31),
    (3, 14): dt.date(2030, 10, 31),
}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def supported(version: tuple[int, int], today: dt.date) -> bool:
    """True while ``version`` still receives security fixes; an unknown version is not."""
    eol = END_OF_LIFE.get(version)
    return eol is not None and today <= eol


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(path: Path) -> dict[str, str]:
    return {canonical(n): v for n, v in _PIN.findall(path.read_text())}


def bot_python_version() -> tuple[int, int]:
    if not BOT_PYTHON.exists():
        pytest.skip("the bot venv is not set up (make setup)")
    out = subprocess.run(
        [str(BOT_PYTHON), "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def image_python(dockerfile: str) -> tuple[int, int]:
    match = re.search(
        r"^FROM python:(\d+)\.(\d+)", (ROOT / "docker" / dockerfile).read_text(), re.MULTILINE
    )
    assert match, f"{dockerfile} does not start from an official python image"
    return int(match[1]), int(match[2])


def test_the_table_says_what_supported_means() -> None:
    assert supported((3, 11), dt.date(2026, 12, 5))
    assert not supported((3, 10), dt.date(2026, 12, 5))  # ended 2026-10-31
    assert supported((3, 10), dt.date(2026, 10, 31))
    assert not supported((3, 11), dt.date(2027, 11, 1))
    assert not supported((3, 7), dt.date(2020, 1, 1))  # not in the table: never assumed


def test_the_service_runs_on_a_supported_python() -> None:
    version = sys.version_info[:2]
    assert supported(version, dt.date.today()), f"service on Python {version}: out of support"


def test_the_bot_runs_on_a_supported_python() -> None:
    version = bot_python_version()
    assert supported(version, dt.date.today()), f"bot on Python {version}: out of support"


@pytest.mark.parametrize("dockerfile", ["bot.Dockerfile", "service.Dockerfile"])
def test_the_images_start_from_a_supported_python(dockerfile: str) -> None:
    version = image_python(dockerfile)
    assert supported(version, dt.date.today()), f"{dockerfile} on Python {version}"


def test_the_service_venv_holds_exactly_the_lock() -> None:
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed.pop("dropdesk", None)  # the project itself, installed editable beside the lock
    assert installed == lock_pins(ROOT / "requirements-dev.lock")


def test_the_bot_venv_holds_exactly_the_lock() -> None:
    bot_python_version()  # skips without the venv
    listing = subprocess.run(
        [
            str(BOT_PYTHON),
            "-c",
            "import json, importlib.metadata as m;"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {canonical(n): v for n, v in json.loads(listing).items()}
    assert installed == lock_pins(ROOT / "bot" / "requirements.lock")


def test_the_service_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    runtime, dev = lock_pins(ROOT / "requirements.lock"), lock_pins(ROOT / "requirements-dev.lock")
    assert runtime and {n: dev.get(n) for n in runtime} == runtime
    assert "pytest" in dev and "pytest" not in runtime


def test_every_pin_carries_hashes() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock", "bot/requirements.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().split("\n", 2)[2])
        for entry in entries:
            if _PIN.match(entry):
                assert "--hash=sha256:" in entry, f"{lock}: {entry.splitlines()[0]} has no hash"


def test_the_bot_lock_admits_python_3_11_only_through_the_generated_metadata() -> None:
    uv_toml = (ROOT / "bot" / "uv.toml").read_text()
    assert 'python_version < \\"3.11\\"' not in uv_toml
    assert uv_toml.count('requires-python = ">=3.8,<3.12"') == 2  # rasa and rasa-sdk
    pins = lock_pins(ROOT / "bot" / "requirements.lock")
    assert pins["rasa"] == "3.6.21" and pins["rasa-sdk"] == "3.6.2"
    assert pins["matplotlib"] == "3.7.5"  # bot/overrides.txt: 3.5.3 has no 3.11 wheel


def test_the_widened_metadata_moves_only_the_python_ceiling() -> None:
    from bot.rasa_metadata import widen, widen_requires_python

    assert (
        widen('numpy (>=1.19.2,<1.25.0) ; python_version >= "3.8" and python_version < "3.11"')
        == 'numpy (>=1.19.2,<1.25.0) ; python_version >= "3.8" and python_version < "3.12"'
    )
    assert (
        widen('numpy (==1.22.3) ; python_version == "3.10"')
        == 'numpy (==1.22.3) ; python_version == "3.10"'
    )
    assert widen("aiohttp (>=3.9.0,<3.10)") == "aiohttp (>=3.9.0,<3.10)"
    assert widen_requires_python(">=3.8,<3.11") == ">=3.8,<3.12"


@pytest.mark.parametrize("dockerfile", ["bot.Dockerfile", "service.Dockerfile"])
def test_the_images_install_from_the_locks_with_the_makefiles_uv(dockerfile: str) -> None:
    uv_version = re.search(
        r"^UV_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE
    )
    assert uv_version
    text = (ROOT / "docker" / dockerfile).read_text()
    assert f"uv=={uv_version[1]}" in text
    assert re.search(r"uv pip install --system .*--require-hashes -r \S*requirements\.lock", text)
    assert "requirements.txt" not in text


def test_the_locks_pin_what_we_ask_for() -> None:
    """A direct requirement changed without `make lock` leaves the lock behind: caught here."""
    bot_lock = lock_pins(ROOT / "bot" / "requirements.lock")
    for name, version in _PIN.findall((ROOT / "bot" / "requirements.in").read_text()):
        assert bot_lock.get(canonical(name)) == version, f"{name}=={version}: run make lock"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev_lock = lock_pins(ROOT / "requirements-dev.lock")
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    for requirement in wanted:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert name and canonical(name[0]) in dev_lock, f"{requirement}: run make lock"
