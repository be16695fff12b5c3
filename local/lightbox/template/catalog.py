"""Every resource type, and the properties of the emulated ones, sorted into three kinds: emulated
(a builder reads it), accepted and ignored (it changes nothing locally: IAM, log groups, tracing ...;
listed with -v), and not emulated (it changes behaviour and does not happen here: one line each).

docs/templates.md is this table for people; keep the two in step.
"""

from __future__ import annotations

from typing import Any

# Types that change nothing a local run can observe.
QUIET_TYPES = {
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile",
    "AWS::Lambda::Permission", "AWS::Lambda::Version", "AWS::Lambda::Alias", "AWS::Lambda::CodeSigningConfig",
    "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::Logs::LogGroup",
    "AWS::Logs::LogStream", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::CDK::Metadata",
    "AWS::ApiGateway::Account", "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::DomainName",
    "AWS::ApiGateway::BasePathMapping", "AWS::ApiGatewayV2::Deployment",
    "AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping",
    "AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup", "AWS::Scheduler::ScheduleGroup",
    "AWS::ApplicationInsights::Application", "AWS::ResourceGroups::Group", "AWS::XRay::Group",
    "AWS::XRay::SamplingRule", "AWS::Lambda::LayerVersionPermission", "AWS::EC2::SecurityGroup",
    "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroupIngress", "AWS::EC2::VPCEndpoint",
}
# Read by builders (apis.py collects these; their findings are per route).
API_TYPES = {
    "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Resource", "AWS::ApiGateway::Method", "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Stage", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Authorizer",
    "AWS::ApiGatewayV2::Authorizer",
}
_NOT_EMULATED = {
    "AWS::DynamoDB::GlobalTable": "tables are not created locally yet; calls to it from functions fail",
    "AWS::StepFunctions::StateMachine": "state machines are not run",
    "AWS::ApiGateway::UsagePlan": "usage plans (throttling, quotas) are not enforced",
    "AWS::ApiGateway::UsagePlanKey": "usage plans are not applied: every enabled API key opens every method that "
                                      "requires one",
    "AWS::Logs::SubscriptionFilter": "log subscription filters are not run; the function behind it gets no logs",
    "AWS::Cognito::UserPool": "user pools are not emulated; sign-in calls from functions fail",
    "AWS::AppSync::GraphQLApi": "GraphQL APIs are not served",
}
# The SAM property that makes a resource of this type, for lines about a generated resource.
SAM_PROPERTIES = {"AWS::Lambda::Url": "FunctionUrlConfig", "AWS::Lambda::EventInvokeConfig": "EventInvokeConfig",
                  "AWS::DynamoDB::Table": "", "AWS::Logs::LogGroup": "LoggingConfig"}
# CloudFormation property -> what SAM calls it, where the two differ.
_SAM_NAMES = {"DeadLetterConfig": "DeadLetterQueue", "TracingConfig": "Tracing", "Role": "Policies"}


def sam_property(kind: str, prop: str, generated: bool) -> str:
    """A property of a resource the SAM transform made, as the user wrote it in SAM."""
    if generated and SAM_PROPERTIES.get(kind):
        return f"{SAM_PROPERTIES[kind]}.{prop}"
    return _SAM_NAMES.get(prop, prop) if kind == "AWS::Lambda::Function" else prop


_CUSTOM = "custom resources are not run: the function behind its ServiceToken is not invoked at start-up"

# Per emulated type: properties a builder reads, and properties that change behaviour and are not emulated.
_FUNCTION_READ = {"Code", "CodeUri", "Handler", "Runtime", "Timeout", "MemorySize", "Environment", "Layers",
                  "FunctionName", "TenancyConfig",
                  "PackageType", "Architectures", "ReservedConcurrentExecutions", "DeadLetterConfig", "ImageConfig"}
PROPERTIES: dict[str, tuple[set[str], dict[str, str]]] = {
    "AWS::Lambda::Function": (_FUNCTION_READ, {
        "FileSystemConfigs": "EFS file systems are not mounted; the function's mount path does not exist",
        "DurableConfig": "durable executions (checkpoints, waits, callbacks) are not emulated",
        "ReservedConcurrentExecutions": "is recorded, not enforced yet: invocations are not throttled",
    }),
    "AWS::Lambda::LayerVersion": ({"Content", "LayerName"}, {}),
    "AWS::SQS::Queue": ({"QueueName", "VisibilityTimeout", "RedrivePolicy", "FifoQueue", "DelaySeconds"}, {}),
    "AWS::S3::Bucket": ({"BucketName", "CorsConfiguration", "NotificationConfiguration", "VersioningConfiguration",
                         "WebsiteConfiguration", "ReplicationConfiguration", "ObjectLockConfiguration"}, {}),
    "AWS::Lambda::EventSourceMapping": ({"EventSourceArn", "FunctionName", "BatchSize", "Enabled",
                                         "FunctionResponseTypes", "MaximumBatchingWindowInSeconds", "FilterCriteria",
                                         "ScalingConfig", "StartingPosition", "StartingPositionTimestamp",
                                         "BisectBatchOnFunctionError", "MaximumRetryAttempts",
                                         "MaximumRecordAgeInSeconds", "ParallelizationFactor", "DestinationConfig",
                                         "TumblingWindowInSeconds", "MetricsConfig"}, {}),
    "AWS::Events::Rule": ({"ScheduleExpression", "State", "Targets", "EventPattern", "Name", "EventBusName"}, {}),
    "AWS::Events::EventBus": ({"Name"}, {}),
    "AWS::SNS::Subscription": ({"TopicArn", "Protocol", "Endpoint", "FilterPolicy", "FilterPolicyScope",
                                "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy", "ReplayPolicy"}, {}),
    "AWS::Scheduler::Schedule": ({"ScheduleExpression", "State", "Target", "FlexibleTimeWindow", "Name",
                                  "ScheduleExpressionTimezone", "StartDate", "EndDate"}, {}),
    "AWS::Lambda::EventInvokeConfig": ({"FunctionName", "Qualifier", "MaximumRetryAttempts",
                                        "MaximumEventAgeInSeconds", "DestinationConfig"}, {}),
    # Created on the embedded services at `lightbox up` (lightbox/cloudformation).
    "AWS::DynamoDB::Table": ({"TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
                              "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification",
                              "TimeToLiveSpecification", "TableClass", "DeletionProtectionEnabled",
                              "OnDemandThroughput"}, {
        "KinesisStreamSpecification": "changes are not copied to the Kinesis stream",
        "ImportSourceSpecification": "the table starts empty: nothing is imported from S3",
    }),
    "AWS::SNS::Topic": ({"TopicName", "Subscription", "DisplayName", "FifoTopic", "ContentBasedDeduplication",
                         "KmsMasterKeyId", "SignatureVersion", "TracingConfig", "ArchivePolicy",
                         "FifoThroughputScope"}, {}),
    "AWS::Kinesis::Stream": ({"Name", "ShardCount", "StreamModeDetails", "RetentionPeriodHours"}, {}),
    "AWS::SecretsManager::Secret": ({"Name", "SecretString", "GenerateSecretString", "Description", "KmsKeyId"}, {
        "ReplicaRegions": "the secret exists in one region locally",
    }),
    "AWS::SSM::Parameter": ({"Name", "Type", "Value", "Description", "AllowedPattern", "Tier", "DataType",
                             "Policies"}, {}),
}


# Served by the gateway (apigateway/function_urls.py, apikeys.py): no line, except what they leave out.
SERVED_TYPES = {"AWS::Lambda::Url", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::GatewayResponse"}


def type_message(kind: str, events: list[str], props: dict[str, Any]) -> str | None:
    """The not-emulated line for a resource type, or None when the type is emulated or quiet."""
    if (kind.startswith("Custom::") and kind != "Custom::S3BucketNotifications") or \
            kind == "AWS::CloudFormation::CustomResource":
        return _CUSTOM
    if kind == "AWS::Lambda::Url" and str(props.get("AuthType", "")).upper() == "AWS_IAM":
        return "AuthType AWS_IAM: request signatures are not checked locally; every caller is let in"
    message = _NOT_EMULATED.get(kind)
    if message and kind == "AWS::StepFunctions::StateMachine" and events:  # ["Schedule event Daily", ...]
        message += "; its " + ", ".join(events) + (" do" if len(events) > 1 else " does") + " not fire"
    return message


def is_known(kind: str) -> bool:
    return kind in QUIET_TYPES or kind in API_TYPES or kind in PROPERTIES or kind in _NOT_EMULATED or \
        kind in SERVED_TYPES


def property_findings(kind: str, props: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(property, message, kind) for each property of an emulated type that is not simply read."""
    if kind not in PROPERTIES:
        return []
    read, not_emulated = PROPERTIES[kind]
    out = []
    for prop in props:
        if prop in not_emulated:
            out.append((prop, not_emulated[prop], "not-emulated"))
        elif prop not in read:
            out.append((prop, "accepted; changes nothing locally", "ignored"))
    return out
