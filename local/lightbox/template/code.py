"""A function's or layer's code as a local folder, whatever form the template gives it in.

- a folder: used in place (edits are picked up by the runtime's hot reload);
- a .zip (or .jar): extracted once into the data dir, again when the archive changes (size or mtime),
  with the permission bits it stores (a `bootstrap` stays executable);
- a single file: a folder holding only that file (a link to it, so edits show), as Lambda would have it;
- inline code (`Code.ZipFile`, SAM's `InlineCode`): written as `index.py` / `index.js`, which is where
  CloudFormation puts it, so the handler is `index.<function>` as on AWS.

Several processes load the same template at once (`up` and its workers): every write goes to a
temporary name first and is renamed into place, so none sees half a folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

_ARCHIVES = (".zip", ".jar")


def default_data_dir() -> Path:
    """Where code is unpacked when no data dir is given (tests that load a template by itself)."""
    return Path(tempfile.gettempdir()) / f"lightbox-{os.getuid()}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)


def _key(path: Path) -> str:
    return hashlib.sha1(str(path).encode()).hexdigest()[:10]


def is_archive(path: Path) -> bool:
    return path.suffix.lower() in _ARCHIVES and path.is_file()


def code_folder(path: Path, data_dir: Path) -> Path:
    """The folder to import from for a local code path; a missing path is returned as it is."""
    if is_archive(path):
        return extracted(path, data_dir)
    if path.is_file():
        return single_file(path, data_dir)
    return path


def extracted(archive: Path, data_dir: Path) -> Path:
    stat = archive.stat()
    home = data_dir / "code" / "zip" / f"{_slug(archive.stem)}-{_key(archive)}"
    final = home / f"{stat.st_size}-{stat.st_mtime_ns}"
    if final.is_dir():
        return final
    home.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".extract-", dir=home))
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, work))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)
    try:
        work.rename(final)
    except OSError:  # another process extracted the same version first
        shutil.rmtree(work, ignore_errors=True)
    for old in home.iterdir():  # earlier versions of the archive
        if old != final and not old.name.startswith(".extract-"):
            shutil.rmtree(old, ignore_errors=True)
    return final


def single_file(file: Path, data_dir: Path) -> Path:
    folder = data_dir / "code" / "file" / f"{_slug(file.stem)}-{_key(file)}"
    link = folder / file.name
    if link.is_symlink() and link.resolve() == file.resolve():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{file.name}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(file.resolve())
    tmp.replace(link)
    return folder


def inline_extension(runtime: str) -> str:
    if runtime.startswith("python"):
        return ".py"
    if runtime.startswith("nodejs"):
        return ".js"
    return ""


def inline_folder(source: str, runtime: str, data_dir: Path, owner: str, template: Path) -> Path:
    """A folder per function (`owner`: its stack path and logical id) of each template; the file is
    rewritten only when the code changes."""
    folder = data_dir / "code" / "inline" / f"{_slug(owner)}-{_key(template.resolve())}"
    file = folder / f"index{inline_extension(runtime)}"
    if file.is_file() and file.read_text() == source:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".index-", dir=folder)
    with os.fdopen(fd, "w") as out:
        out.write(source)
    Path(tmp).replace(file)
    return folder


def handler_file(code_uri: Path, handler: str, runtime: str) -> Path | None:
    """The file Lambda would load for `handler`, or None when it cannot be found in `code_uri`.
    Only Python, Node.js and custom runtimes are known; for others any handler is taken as found."""
    if runtime.startswith("provided"):
        found = code_uri / "bootstrap"
        return found if found.is_file() else None
    module = handler.rsplit(".", 1)[0]
    if runtime.startswith("python"):
        base = code_uri / module.replace(".", "/") if "/" not in module else code_uri / module
        candidates = [base.with_suffix(".py"), base / "__init__.py"]
    elif runtime.startswith("nodejs"):
        candidates = [code_uri / f"{module}{ext}" for ext in (".js", ".mjs", ".cjs")]
    else:
        return code_uri
    return next((c for c in candidates if c.is_file()), None)
