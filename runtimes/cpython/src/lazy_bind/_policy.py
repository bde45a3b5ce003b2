"""Builds the policy text handed to the engine (``lazy_bind_policy_parse``)."""

from . import _native

MODES = {"none": 0, "normal": 1, "all": 2}
_text = None


def read(policy):
    """Policy text, reading ``@path`` files."""
    policy = policy.strip()
    if policy.startswith("@"):
        with open(policy[1:], encoding="utf-8") as file:
            return file.read()
    return policy


def sets_mode(text):
    """Whether policy ``text`` has a ``mode`` statement of its own."""
    statements = text.replace(";", "\n").split("\n")
    return any(statement.split("#")[0].split()[:1] == ["mode"] for statement in statements)


def apply(text, mode, default_rules):
    """Makes ``text`` plus ``default_rules`` the policy in force.

    ``mode`` applies unless the text has its own ``mode`` statement. The
    text is parsed alone first, so that its errors name its own lines.
    """
    global _text
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    _native.set_policy(text)
    rules = list(default_rules)
    if not sets_mode(text):
        rules.insert(0, f"mode {mode}")
    combined = "; ".join(rules) + "\n" + text
    _native.set_policy(combined)
    _text = combined


def is_set():
    """Whether a policy was applied."""
    return _text is not None


def in_force():
    """The policy text in force (with its mode and the default rules), or
    None before :func:`apply`; applied alone, it gives the same policy."""
    return _text
