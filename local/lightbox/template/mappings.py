"""Event source mappings on DynamoDB streams and Kinesis streams (SAM's `DynamoDB` and `Kinesis` events
make these too): every property Lambda's stream poller reads, and a line for what it does not do."""

from __future__ import annotations

from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template import checks
from lightbox.template.building import PendingTrigger, Res, Scope
from lightbox.template.model import StreamTrigger

_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
# Lambda's defaults for stream sources (BatchSize 100; retried until the record expires).
_DEFAULT_BATCH = 100
_NOT_EMULATED = {
    "TumblingWindowInSeconds": "tumbling windows are not emulated: each batch is invoked without window state",
    "MetricsConfig": "event source mapping metrics are not published locally",
}


def filters(p: dict[str, Any], name: str) -> tuple[dict[str, Any], ...]:
    """FilterCriteria.Filters, each a `{"Pattern": "<JSON text>"}` as the template gives it."""
    criteria = checks.listing(checks.mapping(p.get("FilterCriteria"), name, "FilterCriteria").get("Filters"),
                              name, "FilterCriteria.Filters")
    return tuple(f for f in criteria if isinstance(f, dict))


def build_stream_mapping(scope: Scope, res: Res, service: str, function: str) -> None:
    p, name = res.props, res.name
    source = checks.string(p.get("EventSourceArn"), name, "EventSourceArn")
    position = checks.string(p.get("StartingPosition"), name, "StartingPosition", default="LATEST")
    if position not in _POSITIONS:
        raise TemplateError(name, "StartingPosition", f"must be one of {', '.join(_POSITIONS)}; got {position}")
    if service == "dynamodb" and position == "AT_TIMESTAMP":
        scope.load.finding(res, "StartingPosition", "AT_TIMESTAMP is for Kinesis; AWS refuses it for a DynamoDB "
                                                    "stream at deploy (read as LATEST here)", kind="warning")
        position = "LATEST"
    stamp = p.get("StartingPositionTimestamp")
    types = checks.strings(p.get("FunctionResponseTypes"), name, "FunctionResponseTypes")
    destination = checks.mapping(checks.mapping(p.get("DestinationConfig"), name, "DestinationConfig")
                                 .get("OnFailure"), name, "DestinationConfig.OnFailure").get("Destination")
    for prop, message in _NOT_EMULATED.items():
        if p.get(prop):
            scope.load.finding(res, prop, message)
    trig = StreamTrigger(
        source=service,
        arn=source,
        event_name=res.event or name.rsplit("/", 1)[-1],
        starting_position=position,
        starting_timestamp=None if stamp is None else checks.number(stamp, name, "StartingPositionTimestamp"),
        batch_size=checks.integer(p.get("BatchSize"), name, "BatchSize", default=_DEFAULT_BATCH),
        maximum_batching_window=checks.integer(p.get("MaximumBatchingWindowInSeconds"), name,
                                               "MaximumBatchingWindowInSeconds", default=0),
        bisect_on_error=checks.boolean(p.get("BisectBatchOnFunctionError"), name, "BisectBatchOnFunctionError",
                                       default=False),
        maximum_retry_attempts=checks.integer(p.get("MaximumRetryAttempts"), name, "MaximumRetryAttempts",
                                              default=-1),
        maximum_record_age=checks.integer(p.get("MaximumRecordAgeInSeconds"), name, "MaximumRecordAgeInSeconds",
                                          default=-1),
        parallelization_factor=checks.integer(p.get("ParallelizationFactor"), name, "ParallelizationFactor",
                                              default=1),
        filter_criteria=filters(p, name),
        report_batch_item_failures="ReportBatchItemFailures" in types,
        on_failure=checks.optional_string(destination, name, "DestinationConfig.OnFailure.Destination"),
        enabled=checks.boolean(p.get("Enabled"), name, "Enabled", default=True),
    )
    scope.load.triggers.append(PendingTrigger(function, trig, res, "FunctionName"))
