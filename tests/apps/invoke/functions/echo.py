import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    print(f"echo got {event!r}")
    logger.info("echo from %s", context.function_name)
    return {"echo": event, "function": context.function_name}
