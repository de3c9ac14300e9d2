"""``.. fastinit-registry::``: the initializer registry (fastinit._registry) as a table,
so the documentation lists what the code exposes."""

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _row(cells):
    row = nodes.row()
    for text in cells:
        entry = nodes.entry()
        entry += nodes.paragraph(text=text)
        row += entry
    return row


class RegistryTable(SphinxDirective):
    HEAD = ("fastinit.init", "fastinit.torch", "jax / flax", "keras", "elementwise", "law")

    def run(self):
        from fastinit._registry import ENTRIES

        table = nodes.table()
        group = nodes.tgroup(cols=len(self.HEAD))
        table += group
        group += [nodes.colspec(colwidth=w) for w in (18, 10, 18, 14, 8, 32)]
        head = nodes.thead()
        head += _row(self.HEAD)
        body = nodes.tbody()
        for e in ENTRIES:
            jax = ", ".join(n for n in (e.jax, *e.jax_aliases) if n)
            body += _row((e.init, "yes" if e.torch else "", jax, e.keras or "",
                          "yes" if e.elementwise else "no", e.law))
        group += [head, body]
        return [table]


def setup(app):
    app.add_directive("fastinit-registry", RegistryTable)
    return {"parallel_read_safe": True}
