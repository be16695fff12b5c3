"""Lambda tenant isolation (`TenancyConfig: {TenantIsolationMode: PER_TENANT}`).

Such a function is invoked for a tenant: the Invoke API's `X-Amz-Tenant-Id` header (REST APIs set it
through an integration request parameter; HTTP APIs cannot), `context.tenant_id` in the handler, and
execution environments never shared between tenants. The trigger sets `tenant_id` around its
invocation; `Runtime.invoke` checks it against the function before anything runs.
"""

from __future__ import annotations

import contextvars
import re

from lightbox.exceptions import FunctionError
from lightbox.template.model import Function

# The tenant of the invocation being made (None: none given).
tenant_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("lightbox_tenant_id", default=None)
INVOKE_HEADER = "X-Amz-Tenant-Id"  # Lambda's Invoke API
RUNTIME_HEADER = "Lambda-Runtime-Aws-Tenant-Id"  # the Runtime API's /next, read by awslambdaric
# The Invoke API's TenantId: 1 to 256 of these characters.
_VALID = re.compile(r"[a-zA-Z0-9._:/=+\-@ ]{1,256}")


class TenancyError(FunctionError):
    """The invocation is refused before the function runs (the Invoke API's 400)."""

    error_type = "InvalidParameterValueException"


def tenant_of(fn: Function) -> str | None:
    """The tenant this invocation runs for; refuses one missing for an isolated function, given to a
    function without isolation, or not of the accepted form."""
    tenant = tenant_id.get()
    if fn.tenant_isolation and not tenant:
        raise TenancyError(f"{fn.name} has tenant isolation (TenancyConfig PER_TENANT): the invocation needs a "
                           f"tenant id ({INVOKE_HEADER}); none was given")
    if tenant and not fn.tenant_isolation:
        raise TenancyError(f"{fn.name} has no tenant isolation (no TenancyConfig): a tenant id "
                           f"({tenant!r}) is not accepted for it")
    if tenant is not None and not _VALID.fullmatch(tenant):
        raise TenancyError(f"tenant id {tenant!r}: 1 to 256 characters of letters, digits and . _ : / = + - @ space")
    return tenant
