"""Lightbox: run AWS SAM and CloudFormation apps on one machine, with their real triggers.

Where things are (docs/architecture.md walks through them): `template` reads a template into a
typed model; `runtime` is the Lambda service; `apigateway`, `sqs`, `s3` and `eventbridge` are the
event sources; `queueing` is the RQ queue and worker they deliver through; `services` starts the
embedded cloud; `stack` is what `lightbox up` runs; `testing` is the pytest plugin; `config` holds
every setting.
"""
