import re


def slugify(s):
    s = s.strip().lower()
    s = re.sub(r"[^a-z0-9]+", "-", s)
    return s.strip("-")


def word_stats(text):
    words = text.split()
    if not words:
        return {"count": 0, "longest": None}
    longest = words[0]
    for w in words[1:]:
        if len(w) > len(longest):
            longest = w
    return {"count": len(words), "longest": longest}


def wrap(text, width):
    if width <= 0:
        raise ValueError("width must be positive")
    lines, line = [], ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        elif line:
            line += " " + w
        else:
            line = w
    if line:
        lines.append(line)
    return lines
