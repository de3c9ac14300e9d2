"""Docstrings in two forms: numpydoc (a docstring with a section such as Parameters or
Examples, underlined by dashes) is reStructuredText and rendered as such; any other
docstring is plain text (formulas such as ``|z| <= 5.77`` and torch names such as
``normal_``) and is shown as written: its first paragraph as the summary, the rest
preformatted.  So the build stays warning-free without rewriting plain docstrings."""

import re

SECTION_RULE = re.compile(r"^\s*-{3,}\s*$")
RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>:{}])")


def is_numpydoc(lines):
    return any(SECTION_RULE.match(line) and k > 0 and lines[k - 1].strip()
               for k, line in enumerate(lines))


def as_plain_text(app, what, name, obj, options, lines):
    if not lines or is_numpydoc(lines):
        return
    end = next((k for k, line in enumerate(lines) if not line.strip()), len(lines))
    summary = RST_SPECIAL.sub(r"\\\1", " ".join(" ".join(lines[:end]).split()))
    rest = lines[end:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    lines[:] = [summary]
    if rest:
        lines += ["", "::", ""] + [f"    {line}" if line.strip() else "" for line in rest]


def setup(app):
    app.connect("autodoc-process-docstring", as_plain_text, priority=400)
    return {"parallel_read_safe": True}
