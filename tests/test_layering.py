"""The import-linter contracts (.importlinter): the real tree keeps them, and
adding a forbidden import breaks them (so a passing run means something)."""

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("levqor", "compliance", "billing", "status", "support")
# Run the CLI with this interpreter, so the test works in any virtualenv.
LINT_IMPORTS = [
    sys.executable,
    "-c",
    "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
]


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=where, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree_copy(tmp_path) -> Path:
    """The project's Python packages and contracts, in a scratch folder."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_real_tree_keeps_every_contract():
    outcome = lint_imports(ROOT)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert "0 broken" in outcome.stdout


@pytest.mark.parametrize(
    "module, forbidden, contract",
    [
        ("levqor/lib/mail.py", "billing", "The floor (levqor.lib) imports no app"),
        ("levqor/lib/ratelimit.py", "levqor.accounts.models", "The floor (levqor.lib) imports no app"),
        ("levqor/lib/drf/errors.py", "levqor.api.quotas", "The floor (levqor.lib) imports no app"),
        ("compliance/audit.py", "levqor.api.models", "compliance imports no app but the floor"),
        ("status/models.py", "billing", "status imports neither billing nor support"),
        ("billing/models.py", "support", "billing does not import support"),
        ("levqor/workflows/models.py", "status", "The core apps do not import the domain apps"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tree_copy, module, forbidden, contract):
    with open(tree_copy / module, "a") as source:
        source.write(f"\nimport {forbidden}  # noqa\n")

    outcome = lint_imports(tree_copy)

    assert outcome.returncode != 0
    assert f"{contract} BROKEN" in outcome.stdout, outcome.stdout + outcome.stderr


def test_a_new_cycle_breaks_the_acyclic_contract(tree_copy):
    with open(tree_copy / "levqor/plans.py", "a") as source:
        source.write("\nimport levqor.pages.views  # noqa\n")

    outcome = lint_imports(tree_copy)

    assert outcome.returncode != 0
    assert "No cycles between the modules (or sub-packages) of any package BROKEN" in outcome.stdout


def test_the_floor_and_compliance_contracts_forbid_every_module_of_levqor_but_the_floor():
    """A new module in levqor/ must be added to both lists, or the floor could import it unnoticed."""
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / ".importlinter")
    children = {
        f"levqor.{path.stem}"
        for path in (ROOT / "levqor").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    for name in ("importlinter:contract:floor", "importlinter:contract:compliance"):
        forbidden = set(contracts[name]["forbidden_modules"].split())
        assert children - {"levqor.lib"} <= forbidden, name
        assert "levqor.lib" not in forbidden
