"""Event source mappings as pure code: stream mappings read from templates, FilterCriteria as Lambda
applies it to SQS and Kinesis records, and the on-failure invocation record of a stream batch."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from template_helpers import load

from lightbox.eventsources.destinations import failure_record
from lightbox.eventsources.filters import InvalidFilter, compile_filters, keeper, kinesis_view, sqs_view
from lightbox.eventsources.shards import key_of, sequence_number
from lightbox.sqs.messages import new_message
from lightbox.template.model import StreamTrigger


def test_sam_dynamodb_and_kinesis_events_become_stream_mappings_with_every_setting(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Table:
          Type: AWS::DynamoDB::Table
          Properties:
            TableName: things
            AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
            KeySchema: [{AttributeName: pk, KeyType: HASH}]
            StreamSpecification: {StreamViewType: NEW_IMAGE}
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            Events:
              Changes:
                Type: DynamoDB
                Properties:
                  Stream: !GetAtt Table.StreamArn
                  StartingPosition: TRIM_HORIZON
                  BatchSize: 7
                  MaximumBatchingWindowInSeconds: 2
                  BisectBatchOnFunctionError: true
                  MaximumRetryAttempts: 3
                  MaximumRecordAgeInSeconds: 600
                  ParallelizationFactor: 2
                  FunctionResponseTypes: [ReportBatchItemFailures]
                  FilterCriteria: {Filters: [{Pattern: '{"eventName": ["INSERT"]}'}]}
                  DestinationConfig: {OnFailure: {Destination: arn:aws:sqs:us-east-1:000000000000:dead}}
              Clicks:
                Type: Kinesis
                Properties:
                  Stream: arn:aws:kinesis:us-east-1:000000000000:stream/clicks
                  StartingPosition: LATEST
                  Enabled: false
    """)
    changes, clicks = sorted(t.function("Fn").of_kind(StreamTrigger), key=lambda s: s.event_name)
    assert changes.source == "dynamodb" and changes.stream_name == "things"
    assert (changes.starting_position, changes.batch_size, changes.maximum_batching_window) == ("TRIM_HORIZON", 7, 2)
    assert changes.bisect_on_error and changes.maximum_retry_attempts == 3 and changes.maximum_record_age == 600
    assert changes.parallelization_factor == 2 and changes.report_batch_item_failures
    assert changes.filter_criteria == ({"Pattern": '{"eventName": ["INSERT"]}'},)
    assert changes.on_failure == "arn:aws:sqs:us-east-1:000000000000:dead"
    assert clicks.source == "kinesis" and clicks.stream_name == "clicks" and not clicks.enabled
    assert clicks.batch_size == 100 and clicks.maximum_retry_attempts == -1  # Lambda's defaults for streams
    assert not [f for f in t.shown() if "event source mapping" in f.line()]


def test_a_starting_position_lambda_does_not_know_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="StartingPosition: must be one of TRIM_HORIZON, LATEST, AT_TIMESTAMP"):
        load(tmp_path, """
            Mapping:
              Type: AWS::Lambda::EventSourceMapping
              Properties:
                EventSourceArn: arn:aws:kinesis:us-east-1:000000000000:stream/s
                FunctionName: f
                StartingPosition: OLDEST
        """)


def test_at_timestamp_on_a_dynamodb_stream_is_a_line_and_latest(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Mapping:
          Type: AWS::Lambda::EventSourceMapping
          Properties:
            EventSourceArn: arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000
            FunctionName: !Ref Fn
            StartingPosition: AT_TIMESTAMP
            StartingPositionTimestamp: 1700000000
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.12}
    """)
    [trig] = t.function("Fn").of_kind(StreamTrigger)
    assert trig.starting_position == "LATEST" and trig.stream_name == "t"
    assert "Mapping (AWS::Lambda::EventSourceMapping): StartingPosition: AT_TIMESTAMP is for Kinesis; AWS refuses it " \
           "for a DynamoDB stream at deploy (read as LATEST here)" in [f.line() for f in t.shown()]


def test_sqs_filters_see_a_json_body_as_data_and_anything_else_as_text() -> None:
    keep = keeper(compile_filters(({"Pattern": '{"body": {"kind": ["order"], "total": [{"numeric": [">", 10]}]}}'},),
                                  "Fn"), sqs_view)
    assert keep(new_message(json.dumps({"kind": "order", "total": 12})))
    assert not keep(new_message(json.dumps({"kind": "order", "total": 3})))
    assert not keep(new_message("kind=order"))
    text = keeper(compile_filters(({"Pattern": '{"body": [{"prefix": "hello"}]}'},), "Fn"), sqs_view)
    assert text(new_message("hello there")) and not text(new_message('{"hello": 1}'))


def test_any_filter_matching_is_enough_and_no_filters_keep_everything() -> None:
    either = keeper(compile_filters(({"Pattern": '{"body": {"a": [1]}}'}, {"Pattern": '{"body": {"b": [2]}}'}), "Fn"),
                    sqs_view)
    assert either(new_message('{"b": 2}')) and not either(new_message('{"c": 3}'))
    assert keeper([], sqs_view)(new_message("anything"))


def test_kinesis_filters_name_the_decoded_data_at_the_top() -> None:
    record = {"kinesis": {"data": base64.b64encode(b'{"kind": "click"}').decode(), "partitionKey": "u",
                          "sequenceNumber": "7"}}
    assert kinesis_view(record)["data"] == {"kind": "click"}
    keep = keeper(compile_filters(({"Pattern": '{"data": {"kind": ["click"]}}'},), "Fn"), kinesis_view)
    assert keep(record)
    binary = {"kinesis": {"data": base64.b64encode(b"\xff\xfe").decode(), "partitionKey": "u", "sequenceNumber": "8"}}
    assert not keep(binary)
    assert sequence_number(record) == "7" and key_of(record) == "u"


def test_a_pattern_lambda_refuses_names_the_mapping() -> None:
    with pytest.raises(InvalidFilter, match=r"Fn.Orders: FilterCriteria.Filters\[0\].Pattern: .*not JSON"):
        compile_filters(({"Pattern": "{body"},), "Fn.Orders")


def test_the_on_failure_record_of_a_kinesis_batch_is_aws_s() -> None:
    trig = StreamTrigger("kinesis", "arn:aws:kinesis:us-east-1:000000000000:stream/s", "E")
    batch = [{"kinesis": {"sequenceNumber": str(n), "approximateArrivalTimestamp": 1700000000.5 + n}}
             for n in (4, 5, 6)]
    rec = failure_record("arn:aws:lambda:us-east-1:000000000000:function:f", trig, trig.arn, "shardId-000000000000",
                         batch, 3, "RetryAttemptsExhausted", "boom")
    assert rec["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 3
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert rec["KinesisBatchInfo"] == {
        "shardId": "shardId-000000000000", "startSequenceNumber": "4", "endSequenceNumber": "6",
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:24.500Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:13:26.500Z", "batchSize": 3, "streamArn": trig.arn}
