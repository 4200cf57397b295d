"""cloud-init/README.md's inputs tables are generated from the models and kept current."""

from __future__ import annotations

import pytest
from cloudinit_cases import REPO

from mlplat.cloudinit.models import TEMPLATE_MODELS
from mlplat.docgen.cloudinit import BEGIN, END, inputs_table

pytestmark = pytest.mark.unit

README = REPO / "cloud-init" / "README.md"


def test_readme_inputs_tables_are_current() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text, f"{README} lost its generated-tables markers"
    current = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert current == inputs_table(), (
        "cloud-init/README.md inputs tables are stale: replace the block between the markers "
        "by running `mlplat docs`"
    )


def test_tables_cover_every_field_of_every_model() -> None:
    table = inputs_table()
    for template, model in TEMPLATE_MODELS.items():
        assert f"`{template}`" in table
        for name in model.model_fields:
            assert f"| `{name}` |" in table, f"{model.__name__}.{name} missing"
