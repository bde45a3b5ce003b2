"""Delta debugging (Zeller and Hildebrandt's ddmin) over a list of items."""


def ddmin(items, passes, note=None):
    """A 1-minimal sublist of ``items``: ``passes(sublist)`` is true for it
    and false for every sublist with one item fewer, given that
    ``passes(items)`` is true and ``passes([])`` false (the caller checked
    both). Items keep their order. ``note(current)``, if given, is called
    with the list still being narrowed before each round.

    ``passes`` is called on sublists only, each at most once per round; it
    may raise to stop the search (the exception propagates).
    """
    current = list(items)
    granularity = 2
    while len(current) >= 2:
        if note is not None:
            note(current)
        chunks = _split(current, granularity)
        found = next((chunk for chunk in chunks if passes(chunk)), None)
        if found is not None:
            current, granularity = found, 2
            continue
        if granularity > 2:  # with two chunks, each complement is the other chunk
            complements = ([item for other in chunks if other is not chunk for item in other]
                           for chunk in chunks)
            found = next((complement for complement in complements if passes(complement)), None)
            if found is not None:
                current, granularity = found, max(granularity - 1, 2)
                continue
        if granularity >= len(current):
            break
        granularity = min(len(current), granularity * 2)
    if note is not None:
        note(current)
    return current


def _split(items, parts):
    """``items`` cut into ``parts`` consecutive chunks of near-equal size."""
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(items[start:end])
        start = end
    return chunks
