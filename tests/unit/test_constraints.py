"""constraints.txt pins what setup.cfg asks for, at versions setup.cfg accepts, so `make install` reproduces the
recorded results and a setup.cfg change cannot silently fall outside the pins."""
from __future__ import annotations

import configparser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: '{line}' is not an exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def test_every_requirement_is_pinned_at_a_version_setup_cfg_accepts():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = cfg["options"]["install_requires"].split("\n") + cfg["options.extras_require"]["test"].split("\n")
    requirements = [Requirement(line) for line in (x.strip() for x in lines) if line]
    pins = _pins()
    assert len(requirements) > 10
    for req in requirements:
        pinned = pins.get(canonicalize_name(req.name))
        assert pinned is not None, f"{req.name} is not in constraints.txt"
        assert req.specifier.contains(pinned, prereleases=True), f"{req.name}=={pinned} is outside setup.cfg's {req}"


def test_the_makefile_installs_with_the_constraints():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-c constraints.txt" in makefile and "constraints.txt\n" in makefile.split(".installed:", 1)[1]
