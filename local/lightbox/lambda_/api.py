"""Lambda's Invoke API, as `sam local start-lambda` serves it: `POST /2015-03-31/functions/{name}/invocations`.

boto3's `lambda.invoke` and `aws lambda invoke --endpoint-url` reach the functions of the template
here (functions themselves through AWS_ENDPOINT_URL_LAMBDA). RequestResponse runs the function and
answers with its result (a handler error is still a 200, with X-Amz-Function-Error); Event puts it on
Lambda's asynchronous path (asynchronous.py) and answers 202; DryRun only checks the function exists.
Errors are Lambda's: the error code in `x-amzn-ErrorType`, `{"Type", "message"}` in the body.
`POST /2021-11-15/functions/{name}/response-streaming-invocations` is InvokeWithResponseStream
(boto3's `invoke_with_response_stream`): the response as event-stream events while it is written
(streamed.py).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, Response, request
from redis.exceptions import RedisError

from lightbox.config import Settings
from lightbox.exceptions import Throttled
from lightbox.lambda_ import streamed
from lightbox.lambda_.logtail import collected, lambda_log, tail
from lightbox.lambda_.payloads import error_lines, response_body
from lightbox.runtime.invoke import Runtime
from lightbox.runtime.tenancy import INVOKE_HEADER, TenancyError, tenant_id
from lightbox.sqs.queues import Broker
from lightbox.template.model import Function, Template

INVOKE_PATH = "/2015-03-31/functions/<path:name>/invocations"
STREAM_PATH = "/2021-11-15/functions/<path:name>/response-streaming-invocations"
# Lambda's limit on a synchronous request's payload.
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
LATEST = "$LATEST"


class InvokeError(Exception):
    """An error the Invoke API answers with, in Lambda's code, status and words."""

    def __init__(self, code: str, status: int, message: str, kind: str = "User") -> None:
        super().__init__(message)
        self.code, self.status, self.kind = code, status, kind

    def response(self) -> Response:
        resp = Response(json.dumps({"Type": self.kind, "message": str(self)}), status=self.status,
                        mimetype="application/json")
        resp.headers["x-amzn-ErrorType"] = self.code
        resp.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return resp


def function_arn(template: Template, name: str) -> str:
    return f"arn:aws:lambda:{template.region}:{template.account_id}:function:{name}"


def _aliases(template: Template, fn: Function) -> set[str]:
    names = {fn.name, fn.logical_id, fn.function_name}
    return {str(r.properties.get("Name")) for r in template.resources.values()
            if r.type == "AWS::Lambda::Alias" and str(r.properties.get("FunctionName", "")).split(":")[-1] in names}


def resolve(template: Template, given: str, qualifier: str | None) -> Function:
    """A function by name, ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`) or partial ARN
    (`ACCOUNT:function:NAME`); the qualifier, if any, must be $LATEST or an alias of the template."""
    parts = given.split(":")
    if given.startswith("arn:") and len(parts) >= 7 and parts[5] == "function":
        name, suffix = parts[6], parts[7] if len(parts) > 7 else None
    elif len(parts) >= 3 and parts[1] == "function":
        name, suffix = parts[2], parts[3] if len(parts) > 3 else None
    else:
        name, suffix = parts[0], parts[1] if len(parts) > 1 else None
    wanted = qualifier or suffix
    shown = function_arn(template, name) + (f":{wanted}" if wanted else "")
    try:
        fn = template.function(name)
    except KeyError:
        raise InvokeError("ResourceNotFoundException", 404, f"Function not found: {shown}") from None
    if wanted and wanted != LATEST and wanted not in _aliases(template, fn):
        raise InvokeError("ResourceNotFoundException", 404, f"Function not found: {shown}")
    return fn


def _payload(body: bytes) -> Any:
    if not body.strip():
        return {}  # Lambda hands a function invoked without a payload an empty object
    try:
        return json.loads(body)
    except ValueError as exc:
        raise InvokeError("InvalidRequestContentException", 400,
                          f"Could not parse request body into json: Could not parse payload into json: {exc}") from None


class InvokeApi:
    def __init__(self, runtime: Runtime, broker: Broker) -> None:
        self.runtime = runtime
        self.broker = broker

    def invoke(self, name: str, streaming: bool = False) -> Response:
        template = self.runtime.template
        fn = resolve(template, name, request.args.get("Qualifier"))
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        body = request.get_data(cache=False)
        if kind == "DryRun":
            return Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        tenant = request.headers.get(INVOKE_HEADER)
        if kind == "Event" and not streaming:
            if tenant or fn.tenant_isolation:
                raise InvokeError("InvalidParameterValueException", 400, f"{fn.name}: asynchronous invocations "
                                  "for a tenant (TenancyConfig) are not emulated; invoke it synchronously")
            event = _payload(body)
            request_id = str(uuid.uuid4())
            try:
                self.broker.invoke_async(fn.name, event, "lambda:event", request_id=request_id)
            except RedisError as exc:  # the async queue is unreachable: Lambda's own fault, not the caller's
                raise InvokeError("ServiceException", 500, f"the asynchronous queue is unreachable: {exc}",
                                  "Service") from None
            return Response(status=202, headers={"x-amzn-RequestId": request_id})
        if kind != "RequestResponse":
            kinds = "RequestResponse, DryRun" if streaming else "Event, RequestResponse, DryRun"
            raise InvokeError("InvalidParameterValueException", 400,
                              f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy "
                              f"constraint: Member must satisfy enum value set: [{kinds}]")
        if len(body) > MAX_SYNC_PAYLOAD:
            raise InvokeError("RequestTooLargeException", 413,
                              f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation")
        event = _payload(body)
        token = tenant_id.set(tenant)
        try:
            with collected() as output:
                # "invoke": a caller waits, so a function at its concurrency limit is throttled at once (429).
                inv = self.runtime.invoke(fn.name, event, trigger="invoke")
        finally:
            tenant_id.reset(token)
        if isinstance(inv.error, TenancyError):
            raise InvokeError(inv.error.error_type, 400, inv.error.message)
        if isinstance(inv.error, Throttled):
            raise InvokeError("TooManyRequestsException", 429, str(inv.error) or "Rate Exceeded.")
        tail_wanted = request.headers.get("X-Amz-Log-Type") == "Tail"
        if streaming:
            log_result = tail(lambda_log(inv, fn.memory_size, output, [])) if tail_wanted else None
            stream = streamed.stream_of(inv)
            resp = Response(streamed.events(inv, log_result), status=200, direct_passthrough=True,
                            content_type=stream.content_type if stream else "application/json")
            resp.headers["x-amzn-RequestId"] = inv.request_id
            resp.headers["X-Amz-Executed-Version"] = LATEST
            return resp
        stream = streamed.stream_of(inv)
        data, error = streamed.buffered(inv, stream) if stream is not None else response_body(inv)
        resp = Response(data, status=200, mimetype="application/json")
        resp.headers["x-amzn-RequestId"] = inv.request_id
        resp.headers["X-Amz-Executed-Version"] = LATEST
        if error is not None:
            resp.headers["X-Amz-Function-Error"] = "Unhandled"
        if tail_wanted:
            log = lambda_log(inv, fn.memory_size, output, error_lines(error) if error else [])
            resp.headers["X-Amz-Log-Result"] = tail(log)
        return resp


def lambda_lines(settings: Settings) -> list[str]:
    """What `lightbox up` prints about the Invoke API."""
    url = settings.public_lambda_endpoint
    return [f"  Lambda API  {url}   (AWS_ENDPOINT_URL_LAMBDA for functions; "
            f"aws lambda invoke --endpoint-url {url} --function-name NAME out.json)"]


def blueprint(runtime: Runtime, broker: Broker) -> Blueprint:
    bp = Blueprint("lambda", __name__)
    api = InvokeApi(runtime, broker)

    def answer(name: str, streaming: bool) -> Response:
        try:
            return api.invoke(name, streaming)
        except InvokeError as exc:
            return exc.response()
        except Throttled as exc:  # a runtime may refuse before it starts the invocation
            return InvokeError("TooManyRequestsException", 429, str(exc) or "Rate Exceeded.").response()

    bp.add_url_rule(INVOKE_PATH, "invoke", lambda name: answer(name, False), methods=["POST"])
    bp.add_url_rule(STREAM_PATH, "invoke_with_response_stream", lambda name: answer(name, True), methods=["POST"])
    return bp
