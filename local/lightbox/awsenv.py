"""The AWS SDKs' own environment, as lightbox sets it for functions: which variable names which
service's endpoint (botocore's rule), for --aws-passthrough."""

from __future__ import annotations

from lightbox.exceptions import LightboxError


def passthrough_endpoints(services: list[str], region: str) -> dict[str, str]:
    """AWS_ENDPOINT_URL_<SERVICE> = the real AWS endpoint, for each service named (boto3's names)."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import create_loader

    loader = create_loader()  # the service models alone: no profile or config file is read
    out = {}
    for name in services:
        try:
            metadata = loader.load_service_model(name, "service-2")["metadata"]
        except DataNotFoundError:
            raise LightboxError(f"--aws-passthrough {name!r}: no AWS service of that name (use the names "
                                "boto3.client takes: dynamodb, sns, secretsmanager, ssm ...)") from None
        variable = "AWS_ENDPOINT_URL_" + metadata["serviceId"].replace(" ", "_").upper()  # as botocore names it
        out[variable] = f"https://{metadata['endpointPrefix']}.{region}.amazonaws.com"
    return out
