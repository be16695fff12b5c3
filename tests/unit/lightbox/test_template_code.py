"""A function's code in every form a template gives it: folder, .zip (extracted again when it changes),
single file, inline code; the handler file Lambda would load."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from template_helpers import load

from lightbox.template.code import code_folder, handler_file, inline_folder


def make_zip(path: Path, text: str, mtime: int) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("app.py")
        info.external_attr = 0o640 << 16
        zf.writestr(info, text)
        boot = zipfile.ZipInfo("bootstrap")
        boot.external_attr = 0o755 << 16
        zf.writestr(boot, "#!/bin/sh\n")
    os.utime(path, (mtime, mtime))


def test_a_zip_is_extracted_once_and_again_when_it_changes(tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    make_zip(archive, "VERSION = 1\n", 1_000_000)
    first = code_folder(archive, tmp_path / "data")
    assert (first / "app.py").read_text() == "VERSION = 1\n"
    assert os.access(first / "bootstrap", os.X_OK) and (first / "app.py").stat().st_mode & 0o777 == 0o640
    assert code_folder(archive, tmp_path / "data") == first  # unchanged: not extracted again
    make_zip(archive, "VERSION = 2\n", 2_000_000)
    second = code_folder(archive, tmp_path / "data")
    assert second != first and (second / "app.py").read_text() == "VERSION = 2\n"
    assert not first.exists()  # the old version is cleared away


def test_a_single_file_is_alone_in_its_folder_and_edits_show(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "one.py").write_text("A = 1\n")
    (tmp_path / "src" / "other.py").write_text("B = 2\n")
    folder = code_folder(tmp_path / "src" / "one.py", tmp_path / "data")
    assert sorted(p.name for p in folder.iterdir()) == ["one.py"]
    (tmp_path / "src" / "one.py").write_text("A = 3\n")
    assert (folder / "one.py").read_text() == "A = 3\n"


def test_inline_code_is_where_cloudformation_puts_it(tmp_path: Path) -> None:
    folder = inline_folder("def handler(e, c): pass\n", "python3.12", tmp_path, "Child/Fn", tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["index.py"]
    assert (inline_folder("exports.handler = 1\n", "nodejs20.x", tmp_path, "Js", tmp_path) / "index.js").is_file()
    inline_folder("def handler(e, c): return 2\n", "python3.12", tmp_path, "Child/Fn", tmp_path)
    assert (folder / "index.py").read_text() == "def handler(e, c): return 2\n"


def test_the_handler_file_lambda_would_load(tmp_path: Path) -> None:
    (tmp_path / "src" / "handlers").mkdir(parents=True)
    (tmp_path / "src" / "handlers" / "items.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "app.mjs").write_text("")
    assert handler_file(tmp_path, "src/handlers/items.getAll", "python3.12") == tmp_path / "src/handlers/items.py"
    assert handler_file(tmp_path, "src.handlers.items.getAll", "python3.12") == tmp_path / "src/handlers/items.py"
    assert handler_file(tmp_path, "pkg.handler", "python3.12") == tmp_path / "pkg/__init__.py"
    assert handler_file(tmp_path, "app.handler", "nodejs20.x") == tmp_path / "app.mjs"
    assert handler_file(tmp_path, "app.handler", "python3.12") is None
    assert handler_file(tmp_path, "anything", "provided.al2023") is None  # no bootstrap
    assert handler_file(tmp_path, "Handler::Main", "dotnet8") == tmp_path  # not a runtime we can look into


def test_template_code_forms_and_a_zipped_layer(tmp_path: Path) -> None:
    make_zip(tmp_path / "fn.zip", "def handler(e, c):\n    return 1\n", 1_000_000)
    (tmp_path / "layer.zip").write_bytes((tmp_path / "fn.zip").read_bytes())
    t = load(tmp_path, """
        Zipped:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn.zip, Runtime: python3.12, Layers: [!Ref Lib]}
        Lib:
          Type: AWS::Lambda::LayerVersion
          Properties: {Content: layer.zip}
        Inline:
          Type: AWS::Serverless::Function
          Properties: {Handler: index.handler, Runtime: python3.12, InlineCode: "def handler(e, c):\\n  return 1\\n"}
        Here:
          Type: AWS::Serverless::Function
          Properties: {Handler: fn/app.handler, Runtime: python3.12}
    """)
    zipped = t.function("Zipped")
    assert (zipped.code_uri / "app.py").is_file() and zipped.handler_found
    assert (zipped.layers[0] / "bootstrap").is_file()
    inline = t.function("Inline")
    assert inline.code_uri.name.startswith("Inline-") and inline.handler_found
    assert inline.code_uri != inline_folder("", "python3.12", tmp_path / "data", "Inline", tmp_path / "other")
    assert t.function("Here").code_uri == tmp_path and t.function("Here").handler_found  # no CodeUri: "."
    assert tmp_path / "fn.zip" in t.files  # a changed archive reloads the template


def test_absolute_code_and_layer_paths_stay_absolute(tmp_path: Path) -> None:
    # what `sam build` writes into .aws-sam/build/template.yaml for code outside the template's folder
    code, lib = tmp_path / "elsewhere" / "code", tmp_path / "elsewhere" / "lib"
    code.mkdir(parents=True)
    lib.mkdir()
    (code / "app.py").write_text("def handler(e, c):\n    return 1\n")
    t = load(tmp_path, f"""
        Fn:
          Type: AWS::Serverless::Function
          Properties: {{Handler: app.handler, CodeUri: {code}, Runtime: python3.12, Layers: [!Ref Lib]}}
        Lib:
          Type: AWS::Serverless::LayerVersion
          Properties: {{ContentUri: {lib}}}
    """)
    assert t.function("Fn").code_uri == code and t.function("Fn").handler_found
    assert t.function("Fn").layers == [lib]
