"""The suite needs nothing outside the repository: `git clone URL x && cd x && make test` passes."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A path built to leave the repository: the shared reference folder beside it, or an absolute /work path.
LEAVES = re.compile(r"\.\./shared|[\"']shared[\"']|/shared/reference|[\"']/work/")


def test_no_test_reads_files_outside_the_repository():
    offenders = []
    for path in [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("bench").rglob("*.py")]:
        if path.name == Path(__file__).name:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if LEAVES.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_fa3_schema_and_ministry_examples_ship_with_the_tests():
    data = ROOT / "tests" / "data" / "ksef"
    assert (data / "schemat_FA(3)_v1-0E_local.xsd").exists()
    assert (data / "SOURCES.md").exists()
    assert len(list((data / "examples").glob("FA_3_Przyklad_*.xml"))) == 26
