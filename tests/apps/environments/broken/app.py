import not_a_module_anywhere  # noqa: F401 - the point of this function


def handler(event, context):
    return "never"
