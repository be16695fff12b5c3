"""The AWS SDKs' own environment, as lightbox sets it for functions: which variable names which
service's endpoint (botocore's rule), for --aws-passthrough."""

from __future__ import annotations

from lightbox.exceptions import LightboxError


def passthrough_endpoints(services: list[str], region: str) -> dict[str, str]:
    """AWS_ENDPOINT_URL_<SERVICE> = the real AWS endpoint, for each service named (boto3's names)."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    session = botocore.session.Session()
    out = {}
    for name in services:
        try:
            model = session.get_service_model(name)
        except UnknownServiceError:
            raise LightboxError(f"--aws-passthrough {name!r}: no AWS service of that name (use the names "
                                "boto3.client takes: dynamodb, sns, secretsmanager, ssm ...)") from None
        variable = "AWS_ENDPOINT_URL_" + model.service_id.replace(" ", "_").upper()  # as botocore names it
        out[variable] = f"https://{model.endpoint_prefix}.{region}.amazonaws.com"
    return out
