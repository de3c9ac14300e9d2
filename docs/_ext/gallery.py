"""``.. fastinit-gallery::``: one section per script of examples/, made from the script's
docstring (its first paragraph as the summary, the rest verbatim) and showing the
figures named in the script that lie beside it in examples/."""

import ast
import re
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Gallery(SphinxDirective):
    def run(self):
        sections = []
        for script in sorted(EXAMPLES.glob("*.py")):
            self.env.note_dependency(str(script))
            source = script.read_text()
            doc = ast.get_docstring(ast.parse(source)) or ""
            summary, _, rest = doc.partition("\n\n")
            section = nodes.section(ids=[nodes.make_id(script.stem)])
            section += nodes.title(text=script.name)
            section += nodes.paragraph(text=" ".join(summary.split()))
            if rest.strip():
                section += nodes.literal_block(text=rest.strip())
            for name in sorted(set(re.findall(r'"([\w-]+\.png)"', source))):
                if (EXAMPLES / name).is_file():
                    section += nodes.image(uri=str(EXAMPLES / name), alt=name)
            sections.append(section)
        return sections


def setup(app):
    app.add_directive("fastinit-gallery", Gallery)
    return {"parallel_read_safe": True}
