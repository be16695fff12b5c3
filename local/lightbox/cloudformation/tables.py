"""AWS::DynamoDB::Table (and SAM's SimpleTable, which the transform turns into one) on the embedded
services: key schema, indexes, billing, stream and TTL as the template gives them."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

# CloudFormation's property names are the CreateTable API's, for these.
_SAME = ("AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput", "TableClass",
         "DeletionProtectionEnabled", "OnDemandThroughput")
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")


def create_table_args(name: str, props: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"TableName": name, **{k: props[k] for k in _SAME if k in props}}
    args.setdefault("BillingMode", "PROVISIONED" if "ProvisionedThroughput" in args else "PAY_PER_REQUEST")
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(kind):
            args[kind] = [{k: v for k, v in index.items() if k in _INDEX_KEYS} for index in props[kind]]
    stream = props.get("StreamSpecification") or {}
    if stream.get("StreamViewType"):
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    if props.get("Tags"):
        args["Tags"] = props["Tags"]
    return args


def provision(client: Any, name: str, props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(its Ref and attributes, whether it was created now); a table that exists is kept as it is."""
    created = False
    try:
        table = client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        table = client.create_table(**create_table_args(name, props))["TableDescription"]
        created = True
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
            client.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
    values = {"Ref": name, "Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        values["StreamArn"] = table["LatestStreamArn"]
    return values, created
