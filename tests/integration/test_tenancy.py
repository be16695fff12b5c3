"""Lambda tenant isolation (TenancyConfig PER_TENANT), on tests/apps/tenancy: the tenant reaches
`context.tenant_id` from the Invoke API's X-Amz-Tenant-Id or a REST API's integration request
parameter, each tenant has its own execution environments, and a call without a tenant is refused
(HTTP APIs cannot pass one, as on AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from app_stack import app_stack
from botocore.config import Config

from lightbox.runtime.runtimes import node
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack

APP = Path(__file__).resolve().parents[1] / "apps" / "tenancy" / "template.yaml"


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with app_stack(APP, redis_server, s3_server, 14, tmp_path_factory.mktemp("lightbox")) as started:
        yield started


def get(stack: Stack, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{stack.url}{path}", headers=headers, timeout=30)


def test_rest_api_maps_a_header_to_the_tenant_and_keeps_tenants_apart(stack: Stack) -> None:
    first = get(stack, "/counter", **{"x-tenant-id": "blue"}).json()
    again = get(stack, "/counter", **{"x-tenant-id": "blue"}).json()
    other = get(stack, "/counter", **{"x-tenant-id": "green"}).json()
    assert first["tenant_id"] == again["tenant_id"] == "blue"
    assert again["pid"] == first["pid"] and again["calls_in_this_environment"] == first["calls_in_this_environment"] + 1
    assert other["tenant_id"] == "green"
    assert other["pid"] != first["pid"] and other["calls_in_this_environment"] == 1  # never blue's environment


def test_rest_api_maps_a_path_parameter_to_the_tenant(stack: Stack) -> None:
    resp = get(stack, "/tenants/acme/counter")
    assert resp.status_code == 200, resp.text
    assert resp.json()["tenant_id"] == "acme"


@pytest.mark.skipif(node.node() is None, reason="`node` is not on PATH: the Node.js function needs it")
def test_node_functions_get_the_tenant_as_context_tenant_id(stack: Stack) -> None:
    resp = get(stack, "/node/counter?tenant=orange")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"tenantId": "orange"}


def test_no_tenant_is_refused_by_lambda_and_answered_500(stack: Stack) -> None:
    unmapped = get(stack, "/unmapped", **{"X-Amz-Tenant-Id": "blue"})  # the client's header is not Lambda's
    assert unmapped.status_code == 500
    assert unmapped.json() == {"message": "Internal server error"}
    missing = get(stack, "/counter")  # the mapped header is absent
    assert missing.status_code == 500


def test_http_api_cannot_pass_a_tenant(stack: Stack) -> None:
    resp = get(stack, "/http/counter", **{"X-Amz-Tenant-Id": "blue"})
    assert resp.status_code == 500
    assert resp.json() == {"message": "Internal Server Error"}


def test_function_without_isolation_ignores_the_clients_header(stack: Stack) -> None:
    resp = get(stack, "/shared", **{"X-Amz-Tenant-Id": "blue"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["tenant_id"] is None


def test_invoke_api_takes_the_tenant_id(stack: Stack) -> None:
    lam: Any = boto3.client("lambda", endpoint_url=stack.url, region_name="us-east-1",
                            config=Config(retries={"max_attempts": 1}))
    out = lam.invoke(FunctionName="Counter", TenantId="violet", Payload=b"{}")
    assert json.loads(json.loads(out["Payload"].read())["body"])["tenant_id"] == "violet"
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="tenant id"):
        lam.invoke(FunctionName="Counter", Payload=b"{}")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="no tenant isolation"):
        lam.invoke(FunctionName="Shared", TenantId="violet", Payload=b"{}")
