"""Writing small templates for the template tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lightbox.template.loader import load_template
from lightbox.template.model import Template

SAM = "Transform: AWS::Serverless-2016-10-31\n"


def write(tmp_path: Path, resources: str, extra: str = "", head: str = SAM, name: str = "template.yaml") -> Path:
    """A template with `resources` under Resources, and fn/app.py holding `handler`."""
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return event\n")
    text = head + textwrap.dedent(extra) + "Resources:\n" + textwrap.indent(textwrap.dedent(resources), "  ")
    (tmp_path / name).write_text(text)
    return tmp_path / name


def load(tmp_path: Path, resources: str, extra: str = "", head: str = SAM, **kwargs: object) -> Template:
    return load_template(write(tmp_path, resources, extra, head), data_dir=tmp_path / "data", **kwargs)  # type: ignore[arg-type]


def lines(template: Template) -> list[str]:
    return [f.line() for f in template.shown()]
