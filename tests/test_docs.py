"""The README's policy reference is generated from the models, never hand-copied."""

from __future__ import annotations

from sagescale.docs import BEGIN, END, policy_reference
from tests.conftest import ROOT


def test_readme_policy_reference_matches_models() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == policy_reference(), (
        "run: python -m sagescale.docs and paste into README.md"
    )


def test_every_policy_field_is_documented() -> None:
    reference = policy_reference()
    for line in reference.splitlines():
        if line.startswith("| `"):
            assert not line.endswith("|  |"), f"field without a description: {line}"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = readme.split("```sh\n")[1:3]
    assert "sagescale" in blocks[0]
    test_command = blocks[1].split("\n```")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci, ".ci/run must run exactly the README's test command"
