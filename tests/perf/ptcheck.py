"""need(): the perf tests' checks. A bare assert disappears under
PYTHONOPTIMIZE (python3 -O); these do not."""


def need(cond, *detail):
    """Raise AssertionError with detail unless cond holds."""
    if not cond:
        raise AssertionError(detail[0] if len(detail) == 1 else detail)
