"""One line for each resource or property that changes behaviour and is not emulated, in the user's names;
what changes nothing stays quiet unless asked for (-v); --strict turns the lines into errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from template_helpers import lines, load

from lightbox.exceptions import TemplateErrors
from lightbox.runtime.invoke import runtime_findings
from lightbox.template.loader import load_template, refuse_not_emulated

HERE = Path(__file__).resolve().parent
FN = "AWS::Serverless::Function"


def test_each_thing_not_emulated_gets_one_line() -> None:
    t = load_template(HERE / "templates" / "not-emulated" / "template.yaml", data_dir=Path("/tmp/lightbox-test"))
    assert lines(t) == [
        "Q (AWS::SQS::Queue): FifoQueue: FIFO ordering and deduplication are not emulated; messages are delivered as "
        "by a standard queue",
        "Custom (Custom::Thing): custom resources are not run: the function behind its ServiceToken is not invoked "
        "at start-up",
        "Odd (AWS::Glue::Job): AWS::Glue::Job resources are not emulated: it is not created, and Ref/GetAtt on it "
        "give placeholders",
        "Odd (AWS::Glue::Job): Foo: Fn::GetAtt Odd.Foo is not emulated; it gives "
        "'arn:aws:glue:us-east-1:000000000000:job/Odd/Foo'",
        f"Fn ({FN}): ReservedConcurrentExecutions: is recorded, not enforced yet: invocations are not throttled",
        f"Fn ({FN}): Events.Logs: log subscription filters are not run; the function behind it gets no logs",
        f"Fn ({FN}): Events.Tz.Properties.ScheduleExpressionTimezone: Europe/Paris is not applied: the schedule runs "
        "in UTC",
        "Sm (AWS::Serverless::StateMachine): state machines are not run; its Schedule event Daily, Api event Call "
        "do not fire",
        "Remote (AWS::Serverless::Application): Location: applications from the Serverless Application Repository "
        "are not fetched: this nested stack is not loaded, its resources do not exist locally",
        "ServerlessRestApi (AWS::Serverless::Api): DefinitionBody: AWS service integrations (arn:aws:apigateway:"
        "us-east-1:states:action/StartExecution) are not emulated; these routes answer 500 here: POST /sm",
        "Ext (AWS::Lambda::EventSourceMapping): EventSourceArn: queue other is not a queue of this template: its "
        "messages are not delivered",
        "Ext2 (AWS::Lambda::EventSourceMapping): FunctionName: arn:aws:lambda:us-east-1:1:function:elsewhere is not "
        "a function of this template: nothing is invoked",
        "Box (AWS::S3::Bucket): NotificationConfiguration: elsewhere is not a queue of this template: notifications "
        "to it are not sent",
    ]


def test_quiet_things_are_listed_only_when_asked(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.12, Tracing: Active}
        Group:
          Type: AWS::Logs::LogGroup
    """)
    assert t.shown() == []
    quiet = [f.line() for f in t.shown(verbose=True)]
    assert f"Fn ({FN}): Tracing: accepted; changes nothing locally" in quiet
    assert "Group (AWS::Logs::LogGroup): accepted; changes nothing locally" in quiet


def test_warnings_a_missing_handler_an_s3_code_location_a_public_layer_no_transform(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Missing:
          Type: AWS::Serverless::Function
          Properties: {Handler: nope.handler, CodeUri: fn/, Runtime: python3.12}
        Remote:
          Type: AWS::Lambda::Function
          Properties: {Handler: app.handler, Code: {S3Bucket: b, S3Key: k.zip}, Runtime: python3.12,
                       Layers: [arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:21]}
    """, head="")
    assert not t.function("Missing").handler_found and not t.function("Remote").handler_found
    assert lines(t) == [
        "template.yaml (Transform): the template has AWS::Serverless resources but no "
        "`Transform: AWS::Serverless-2016-10-31`; AWS would refuse it at deploy (the transform is applied here anyway)",
        "Remote (AWS::Lambda::Function): Layers[0]: arn:aws:lambda:us-east-1:580247275435:layer:"
        "LambdaInsightsExtension:21: a layer from outside the template is not downloaded; the function runs with "
        "what is installed (pip install the layer's packages into the environment lightbox runs in)",
        "Remote (AWS::Lambda::Function): Code: s3://b/k.zip is an S3 location, which is not fetched (give a local "
        "path); invocations fail",
        f"Missing ({FN}): Handler: nope.handler: no such file in {tmp_path / 'fn'}; invocations fail with "
        "Runtime.ImportModuleError, as on Lambda",
    ]


def test_runtimes_and_images_the_runtime_does_not_run_are_its_lines(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Ruby:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: ruby3.3}
        Image:
          Type: AWS::Serverless::Function
          Properties: {PackageType: Image, ImageUri: 123.dkr.ecr.us-east-1.amazonaws.com/app:1}
    """)
    assert (t.function("Ruby").runtime, t.function("Image").package_type) == ("ruby3.3", "Image")
    assert t.function("Image").image_uri == "123.dkr.ecr.us-east-1.amazonaws.com/app:1"
    assert [f.line() for f in runtime_findings(t)] == [
        f"Ruby ({FN}): Runtime: ruby3.3: this runtime is not run here (runs: python3.9-3.13, nodejs18.x/20.x/22.x, "
        "provided, provided.al2, provided.al2023); invocations fail",
        f"Image ({FN}): PackageType: PackageType Image functions are not run (they need a container runtime); "
        "invocations fail",
    ]


def test_strict_turns_every_line_into_an_error(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Table:
          Type: AWS::DynamoDB::GlobalTable
          Properties: {KeySchema: [{AttributeName: id, KeyType: HASH}],
                       AttributeDefinitions: [{AttributeName: id, AttributeType: S}]}
    """, head="")
    with pytest.raises(TemplateErrors) as err:
        refuse_not_emulated(t)
    assert str(err.value) == ("Table: tables are not created locally yet; calls to it from functions fail "
                              "(AWS::DynamoDB::GlobalTable; not emulated, and --strict refuses it)")


def test_more_lines_for_raw_resources() -> None:
    t = load_template(HERE / "templates" / "more-lines" / "template.yaml", data_dir=Path("/tmp/lightbox-test"))
    assert lines(t) == [
        "Meta (AWS::CDK::Metadata): Condition: names no condition of this template: 'Undeclared' (Conditions: none); "
        "AWS would refuse this template at deploy (the resource is kept)",
        "Layer (AWS::Lambda::LayerVersion): Content: {'S3Bucket': 'b', 'S3Key': 'l.zip'} is not a local folder or "
        ".zip; functions using this layer run without it",
        "Fn (AWS::Lambda::Function): CodeUri: is SAM's property; AWS::Lambda::Function takes Code, and AWS would "
        "refuse it at deploy (read as Code here, as SAM CLI reads it)",
        "Rule (AWS::Events::Rule): Targets[0].InputTransformer: is not applied on a schedule: the target gets the "
        "scheduled event as it is",
        "Sched (AWS::Scheduler::Schedule): StartDate: is not applied: the schedule fires from start-up until lightbox "
        "stops",
        "Far (AWS::CloudFormation::Stack): TemplateURL: 'https://s3.amazonaws.com/b/child.yaml' is not a local "
        "template: this nested stack is not loaded, its resources do not exist locally",
        "Ws (AWS::ApiGatewayV2::Api): ProtocolType: WebSocket APIs are not emulated; their routes are not served",
        "Spec (AWS::ApiGateway::RestApi): BodyS3Location: {'Bucket': 'b', 'Key': 'k.yaml'} is not a local file: its "
        "routes are not served",
        "Lost (AWS::ApiGateway::Method): ResourceId: 'nowhere' is not a resource of a REST API of this template: this "
        "method is not served",
        "H2 (AWS::ApiGatewayV2::Api): GET /same is also a route of H1: all APIs share one port locally, and one of "
        "them answers it",
        "Inv (AWS::Lambda::EventInvokeConfig): FunctionName: elsewhere is not a function of this template",
        "Notes (Custom::S3BucketNotifications): BucketName: not-mine is not a bucket of this template: its "
        "notifications are not sent",
    ]
    assert t.function("Fn").handler_found  # CodeUri was read as Code


def test_timeout_below_lambdas_minimum_says_aws_refuses_it_and_runs_with_the_default(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return event\n")
    t = load(tmp_path, """
        Zero:
          Type: AWS::Lambda::Function
          Properties: {Handler: app.handler, Code: fn/, Runtime: python3.12, Timeout: 0}
    """)
    assert t.function("Zero").timeout == 3
    assert lines(t) == ["Zero (AWS::Lambda::Function): Timeout: 0 is below Lambda's minimum of 1 second; AWS would "
                        "refuse this template at deploy (runs with the default 3 s here)"]


def test_a_body_s3_location_file_with_intrinsics_and_an_any_key_gets_lines(tmp_path: Path) -> None:
    # CDK's SpecRestApi from an asset: CloudFormation reads the file as it is, and `any` is no OpenAPI method
    (tmp_path / "spec.yaml").write_text("""
openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /all:
    any:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: {"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"}
""")
    t = load(tmp_path, """
        Api:
          Type: AWS::ApiGateway::RestApi
          Properties: {BodyS3Location: spec.yaml}
    """, head="")
    assert lines(t) == [
        "Api (AWS::ApiGateway::RestApi): BodyS3Location: spec.yaml: CloudFormation evaluates no intrinsic function "
        "(Fn::Sub, Ref ...) in this file (AWS::Include in Body does); integrations written with them name no "
        "function here either",
        "Api (AWS::ApiGateway::RestApi): DefinitionBody: `any` is not an OpenAPI operation: API Gateway ignores it "
        "(ANY is x-amazon-apigateway-any-method); not served: any /all",
    ]


def test_what_sam_cli_runs_and_the_sam_transform_refuses_runs_with_a_line(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Api:
          Type: AWS::Serverless::Api
          Properties:
            StageName: Prod
            Auth:
              Authorizers:
                Token: {FunctionArn: !GetAtt Fn.Arn}
        Http:
          Type: AWS::Serverless::HttpApi
          Properties:
            CorsConfiguration: {AllowOrigins: ["*"], AllowCredentials: true, AllowMethods: [GET]}
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            Events:
              Get:
                Type: Api
                Properties: {Path: /a, Method: get, RestApiId: !Ref Api, Auth: {Authorizer: !Ref Which}}
              Open:
                Type: HttpApi
                Properties: {Path: /b, Method: get, ApiId: !Ref Http}
    """, extra="Parameters:\n  Which: {Type: String, Default: Token}\n")
    assert lines(t) == [
        "Http (AWS::Serverless::HttpApi): CorsConfiguration.AllowCredentials: true with a '*' (or no) AllowOrigins: "
        "AWS's SAM transform refuses this at deploy; served without credentials here",
        f"Fn ({FN}): Events.Get.Properties.Auth.Authorizer: !Ref Which: AWS's SAM transform refuses this at deploy "
        "(it takes an authorizer's name); 'Token', the parameter's value, is used here",
    ]
    routes = {r.path: r for api in t.apis.values() for r in api.routes}
    assert routes["/a"].authorizer == "Token"
    http = next(api for api in t.apis.values() if api.type == "HTTP")
    assert http.cors is not None and http.cors.allow_origins == ("*",) and not http.cors.allow_credentials
