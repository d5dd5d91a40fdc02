"""The one-way dependencies of DESIGN.md section 2, enforced."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Top to bottom: a package may import only packages below it.
# cli and web are the two faces, side by side on the same services; the CLI starts the web app (`alliance web`).
LAYERS = ["cli", "web", "flows", "services", "integrations", "expectations", "models", "domain"]
DOMAIN_FORBIDDEN = {
    "prefect",
    "sqlmodel",
    "sqlalchemy",
    "openpyxl",
    "slack_sdk",
    "great_expectations",
    "pandera",
    "pandas",
    "os",
    "requests",
    "httpx",
    "time",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    above = set(LAYERS[: LAYERS.index(layer)])
    for path in (REPO / layer).rglob("*.py"):
        wrong = imports_of(path) & above
        assert not wrong, f"{path.relative_to(REPO)} imports {sorted(wrong)} from a layer above it"


def test_domain_is_pure() -> None:
    for path in (REPO / "domain").rglob("*.py"):
        wrong = imports_of(path) & DOMAIN_FORBIDDEN
        assert not wrong, f"{path.relative_to(REPO)} imports {sorted(wrong)}"


def test_prefect_stays_in_flows_and_cli() -> None:
    for layer in ("web", "services", "integrations", "expectations", "models", "domain"):
        for path in (REPO / layer).rglob("*.py"):
            assert "prefect" not in imports_of(path), path


def test_the_web_face_imports_no_other_face() -> None:
    for path in (REPO / "web").rglob("*.py"):
        assert "cli" not in imports_of(path), path
        assert "flows" not in imports_of(path), path  # Prefect's runs come in through services.runs, from the CLI
