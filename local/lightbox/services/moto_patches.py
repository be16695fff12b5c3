"""Where moto's embedded server acts differently from what lightbox needs, the one change each.

SNS: moto delivers a published message to an `sqs` subscription by putting it on a queue of moto's
own SQS. The template's queues are not there (they are the emulator's, lightbox/sqs), so moto's
Publish failed with NonExistentQueue for every topic with such a subscription. Publish succeeds
as on AWS; a subscription whose queue is not on moto gets nothing (`lightbox up` says so in its
not-emulated lines until SNS delivery to the emulator's queues exists).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)


def tolerate_missing_sns_queues() -> None:
    from moto.sns.models import Subscription
    from moto.sqs.exceptions import QueueDoesNotExist

    publish = Subscription.publish
    if getattr(publish, "lightbox_patched", False):
        return

    @functools.wraps(publish)
    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            publish(self, *args, **kwargs)
        except QueueDoesNotExist:
            log.info("SNS: %s is not a queue of the embedded server; not delivered", self.endpoint)

    patched.lightbox_patched = True  # type: ignore[attr-defined]
    Subscription.publish = patched  # type: ignore[method-assign]
