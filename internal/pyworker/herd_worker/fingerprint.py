"""Fingerprints of project files and their imports, for recording what a
test depends on (see deps.py and herd_fp.py).

A file's fingerprint is the SHA-256 of its bytes and, for a Python file that
parses, a hash per part of it: "<module>" for the module-level code (every
statement outside a function body: imports, constants, class bodies,
decorators, signatures, default values; but not the module-level functions
that are undecorated and bind a name nothing else binds, see
_plain_functions) and one per function or method,
named by its qualified name as CPython's co_qualname names its code object
("f", "Cls.meth", "outer.<locals>.inner"). A function's part covers its
decorators, its signature and its body without the bodies of the functions
nested in it, which are parts of their own; lambdas and comprehensions
belong to the part they are written in. Parts are hashed from the syntax
tree, so comments, blank lines and moves within the file change no part.

This module imports nothing but the standard library and is loaded on its
own by herd_fp.py, which must start without pytest.
"""

import ast
import hashlib
import os

MODULE = "<module>"

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _dump(node, root, out):
    """Append a canonical text of node to out: field names and values,
    without positions. The body of every function but root is left out."""
    if isinstance(node, ast.AST):
        out.append(type(node).__name__)
        out.append("(")
        skip_body = node is not root and isinstance(node, _FUNCS)
        for name in node._fields:
            if skip_body and name == "body":
                continue
            out.append(name)
            out.append("=")
            _dump(getattr(node, name, None), root, out)
            out.append(",")
        out.append(")")
    elif isinstance(node, list):
        out.append("[")
        for v in node:
            _dump(v, root, out)
            out.append(",")
        out.append("]")
    else:
        # Constants: the repr tells 1 from 1.0, True and "1".
        out.append(type(node).__name__)
        out.append(":")
        out.append(repr(node))


def _functions(node, prefix, out):
    """Collect (qualname, node) for every function under node, in source
    order; prefix is the qualified name of the scope node's body is in
    ("" at module level, "f.<locals>." in function f, "Cls." in a class)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _FUNCS):
            qual = prefix + child.name
            out.append((qual, child))
            _functions(child, qual + ".<locals>.", out)
        elif isinstance(child, ast.ClassDef):
            _functions(child, prefix + child.name + ".", out)
        elif isinstance(child, ast.Lambda):
            # A lambda's body is its own scope for qualnames, but its
            # code is part of the enclosing function's.
            _functions(child, prefix + "<lambda>.<locals>.", out)
        else:
            _functions(child, prefix, out)


def _hash(text):
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _bound_names(body, out):
    """Count, into out, the names the module-level statements in body
    bind: imports, assignments, for and with targets, functions and
    classes, looking into if, try, with and loop blocks but not into
    function or class bodies."""

    def targets(node):
        if isinstance(node, ast.Name):
            out[node.id] = out.get(node.id, 0) + 1
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    for stmt in body:
        if isinstance(stmt, _FUNCS + (ast.ClassDef,)):
            out[stmt.name] = out.get(stmt.name, 0) + 1
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                name = alias.asname or alias.name.split(".")[0]
                out[name] = out.get(name, 0) + 1
        elif isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                targets(t)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            targets(stmt.target)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            targets(stmt.target)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None:
                    targets(item.optional_vars)
        for name in ("body", "orelse", "finalbody", "handlers"):
            sub = getattr(stmt, name, None)
            if isinstance(sub, list) and not isinstance(stmt, _FUNCS + (ast.ClassDef,)):
                _bound_names([x for x in sub if isinstance(x, ast.stmt)], out)
                for h in sub:
                    if isinstance(h, ast.ExceptHandler):
                        if h.name:
                            out[h.name] = out.get(h.name, 0) + 1
                        _bound_names(h.body, out)


def _plain_functions(tree):
    """The module-level functions whose definition is theirs alone: written
    directly in the module's body, undecorated, and of a name nothing else
    at module level binds. Their signature and default values are in their
    own part, and no module-level code runs because they exist, so the
    module's part leaves them out: adding one changes no other test's
    dependencies. One that shadows another binding, or a decorated one
    (a decorator runs at import and may register it), stays module code."""
    bound = {}
    _bound_names(tree.body, bound)
    return {
        id(stmt)
        for stmt in tree.body
        if isinstance(stmt, _FUNCS) and not stmt.decorator_list and bound.get(stmt.name) == 1
    }


def parts(tree):
    """The part hashes of a parsed module: {"<module>": hash, qualname:
    hash, ...}. Functions of one qualified name (a conditional
    redefinition) hash together, in source order."""
    out = []
    plain = _plain_functions(tree)
    module = ast.Module(body=[stmt for stmt in tree.body if id(stmt) not in plain], type_ignores=[])
    _dump(module, module, out)
    result = {MODULE: _hash("".join(out))}
    funcs = []
    _functions(tree, "", funcs)
    texts = {}
    for qual, node in funcs:
        out = []
        _dump(node, node, out)
        texts.setdefault(qual, []).append("".join(out))
    for qual, chunks in texts.items():
        result[qual] = _hash("\n".join(chunks))
    return result


def parse(path, data):
    """The syntax tree of a Python file's bytes, or None when it does not
    parse."""
    try:
        return ast.parse(data, filename=path)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def fingerprint(path, data):
    """The fingerprint of a file whose bytes are data: {"p": path, "sha":
    hex SHA-256, "parts": {...}}, parts only for a Python file that
    parses."""
    fp = {"p": path, "sha": hashlib.sha256(data).hexdigest()}
    if path.endswith(".py"):
        tree = parse(path, data)
        if tree is not None:
            try:
                fp["parts"] = parts(tree)
            except RecursionError:
                pass
    return fp


def part_of(qualname, known):
    """The part a code object of this qualified name belongs to, given the
    file's parts (known): the qualified name itself when it is a part,
    else that of the nearest enclosing function ("f" for
    "f.<locals>.<lambda>", "<module>" for a class body or a module-level
    lambda)."""
    q = qualname
    while q:
        if q in known:
            return q
        i = q.rfind(".")
        if i < 0:
            break
        q = q[:i]
        if q.endswith(".<locals>"):
            q = q[: -len(".<locals>")]
    return MODULE


def import_names(tree, path):
    """The modules a parsed file imports, anywhere in it: a list of (base,
    dotted), base None for an absolute name looked up on the import roots,
    else the directory a relative import starts from. "from a import b"
    gives both a and a.b (b may be a module)."""
    out = []
    here = os.path.dirname(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append((None, alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here
                for _ in range(node.level - 1):
                    base = os.path.dirname(base)
            else:
                base = None
            mod = node.module or ""
            if mod:
                out.append((base, mod))
            for alias in node.names:
                if alias.name != "*":
                    out.append((base, mod + "." + alias.name if mod else alias.name))
            if base is not None and not mod:
                out.append((base, ""))
    return out


def _module_files(directory, dotted):
    """The files importing dotted from directory runs: each package's
    __init__.py on the way and the module itself, those that exist."""
    found = []
    d = directory
    init = os.path.join(d, "__init__.py")
    if not dotted:
        return [init] if os.path.isfile(init) else []
    names = dotted.split(".")
    for k, name in enumerate(names):
        sub = os.path.join(d, name)
        if os.path.isdir(sub):
            init = os.path.join(sub, "__init__.py")
            if os.path.isfile(init):
                found.append(init)
            d = sub
            continue
        mod = sub + ".py"
        if os.path.isfile(mod):
            found.append(mod)
        break
    return found


def resolve(base, dotted, roots):
    """The files of the project a (base, dotted) import runs: relative to
    base, or from the first of roots that has the top-level name."""
    if base is not None:
        found = _module_files(base, dotted)
        if dotted and not found:
            return []
        init = os.path.join(base, "__init__.py")
        if os.path.isfile(init) and init not in found:
            found.insert(0, init)
        return found
    top = dotted.split(".", 1)[0]
    for root in roots:
        if os.path.isdir(os.path.join(root, top)) or os.path.isfile(os.path.join(root, top + ".py")):
            return _module_files(root, dotted)
    return []


def imports(path, data, roots):
    """The project files a Python file (path, absolute, and its bytes)
    imports directly, resolved under roots (absolute directories, in
    sys.path's order): a sorted list of absolute paths, without path
    itself."""
    tree = parse(path, data)
    if tree is None:
        return []
    found = set()
    for base, dotted in import_names(tree, path):
        found.update(resolve(base, dotted, roots))
    found.discard(path)
    return sorted(found)
