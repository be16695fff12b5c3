"""Node.js functions using the AWS SDK v3 that Lambda's Node.js runtimes include, without bundling it
(tests/apps/node-sdk has no node_modules): `up` installs the imported packages once into its SDK cache
(npm), and both an ES module and a CommonJS handler import them and reach the embedded S3."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from app_stack import app_stack

from lightbox.runtime.runtimes import node_sdk
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack
from lightbox.template.loader import load_template

APP = Path(__file__).resolve().parents[1] / "apps" / "node-sdk" / "template.yaml"
pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="Node.js functions need `node`, and the SDK cache `npm`, on PATH")


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    functions = load_template(APP).functions.values()
    assert {p for fn in functions for p in node_sdk.imported(fn)} == {"@aws-sdk/client-s3"}
    problems = node_sdk.ensure(functions)  # what `up` does first; a machine without the npm registry cannot
    if problems:
        pytest.skip(f"the npm registry is not reachable from here: {problems[0]}")
    # Without bucket events, the template's bucket is made on the S3 endpoint all the same.
    with app_stack(APP, redis_server, s3_server, 10, tmp_path_factory.mktemp("lightbox")) as started:
        yield started


@pytest.mark.parametrize("route", ["/esm", "/cjs"])
def test_the_runtimes_sdk_is_imported_by_es_modules_and_commonjs(stack: Stack, route: str) -> None:
    resp = requests.get(f"{stack.url}{route}", timeout=60)
    assert resp.status_code == 200, resp.text
    assert "node-sdk-bucket" in resp.json()["buckets"]  # the template's bucket, on the embedded S3


def test_a_function_bringing_its_own_sdk_does_not_need_the_cache(tmp_path: Path) -> None:
    code = tmp_path / "fn"
    (code / "node_modules" / "@aws-sdk" / "client-s3").mkdir(parents=True)
    (code / "app.mjs").write_text("import { S3Client } from '@aws-sdk/client-s3';\n"
                                  "const { SQS } = await import(\"@aws-sdk/client-sqs\");\n")
    template = tmp_path / "template.yaml"
    template.write_text("Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
                        "    Type: AWS::Serverless::Function\n"
                        "    Properties: {Handler: app.handler, Runtime: nodejs20.x, CodeUri: fn/}\n")
    fn = load_template(template).functions["Fn"]
    assert node_sdk.imported(fn) == {"@aws-sdk/client-s3", "@aws-sdk/client-sqs"}
    assert node_sdk.brought(fn, "@aws-sdk/client-s3") and not node_sdk.brought(fn, "@aws-sdk/client-sqs")


def test_later_installs_keep_what_earlier_ones_put_in_the_cache(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(node_sdk.CACHE_VAR, str(tmp_path / "cache"))
    first = node_sdk.install(["@aws-sdk/types"])  # two small packages, one install each
    if first is not None:
        pytest.skip(f"the npm registry is not reachable from here: {first}")
    assert node_sdk.install(["@aws-sdk/util-utf8-browser"]) is None
    assert (node_sdk.modules_dir() / "@aws-sdk" / "types").is_dir()
    assert (node_sdk.modules_dir() / "@aws-sdk" / "util-utf8-browser").is_dir()
