"""Lambda's read calls on functions, as the Invoke API's port answers them: ListFunctions, GetFunction
and GetFunctionConfiguration (`aws lambda list-functions`, boto3's `get_function`), from the template.

Every other call of Lambda's API (CreateFunction, UpdateFunctionCode, PutFunctionConcurrency ...) is
answered 501 NotImplemented in Lambda's error shape, naming what is answered: the template is the only
source of functions here."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from flask import Blueprint, Response, request

from lightbox.lambda_.api import LATEST, InvokeError, function_arn, resolve
from lightbox.runtime.invoke import Runtime
from lightbox.template.model import Function, Template

API = "/2015-03-31/functions"
ANSWERED = "Invoke, ListFunctions, GetFunction and GetFunctionConfiguration"


def configuration(template: Template, fn: Function) -> dict[str, Any]:
    """GetFunctionConfiguration's answer for a function of the template (its code folder's state now)."""
    name = fn.function_name or fn.name
    stamp = max((p.stat().st_mtime for p in fn.code_uri.rglob("*") if p.is_file()), default=0.0) \
        if fn.code_uri.is_dir() else 0.0
    config: dict[str, Any] = {
        "FunctionName": name, "FunctionArn": function_arn(template, name),
        "Role": f"arn:aws:iam::{template.account_id}:role/lightbox-local", "Handler": fn.handler,
        "CodeSize": 0, "Description": "", "Timeout": int(fn.timeout), "MemorySize": fn.memory_size,
        "LastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(stamp)),
        "CodeSha256": hashlib.sha256(f"{fn.code_uri}:{stamp}".encode()).hexdigest(), "Version": LATEST,
        "Environment": {"Variables": dict(fn.environment)}, "TracingConfig": {"Mode": "PassThrough"},
        "PackageType": fn.package_type, "Architectures": list(fn.architectures),
        "EphemeralStorage": {"Size": 512}, "State": "Active", "LastUpdateStatus": "Successful",
        "Layers": [{"Arn": arn, "CodeSize": 0} for arn in fn.layer_arns],
    }
    if fn.package_type == "Zip":
        config["Runtime"] = fn.runtime
    if fn.dead_letter_arn:
        config["DeadLetterConfig"] = {"TargetArn": fn.dead_letter_arn}
    return config


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, mimetype="application/json")


def blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint("lambda_functions", __name__)

    @bp.get(f"{API}/", strict_slashes=False)
    def list_functions() -> Response:
        template = runtime.template
        found = sorted(template.functions.values(), key=lambda f: f.function_name or f.name)
        return _json({"Functions": [configuration(template, fn) for fn in found]})

    @bp.get(f"{API}/<name>")
    def get_function(name: str) -> Response:
        try:
            fn = resolve(runtime.template, name, request.args.get("Qualifier"))
        except InvokeError as exc:
            return exc.response()
        return _json({"Configuration": configuration(runtime.template, fn),
                      "Code": {"RepositoryType": "S3", "Location": fn.code_uri.resolve().as_uri()}})

    @bp.get(f"{API}/<name>/configuration")
    def get_configuration(name: str) -> Response:
        try:
            return _json(configuration(runtime.template, resolve(runtime.template, name,
                                                                 request.args.get("Qualifier"))))
        except InvokeError as exc:
            return exc.response()

    @bp.route("/<any('2015-03-31','2016-08-19','2017-03-31','2017-10-31','2018-10-31','2019-09-25',"
              "'2019-09-30','2020-04-22','2020-06-30','2021-10-31','2021-11-15'):version>/<path:rest>",
              methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def not_emulated(version: str, rest: str) -> Response:
        return InvokeError("NotImplemented", 501, f"{request.method} /{version}/{rest}: this Lambda API call is "
                           f"not emulated; lightbox answers {ANSWERED} for the template's functions",
                           "Service").response()

    return bp
