"""Reading a stream as Lambda's poller does: DynamoDB Streams and Kinesis on the embedded services (the
moto server), with boto3, turned into the records Lambda hands a function.

The mapping's EventSourceArn is taken by the name in it (the table, the stream), and the ARN the
service gives now is used: a template's `!GetAtt Table.StreamArn` may carry a placeholder label.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lightbox.template.model import StreamTrigger


class NotThereYet(Exception):
    """The table has no stream, or the stream does not exist (yet): the poller looks again later."""


@dataclass
class Batch:
    records: list[dict[str, Any]]  # as the function gets them
    next_iterator: str | None
    millis_behind: int | None  # Kinesis says; DynamoDB Streams does not


class Shards(Protocol):
    arn: str

    def shard_ids(self) -> list[str]: ...
    def iterator(self, shard: str, position: str, timestamp: float | None, after: str | None) -> str: ...
    def read(self, shard: str, iterator: str, limit: int) -> Batch: ...


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


class DynamoDBShards:
    def __init__(self, trigger: StreamTrigger, clients: Any, region: str) -> None:
        self.table, self.region = trigger.stream_name, region
        self.ddb = clients.client("dynamodb")
        self.streams = clients.client("dynamodbstreams")
        try:
            arn = self.ddb.describe_table(TableName=self.table)["Table"].get("LatestStreamArn")
        except self.ddb.exceptions.ResourceNotFoundException:
            raise NotThereYet(f"table {self.table} does not exist") from None
        if not arn:
            raise NotThereYet(f"table {self.table} has no stream (StreamSpecification)")
        self.arn: str = arn

    def shard_ids(self) -> list[str]:
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        return [s["ShardId"] for s in shards]

    def iterator(self, shard: str, position: str, timestamp: float | None, after: str | None) -> str:
        # DynamoDB Streams has no AT_TIMESTAMP (Lambda refuses it for DynamoDB); LATEST then.
        kind = "AFTER_SEQUENCE_NUMBER" if after else ("TRIM_HORIZON" if position == "TRIM_HORIZON" else "LATEST")
        extra = {"SequenceNumber": after} if after else {}
        return str(self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard, ShardIteratorType=kind,
                                                   **extra)["ShardIterator"])

    def read(self, shard: str, iterator: str, limit: int) -> Batch:
        got = self.streams.get_records(ShardIterator=iterator, Limit=min(limit, 1000))
        return Batch([self.record(r) for r in got["Records"]], got.get("NextShardIterator"), None)

    def record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A DynamoDB stream record as Lambda gives it (eventSourceARN added; the time in epoch seconds)."""
        change = dict(raw["dynamodb"])
        if "ApproximateCreationDateTime" in change:
            # Whole seconds, as a number, as DynamoDB Streams gives it by default.
            change["ApproximateCreationDateTime"] = float(int(_epoch(change["ApproximateCreationDateTime"])))
        return {"eventID": raw["eventID"], "eventName": raw["eventName"], "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": raw.get("awsRegion", self.region),
                "dynamodb": change, "eventSourceARN": self.arn}


class KinesisShards:
    def __init__(self, trigger: StreamTrigger, clients: Any, region: str, role_arn: str) -> None:
        self.name, self.region, self.role_arn = trigger.stream_name, region, role_arn
        self.kinesis = clients.client("kinesis")
        try:
            self.arn: str = self.kinesis.describe_stream_summary(StreamName=self.name)[
                "StreamDescriptionSummary"]["StreamARN"]
        except self.kinesis.exceptions.ResourceNotFoundException:
            raise NotThereYet(f"Kinesis stream {self.name} does not exist") from None

    def shard_ids(self) -> list[str]:
        return [s["ShardId"] for s in self.kinesis.list_shards(StreamName=self.name)["Shards"]]

    def iterator(self, shard: str, position: str, timestamp: float | None, after: str | None) -> str:
        extra: dict[str, Any] = {}
        if after:
            position, extra = "AFTER_SEQUENCE_NUMBER", {"StartingSequenceNumber": after}
        elif position == "AT_TIMESTAMP":
            extra = {"Timestamp": timestamp or 0.0}
        return str(self.kinesis.get_shard_iterator(StreamName=self.name, ShardId=shard, ShardIteratorType=position,
                                                   **extra)["ShardIterator"])

    def read(self, shard: str, iterator: str, limit: int) -> Batch:
        got = self.kinesis.get_records(ShardIterator=iterator, Limit=min(limit, 10000))
        return Batch([self.record(shard, r) for r in got["Records"]], got.get("NextShardIterator"),
                     got.get("MillisBehindLatest"))

    def record(self, shard: str, raw: dict[str, Any]) -> dict[str, Any]:
        """A Kinesis record as Lambda gives it: data in base64, the arrival in epoch seconds."""
        return {
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": raw["PartitionKey"],
                        "sequenceNumber": raw["SequenceNumber"], "data": base64.b64encode(raw["Data"]).decode(),
                        "approximateArrivalTimestamp": _epoch(raw["ApproximateArrivalTimestamp"])},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{shard}:{raw['SequenceNumber']}",
            "eventName": "aws:kinesis:record", "invokeIdentityArn": self.role_arn, "awsRegion": self.region,
            "eventSourceARN": self.arn,
        }


def sequence_number(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"] if "dynamodb" in record else record["kinesis"]["sequenceNumber"])


def arrival(record: dict[str, Any]) -> float:
    """When the record reached the stream, in epoch seconds."""
    if "dynamodb" in record:
        return float(record["dynamodb"].get("ApproximateCreationDateTime", 0))
    return float(record["kinesis"]["approximateArrivalTimestamp"])


def key_of(record: dict[str, Any]) -> str:
    """What ParallelizationFactor keeps in order: the partition key, or the item's key."""
    if "dynamodb" in record:
        return repr(sorted(record["dynamodb"].get("Keys", {}).items()))
    return str(record["kinesis"]["partitionKey"])
