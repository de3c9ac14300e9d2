"""``.. fastinit-module:: fastinit.theory``: a public module's docstring, then each of its
public names: its ``__all__``, else the functions and classes defined in it or in one of
its submodules (so a thin module re-exporting a package's parts is documented whole, and
helpers it merely imports are not)."""

import importlib
import inspect

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def public_names(name):
    module = importlib.import_module(name)
    if hasattr(module, "__all__"):
        return list(module.__all__)

    def own(obj):
        where = getattr(obj, "__module__", None) or ""
        return where == name or where.startswith(name + ".")

    return [n for n, obj in vars(module).items() if not n.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj)) and own(obj)]


class PublicModule(SphinxDirective):
    required_arguments = 1

    def run(self):
        name = self.arguments[0]
        module = importlib.import_module(name)
        lines = [f".. automodule:: {name}", ""]
        for member in public_names(name):
            obj = getattr(module, member)
            if inspect.isclass(obj):
                lines += [f".. autoclass:: {name}.{member}", "   :members:", ""]
            elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
                lines += [f".. autofunction:: {name}.{member}", ""]
            elif not inspect.ismodule(obj):
                lines += [f".. autodata:: {name}.{member}", "   :annotation:", ""]
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source=name), node)
        return node.children


def setup(app):
    app.add_directive("fastinit-module", PublicModule)
    return {"parallel_read_safe": True}
