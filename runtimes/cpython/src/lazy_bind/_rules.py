"""Opt-out rules as ``bisect`` handles them: what each makes eager among the
imports a run deferred, and the shorter rule sets that make as much eager
(and, unless asked, no more).

A rule is policy text, ``eager-target P`` or ``eager-importer P``, with the
policy format's patterns (``a.b`` exactly, ``a.b.*`` for ``a.b`` and every
module below it). The imports are ``(importer, target)`` pairs.
"""


def matches(pattern, name):
    """Whether module ``name`` matches ``pattern`` as the policy matches it."""
    if pattern.endswith(".*"):
        prefix = pattern[:-2]
        return name == prefix or name.startswith(prefix + ".")
    return name == pattern


def covers(rule, pair):
    """Whether ``rule`` makes the import ``pair`` eager."""
    kind, pattern = rule.split(None, 1)
    importer, target = pair
    return matches(pattern, target if kind == "eager-target" else importer)


def coverage(rules, pairs):
    """The pairs of ``pairs`` that ``rules`` make eager."""
    return {pair for pair in pairs if any(covers(rule, pair) for rule in rules)}


def shorter(rules, pairs, broaden=False):
    """Rule lists with fewer rules than ``rules``, each replacing some of
    them by one ``eager-importer I``, ``eager-importer P.*`` or
    ``eager-target P.*`` (``P`` a package above a rule's module) and making
    eager every pair of ``pairs`` that ``rules`` make eager. Without
    ``broaden``, only those that make no other pair eager; with it, also
    those that do, fewest other pairs first. Fewest rules first; the
    replaced rules keep their places' order, the new one comes last."""
    eager = coverage(rules, pairs)
    candidates = set()
    for importer, target in eager:
        candidates.add(f"eager-importer {importer}")
        candidates.update(f"eager-importer {p}.*" for p in _packages_above(importer))
        candidates.update(f"eager-target {p}.*" for p in _packages_above(target))
    found = []
    for candidate in sorted(candidates - set(rules)):
        covered = coverage([candidate], pairs)
        extra = len(covered - eager)
        if not covered or (extra and not broaden):
            continue
        kept = [rule for rule in rules if not coverage([rule], pairs) <= covered]
        if len(kept) + 1 < len(rules) and coverage(kept + [candidate], pairs) >= eager:
            found.append((len(kept), extra, kept + [candidate]))
    return [trial for _, _, trial in sorted(found, key=lambda f: (f[0], f[1]))]


def _packages_above(name):
    """``a`` and ``a.b`` for ``a.b.c``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]
