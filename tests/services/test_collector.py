import gc
from collections.abc import Iterator

import pytest

from integrations.workspace import Workspace
from services.collector import FIRST_GENERATION_THRESHOLD, collect_less_often
from services.deps import production_deps


@pytest.fixture
def default_collector() -> Iterator[None]:
    kept = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # Python's own
    yield
    gc.set_threshold(*kept)


def test_every_face_that_files_returns_collects_less_often(default_collector: None, workspace: Workspace) -> None:
    """Issue 26: production_deps (the CLI, the portal, the flows) sets the collector once for the process."""
    production_deps(workspace).engine.dispose()
    assert gc.get_threshold() == (FIRST_GENERATION_THRESHOLD, 10, 10)


def test_a_threshold_set_higher_by_the_process_is_kept(default_collector: None) -> None:
    gc.set_threshold(FIRST_GENERATION_THRESHOLD * 4, 5, 5)
    collect_less_often()
    assert gc.get_threshold() == (FIRST_GENERATION_THRESHOLD * 4, 5, 5)
