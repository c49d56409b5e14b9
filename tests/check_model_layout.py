"""Methods that a model's feature files share must live in its base file.

A model of this addon may be spread over several files: the base file (the one
that sets ``_name``, or, for a model of another addon, the file named after the
model, ``crm_lead.py`` for ``crm.lead``) and feature files that ``_inherit`` it
again. A feature file may add methods that only it uses, and override any
method with ``super()``; a method that another file calls must be defined in
the base file, so that a reader of the base file sees every method the model
offers and no file depends on a sibling it does not name.

Run ``python3 tests/check_model_layout.py``: it prints one line per method that
a feature file defines (without ``super()``), that the base file does not, and
that some other Python file of the addon calls (a feature's own views, data
and cron records calling its methods are that feature's business); exit status 1 if
there is any. ``tests/test_model_layout.py`` runs it in the suite.
"""

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIRS = ("omnichannel_inbox/models", "omnichannel_inbox/report")
CALLER_DIRS = ("omnichannel_inbox", "connectors")


def _const(node):
    return node.value if isinstance(node, ast.Constant) else None


def _model_of(cls):
    """(model name, True if this class creates it) for an Odoo model class."""
    name = None
    inherit = []
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name) and target.id == "_name":
                name = _const(stmt.value)
            elif isinstance(target, ast.Name) and target.id == "_inherit":
                if isinstance(stmt.value, ast.List):
                    inherit = [_const(elt) for elt in stmt.value.elts]
                else:
                    inherit = [_const(stmt.value)]
    if name:
        # _name = "crm.lead" with _inherit = ["crm.lead", mixin] extends
        return name, name not in inherit
    if inherit:
        return inherit[0], False
    return None, False


def _calls_super(func):
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "super"
        for node in ast.walk(func)
    )


def _collect_models():
    """{model: {file: {method: is_override}}} and {model: base file}."""
    methods = defaultdict(lambda: defaultdict(dict))
    base = {}
    for folder in MODEL_DIRS:
        for path in sorted((ROOT / folder).glob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for cls in tree.body:
                if not isinstance(cls, ast.ClassDef):
                    continue
                model, creates = _model_of(cls)
                if not model:
                    continue
                rel = str(path.relative_to(ROOT))
                if creates or path.stem == model.replace(".", "_"):
                    base[model] = rel
                for func in cls.body:
                    if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                        methods[model][rel][func.name] = _calls_super(func)
    return methods, base


def _own_attribute(node, in_plain_class):
    """``self.x`` / ``cls.x`` in a class that is not an Odoo model (a
    connector, a controller, a field class): the object's own attribute,
    never a model's method (``TelegramConnector._deep_link`` is not
    ``omnichannel.channel._deep_link``)."""
    return (
        in_plain_class
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    )


def _names_used(node, in_plain_class=False):
    """The attribute names and words of string constants under ``node``."""
    word = re.compile(r"\b(_?[a-z][a-z0-9_]*)\b")
    if isinstance(node, ast.ClassDef):
        in_plain_class = _model_of(node)[0] is None
    names = set()
    if isinstance(node, ast.Attribute) and not _own_attribute(node, in_plain_class):
        names.add(node.attr)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        # compute="_compute_x", getattr(rec, "_x"), cron code
        names.update(word.findall(node.value))
    for child in ast.iter_child_nodes(node):
        names |= _names_used(child, in_plain_class)
    return names


def _callers():
    """{method name: set of files that call or name it}."""
    found = defaultdict(set)
    for folder in CALLER_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for name in _names_used(tree):
                found[name].add(str(path.relative_to(ROOT)))
    return found


def problems():
    methods, base = _collect_models()
    callers = _callers()
    out = []
    for model, files in sorted(methods.items()):
        base_file = base.get(model)
        base_methods = files.get(base_file, {})
        for rel, defs in sorted(files.items()):
            if rel == base_file:
                continue
            for name, is_override in sorted(defs.items()):
                if is_override or name in base_methods:
                    continue
                others = sorted(callers.get(name, set()) - {rel})
                if others:
                    out.append(
                        f"{model}.{name} defined in {rel} "
                        f"(base: {base_file}) is called from {', '.join(others)}"
                    )
    return out


if __name__ == "__main__":
    found = problems()
    sys.stdout.write("".join(f"{line}\n" for line in found))
    sys.stdout.write(
        f"{len(found)} cross-file call(s) to methods missing from a base file\n"
    )
    sys.exit(1 if found else 0)
