"""The corpus of invalid metadata: every case must be reported exactly, at the right place.

Two layouts (see tests/metadata/README.md):

* loose documents, ``invalid/<kind folder>/<case>.yaml``, validated on their own. The expected
  problems are comment lines at the top::

      # expect: 12:7: unknown property 'colr'

  (line:column: a substring of the message; `` ... `` between parts skips any text, so
  ``'x' is not one of: ... (did you mean 'y'?)`` matches both ends of a long message, and a
  final ``$`` says the message ends there). A file that cannot hold comments (JSON, an
  empty file) puts the same ``LINE:COL: text`` lines in a sidecar ``<file name>.expect``.
* packages, ``invalid/packages/<case>/`` holding one or more package folders and an
  ``expect.txt`` with lines ``path/relative/to/the/case:LINE:COL: message substring``.

A case passes when the reported problems and the expectations pair up one to one: the same
count, and each expectation matched by a problem at the same file, line and column whose
message contains the expected text. So a case also fails when extra problems appear.

``known_bugs/`` has the same layout: cases stating the right behaviour that the engine does not
meet yet. They run as strict xfails, so a fix shows up as XPASS until the case moves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tessera.metadata.errors import Problem
from tessera.metadata.packages import KIND_FOLDERS
from tessera.metadata.validate import validate_paths

HERE = Path(__file__).parent
CORPUS = HERE / "invalid"
KNOWN_BUGS = HERE / "known_bugs"  # same layout; what the engine gets wrong today
VALID = HERE / "valid"
SUFFIXES = (".yaml", ".yml", ".json")

_COMMENT_EXPECT = re.compile(r"^#\s*expect:\s*(\d+):(\d+):\s*(.+?)\s*$")
_LINE_EXPECT = re.compile(r"^(\d+):(\d+):\s*(.+?)\s*$")
_PACKAGE_EXPECT = re.compile(r"^(.+?):(\d+):(\d+):\s*(.+?)\s*$")


@dataclass(frozen=True)
class Expected:
    file: str
    line: int
    column: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: ...{self.text}..."

    def matches(self, problem: Problem) -> bool:
        if Path(problem.location.file).as_posix() != self.file:
            return False
        if (problem.location.line, problem.location.column) != (self.line, self.column):
            return False
        text, anchored = (self.text[:-1], True) if self.text.endswith("$") else (self.text, False)
        position = 0
        for part in text.split(" ... "):
            position = problem.message.find(part, position)
            if position < 0:
                return False
            position += len(part)
        return not anchored or problem.message.endswith(part)


# ---------------------------------------------------------------------------- collecting cases

def loose_cases(root: Path = CORPUS) -> list[Path]:
    return sorted(
        path
        for folder in KIND_FOLDERS
        if (root / folder).is_dir()
        for path in (root / folder).iterdir()
        if path.suffix in SUFFIXES
    )


def package_cases(root: Path = CORPUS) -> list[Path]:
    root = root / "packages"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def loose_expectations(path: Path) -> list[Expected]:
    found: list[Expected] = []
    if path.suffix != ".json":
        for raw in path.read_text("utf-8").splitlines():
            if not re.match(r"^#\s*expect\b", raw.strip()):
                continue
            match = _COMMENT_EXPECT.match(raw.strip())
            assert match, f"{path}: cannot read expectation {raw!r} (want '# expect: LINE:COL: text')"
            found.append(Expected(_shown(path), int(match[1]), int(match[2]), match[3]))
    sidecar = path.with_name(path.name + ".expect")
    if sidecar.is_file():
        for raw in _meaningful_lines(sidecar):
            match = _LINE_EXPECT.match(raw)
            assert match, f"{sidecar}: cannot read expectation {raw!r} (want LINE:COL: text)"
            found.append(Expected(_shown(path), int(match[1]), int(match[2]), match[3]))
    return found


def package_expectations(case: Path) -> list[Expected]:
    found: list[Expected] = []
    for raw in _meaningful_lines(case / "expect.txt"):
        match = _PACKAGE_EXPECT.match(raw)
        assert match, f"{case}/expect.txt: cannot read expectation {raw!r} (want FILE:LINE:COL: text)"
        found.append(Expected(match[1], int(match[2]), int(match[3]), match[4]))
    return found


def _meaningful_lines(path: Path) -> list[str]:
    lines = (raw.strip() for raw in path.read_text("utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _shown(path: Path) -> str:
    """How a loose case file is named in problems: relative to the corpus (objects/x.yaml).
    The kind folder stays in the path given to the validator, since it tells the kind."""
    return f"{path.parent.name}/{path.name}"


# ---------------------------------------------------------------------------- comparing

def assert_reported_exactly(problems: list[Problem], expected: list[Expected]) -> None:
    assert expected, "a case must expect at least one problem"
    unmatched = list(problems)
    missing: list[Expected] = []
    for want in expected:
        hit = next((p for p in unmatched if want.matches(p)), None)
        if hit is None:
            missing.append(want)
        else:
            unmatched.remove(hit)
    if missing or unmatched:
        lines = ["reported problems differ from the expectations", "reported:"]
        lines += [f"  {p}" for p in problems] or ["  (none)"]
        lines += ["expected but not reported:"] + [f"  {e}" for e in missing] if missing else []
        lines += ["reported but not expected:"] + [f"  {p}" for p in unmatched] if unmatched else []
        pytest.fail("\n".join(lines), pytrace=False)


# ---------------------------------------------------------------------------- the tests

@pytest.fixture(autouse=True)
def without_bundled_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """validate_paths also reads the bundled packages (metadata/) to resolve dependencies.
    The corpus names its own packages (base, tmpl_a, ...) and must not change meaning when
    the bundled ones are edited, so the validator sees an empty bundled folder here."""
    monkeypatch.setattr("tessera.metadata.validate.default_search_paths", lambda: [tmp_path])


def check_loose_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case.parent.parent)
    report = validate_paths([Path(_shown(case))])
    assert_reported_exactly(report.problems, loose_expectations(case))


def check_package_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    report = validate_paths([Path(".")])
    assert_reported_exactly(report.problems, package_expectations(case))


@pytest.mark.parametrize("case", loose_cases(), ids=_shown)
def test_invalid_document_is_reported_at_the_offending_place(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_loose_case(case, monkeypatch)


@pytest.mark.parametrize("case", package_cases(), ids=lambda p: f"packages/{p.name}")
def test_invalid_package_set_is_reported_at_the_offending_place(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_package_case(case, monkeypatch)


Check = Callable[[Path, pytest.MonkeyPatch], None]


def _known_bug(case: Path, check: Check) -> object:
    return pytest.param(case, check, id=_shown(case),
                        marks=pytest.mark.xfail(strict=True, reason="engine bug, see the case's comment"))


@pytest.mark.parametrize(
    ("case", "check"),
    [_known_bug(c, check_loose_case) for c in loose_cases(KNOWN_BUGS)]
    + [_known_bug(c, check_package_case) for c in package_cases(KNOWN_BUGS)],
)
def test_known_engine_bug_is_still_open(case: Path, check: Check, monkeypatch: pytest.MonkeyPatch) -> None:
    """These cases state the right behaviour; the engine does not meet it yet. When one starts
    passing (XPASS fails the run), move it into invalid/."""
    check(case, monkeypatch)


def test_corpus_holds_at_least_45_cases_each_expecting_a_problem() -> None:
    cases = loose_cases() + package_cases()
    assert len(cases) >= 45
    for case in loose_cases():
        assert loose_expectations(case), f"{case} has no '# expect:' line (or .expect sidecar)"
    for case in package_cases():
        assert (case / "expect.txt").is_file(), f"{case} has no expect.txt"
        assert package_expectations(case), f"{case}/expect.txt expects nothing"


@pytest.mark.parametrize(
    "case", sorted(p for p in VALID.rglob("*") if p.suffix in SUFFIXES), ids=lambda p: p.name
)
def test_baseline_document_the_cases_vary_is_valid(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case.parent.parent)
    report = validate_paths([Path(_shown(case))])
    assert [str(p) for p in report.problems] == []
