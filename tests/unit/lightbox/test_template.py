"""Templates -> the model: SAM through the SAM transform, raw CloudFormation, the names users see."""

from __future__ import annotations

from pathlib import Path

from template_helpers import load, write

from lightbox.template.loader import load_template, stack_name_for
from lightbox.template.model import (
    EventInvokeConfig,
    HttpRoute,
    QueueNotification,
    S3Trigger,
    ScheduleTrigger,
    SqsTrigger,
)

SAMPLE = Path(__file__).resolve().parents[2] / "apps" / "sample" / "template.yaml"


def test_sample_template_model() -> None:
    t = load_template(SAMPLE)
    http = t.function("HttpFunction")
    assert http.timeout == 5 and http.memory_size == 256 and http.runtime == "python3.11"
    # Globals variables merge with the function's own; Ref of a queue is its URL.
    assert http.environment["GREETING"] == "hello"
    assert http.environment["WORK_QUEUE_URL"] == "http://127.0.0.1:3000/_lightbox/sqs/000000000000/sample-work"
    assert http.layers == [SAMPLE.parent / "layer"]
    assert HttpRoute("GET", "/hello/{name}", "2.0", "Hello", "ServerlessHttpApi", "$default") in http.triggers
    assert t.function("SlowFunction").timeout == 1  # function value beats Globals
    assert HttpRoute("GET", "/slow", "1.0", "Slow", "ServerlessRestApi", "Prod") in t.function("SlowFunction").triggers
    [s3] = t.function("S3Function").triggers
    assert s3 == S3Trigger("sample-uploads", ("s3:ObjectCreated:*",), "incoming/", ".txt", "Upload")
    [sqs] = t.function("QueueFunction").triggers
    assert sqs == SqsTrigger("sample-work", 5, True, True, "Work")
    [cron] = t.function("CronFunction").triggers
    assert cron == ScheduleTrigger("rate(1 minute)", '{"source": "sample-schedule"}', True, "Every",
                                   "CronFunctionEvery")
    work = t.queues["sample-work"]
    assert (work.visibility_timeout, work.dead_letter_queue, work.max_receive_count) == (10, "sample-work-dlq", 3)
    assert set(t.buckets) == {"sample-uploads", "sample-inbox"}
    assert t.buckets["sample-inbox"].queue_notifications == (
        QueueNotification("sample-inbox-events", ("s3:ObjectCreated:*",), "", ".json"),)
    assert t.buckets["sample-uploads"].cors_rules == (
        {"AllowedMethods": ["POST", "PUT"], "AllowedHeaders": ["*"], "AllowedOrigins": ["http://app.example"],
         "MaxAgeSeconds": 600},)
    assert t.shown() == []  # everything in it is emulated or changes nothing
    assert t.resources["WorkQueue"].properties["RedrivePolicy"]["maxReceiveCount"] == 3
    assert t.resources["HttpFunctionRole"].type == "AWS::IAM::Role"  # what the SAM transform made, too


def test_parameter_overrides_and_sub(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            Environment:
              Variables:
                NAME: !Sub "${Stage}-${AWS::Region}-${Q.QueueName}"
                LITERAL: !Sub "${!NotResolved}"
                JOINED: !Join ["-", [a, !Ref Stage]]
        Q:
          Type: AWS::SQS::Queue
    """, extra="Parameters:\n  Stage:\n    Type: String\n    Default: dev\n", parameter_overrides={"Stage": "prod"})
    assert t.function("Fn").environment == {"NAME": "prod-us-east-1-Q", "LITERAL": "${NotResolved}",
                                             "JOINED": "a-prod"}


def test_raw_functions_and_their_event_sources(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Lambda::Function
          Properties:
            Handler: app.handler
            Code: fn/
            Runtime: nodejs20.x
            FunctionName: my-fn
            Architectures: [arm64]
            ReservedConcurrentExecutions: 2
            DeadLetterConfig: {TargetArn: !GetAtt Dlq.Arn}
        Dlq: {Type: AWS::SQS::Queue}
        Mapping:
          Type: AWS::Lambda::EventSourceMapping
          Properties: {EventSourceArn: !GetAtt Dlq.Arn, FunctionName: !GetAtt Fn.Arn, BatchSize: "3",
                       Enabled: "false", MaximumBatchingWindowInSeconds: 5}
        Config:
          Type: AWS::Lambda::EventInvokeConfig
          Properties:
            FunctionName: !Ref Fn
            Qualifier: $LATEST
            MaximumRetryAttempts: 0
            DestinationConfig: {OnFailure: {Destination: !GetAtt Dlq.Arn}}
        Rule:
          Type: AWS::Events::Rule
          Properties:
            ScheduleExpression: cron(0 12 * * ? *)
            State: DISABLED
            Targets: [{Id: t, Arn: !GetAtt Fn.Arn, Input: {"a": 1}}]
        Every:
          Type: AWS::Scheduler::Schedule
          Properties:
            ScheduleExpression: rate(1 hour)
            FlexibleTimeWindow: {Mode: FLEXIBLE, MaximumWindowInMinutes: 10}
            Target: {Arn: !GetAtt Fn.Arn, RoleArn: arn:aws:iam::1:role/r}
    """, head="")
    fn = t.function("Fn")
    assert t.function("my-fn") is fn  # found by FunctionName too, as `sam local invoke` finds it
    assert (fn.runtime, fn.function_name, fn.architectures, fn.reserved_concurrency) == (
        "nodejs20.x", "my-fn", ("arm64",), 2)
    assert fn.dead_letter_arn == "arn:aws:sqs:us-east-1:000000000000:Dlq"
    assert fn.event_invoke_config == EventInvokeConfig(0, None, None, "arn:aws:sqs:us-east-1:000000000000:Dlq")
    assert SqsTrigger("Dlq", 3, False, False, "Mapping", 5) in fn.triggers
    assert ScheduleTrigger("cron(0 12 * * ? *)", '{"a": 1}', False, "Rule", "Rule") in fn.triggers
    assert ScheduleTrigger("rate(1 hour)", None, True, "Every", "Every", 10, scheduler=True) in fn.triggers


def test_layers_by_arn_across_stacks_and_sam_names_of_generated_resources(tmp_path: Path) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    t = load(tmp_path, """
        Lib:
          Type: AWS::Serverless::LayerVersion
          Properties: {ContentUri: layer/}
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            AutoPublishAlias: live
            Layers: [!Ref Lib]
            EventInvokeConfig: {MaximumRetryAttempts: 1}
            Events:
              Q: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, FilterCriteria: {Filters: [{Pattern: "{}"}]}}}
        Q: {Type: AWS::SQS::Queue}
    """)
    fn = t.function("Fn")
    assert fn.layers == [tmp_path / "layer"]  # SAM renames the layer (Lib<hash>); its ARN still finds the folder
    assert fn.event_invoke_config == EventInvokeConfig(1)
    [trig] = fn.triggers  # the mapping targets the alias (Fn:live): the function still gets it
    assert trig.queue == "Q" and trig.event_name == "Q" and trig.filter_criteria == ({"Pattern": "{}"},)
    assert not [f for f in t.shown() if "FilterCriteria" in f.line()]  # applied by the SQS poller


def test_http_apis_from_route_and_integration_resources_and_quick_create(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Lambda::Function
          Properties: {Handler: app.handler, Code: fn/, Runtime: python3.12}
        Api:
          Type: AWS::ApiGatewayV2::Api
          Properties: {Name: a, ProtocolType: HTTP}
        Integration:
          Type: AWS::ApiGatewayV2::Integration
          Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn,
                       PayloadFormatVersion: "2.0"}
        Route:
          Type: AWS::ApiGatewayV2::Route
          Properties: {ApiId: !Ref Api, RouteKey: "GET /items/{id}",
                       Target: !Join [/, [integrations, !Ref Integration]]}
        Default:
          Type: AWS::ApiGatewayV2::Route
          Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integration}"}
        Quick:
          Type: AWS::ApiGatewayV2::Api
          Properties: {Name: q, ProtocolType: HTTP, Target: !GetAtt Fn.Arn, RouteKey: POST /quick}
    """, head="")
    routes = {(r.method, r.path, r.payload_version, r.api) for _, r in t.routes()}
    assert routes == {("GET", "/items/{id}", "2.0", "Api"), ("ANY", "/{proxy+}", "2.0", "Api"),
                      ("POST", "/quick", "2.0", "Quick")}


def test_openapi_bodies_routes_and_what_they_do_not_emulate(tmp_path: Path) -> None:
    t = load(tmp_path, """
        MyApi:
          Type: AWS::Serverless::Api
          Properties:
            StageName: live
            Cors: "'*'"
            Auth:
              DefaultAuthorizer: MyAuth
              Authorizers:
                MyAuth: {FunctionArn: !GetAtt Fn.Arn}
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            Events:
              Get: {Type: Api, Properties: {RestApiId: !Ref MyApi, Path: /x, Method: get}}
              Open: {Type: Api, Properties: {RestApiId: !Ref MyApi, Path: /open, Method: get,
                                             Auth: {Authorizer: NONE}}}
    """)
    routes = {r.path: r for _, r in t.routes()}
    assert routes["/x"] == HttpRoute("GET", "/x", "1.0", "Get", "MyApi", "live", "MyAuth")
    assert routes["/open"].authorizer is None
    assert [f.line() for f in t.shown()] == []  # Lambda authorizers are enforced (apigateway/access.py)
    api = t.apis[routes["/x"].api_id]
    assert api.cors is not None and api.cors.allow_origins == ("*",) and api.stage == "live"
    assert {(r.method, r.path, r.integration.type) for r in api.routes} >= {("OPTIONS", "/x", "MOCK"),
                                                                            ("GET", "/x", "AWS_PROXY")}


def test_nested_stacks_names_parameters_and_outputs(tmp_path: Path) -> None:
    (tmp_path / "child.yaml").write_text(
        "Parameters:\n  Size: {Type: Number}\nResources:\n  Q: {Type: AWS::SQS::Queue}\n  Fn:\n"
        "    Type: AWS::Lambda::Function\n    Properties: {Handler: app.handler, Code: fn/, Runtime: python3.12,"
        " MemorySize: !Ref Size, Environment: {Variables: {STACK: !Ref AWS::StackName}}}\n"
        "Outputs:\n  Url: {Value: !Ref Q}\n")
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(e, c):\n    return e\n")
    t = load(tmp_path, """
        A:
          Type: AWS::CloudFormation::Stack
          Properties: {TemplateURL: child.yaml, Parameters: {Size: 256}}
        B:
          Type: AWS::Serverless::Application
          Properties: {Location: ./child.yaml, Parameters: {Size: "512"}}
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            Environment: {Variables: {A_URL: !GetAtt A.Outputs.Url}}
    """)
    assert sorted(t.functions) == ["A/Fn", "B/Fn", "Fn"]
    assert (t.function("A/Fn").memory_size, t.function("B/Fn").memory_size) == (256, 512)
    assert t.function("A/Fn").function_name == "A-Fn"
    assert t.function("A/Fn").environment["STACK"].startswith(f"{stack_name_for(tmp_path)}-A-")
    assert set(t.queues) == {"A-Q", "B-Q"}  # the same logical id in two children
    assert t.function("Fn").environment["A_URL"] == "http://127.0.0.1:3000/_lightbox/sqs/000000000000/A-Q"
    assert tmp_path / "child.yaml" in t.files


def test_cdk_assets_and_construct_names(tmp_path: Path) -> None:
    (tmp_path / "asset.abc").mkdir()
    (tmp_path / "asset.abc" / "index.py").write_text("def main(e, c):\n    return 1\n")
    path = write(tmp_path, """
        HandlerABC123:
          Type: AWS::Lambda::Function
          Properties:
            Code:
              S3Bucket: !Ref AssetParametersS3Bucket
              S3Key: !Join ["", [!Select [0, !Split ["||", !Ref AssetParametersKey]], x]]
            Handler: index.main
            Runtime: python3.12
          Metadata: {aws:cdk:path: App/Handler/Resource, aws:asset:path: asset.abc, aws:asset:property: Code}
    """, extra="Parameters:\n  AssetParametersS3Bucket: {Type: String}\n  AssetParametersKey: {Type: String}\n",
                 head="")
    fn = load_template(path, data_dir=tmp_path / "data").function("Handler")
    assert fn.code_uri == tmp_path / "asset.abc" and fn.handler_found and fn.logical_id == "HandlerABC123"


def test_import_values_given_as_overrides_and_service_integrations_said(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            Environment: {Variables: {VPC: !ImportValue network-VpcId}}
        Api:
          Type: AWS::Serverless::HttpApi
          Properties:
            DefinitionBody:
              openapi: "3.0.1"
              info: {title: t, version: "1"}
              paths:
                /submit:
                  post:
                    x-amazon-apigateway-integration:
                      type: aws_proxy
                      integrationSubtype: SQS-SendMessage
                      payloadFormatVersion: "1.0"
                      requestParameters: {QueueUrl: x, MessageBody: $request.body}
    """, parameter_overrides={"network-VpcId": "vpc-123"})
    assert t.function("Fn").environment["VPC"] == "vpc-123"
    assert [f.line() for f in t.shown()] == [
        "Api (AWS::Serverless::HttpApi): POST /submit sends to 'x', not a queue of this template: it answers 500 "
        "here"]


def test_an_event_sam_does_not_add_to_a_definition_body_is_said(tmp_path: Path) -> None:
    t = load(tmp_path, """
        MyApi:
          Type: AWS::Serverless::Api
          Properties:
            StageName: dev
            DefinitionBody:
              swagger: "2.0"
              info: {title: t}
              paths:
                /a:
                  get:
                    x-amazon-apigateway-integration:
                      httpMethod: POST
                      type: aws_proxy
                      uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            Runtime: python3.12
            CodeUri: fn/
            Events:
              B: {Type: Api, Properties: {Path: /b, Method: get, RestApiId: !Ref MyApi}}
    """)
    assert [(r.method, r.path) for _, r in t.routes()] == [("GET", "/a")]
    assert [f.line() for f in t.shown()] == [
        "Fn (AWS::Serverless::Function): Events.B: GET /b is not a route of its API: SAM adds events to an API that "
        "has a DefinitionBody only with MergeDefinitions: true (on AWS too); it is not served"]
