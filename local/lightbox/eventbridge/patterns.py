"""Event patterns for EventBridge rules and Lambda's FilterCriteria: `parse(pattern) -> Pattern`,
`matches(pattern, event) -> bool`, `InvalidPattern`.

The matcher lives with the template (lightbox/template/patterns.py) so that every layer can use it:
the loader checks a template's patterns with it, and the SQS layer filters with it.
"""

from __future__ import annotations

from lightbox.template.patterns import InvalidPattern, Pattern, matches, parse

__all__ = ["InvalidPattern", "Pattern", "matches", "parse"]
