"""herd doctor's analyzer: reads a suite's test sources with ast (never
imports them) and lists the code that is at risk when tests run in parallel.

Run by the suite's own interpreter, in isolated mode, with this source on
stdin:

    python -I - ROOTDIR PATH...

It writes one JSON document to stdout:

    {"files": N,
     "findings": [{"nodeid", "file", "line", "kind", "evidence", "scope",
                   "fixture", "via", "markers"}],
     "marked": {nodeid: [policy markers on that test]},
     "notes": ["one line per file that could not be read or parsed"]}

Policies and marker lines are herd's (Go) business: this script only says
what it saw, where, and which markers the test already carries. It supports
Python 3.7 and newer and uses nothing but the standard library.
"""

import ast
import io
import json
import os
import sys
import tokenize

# pytest's default norecursedirs, plus what never holds a suite's tests.
NORECURSE = {"build", "dist", "node_modules", "venv", "CVS", "_darcs", "{arch}",
             "__pycache__", "site-packages"}

POLICY_MARKERS = {"serial", "parallel_unsafe", "isolated"}

FIXTURE_DECORATORS = {"pytest.fixture", "pytest.yield_fixture", "pytest_asyncio.fixture"}

# xunit-style set-up and tear-down: they run for every test of their module
# or class, like autouse fixtures.
XUNIT_MODULE = {"setup_module", "teardown_module", "setup_function", "teardown_function",
                "setUpModule", "tearDownModule", "setup", "teardown"}
XUNIT_CLASS = {"setup_class", "teardown_class", "setup_method", "teardown_method",
               "setUp", "tearDown", "setUpClass", "tearDownClass", "setup", "teardown"}

FORK = {"os.fork", "os.forkpty", "pty.fork"}
POOLS = {"multiprocessing.Pool", "multiprocessing.pool.Pool",
         "concurrent.futures.ProcessPoolExecutor",
         "concurrent.futures.process.ProcessPoolExecutor"}
PROCESSES = {"multiprocessing.Process", "multiprocessing.Manager",
             "multiprocessing.context.Process", "multiprocessing.process.BaseProcess"}
SUBPROCESS = {"subprocess.Popen", "subprocess.run", "subprocess.call",
              "subprocess.check_call", "subprocess.check_output",
              "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell",
              "asyncio.subprocess.create_subprocess_exec",
              "asyncio.subprocess.create_subprocess_shell"}
SHELL_STRINGS = {"os.system", "os.popen"}
SPAWN = {"os.posix_spawn", "os.posix_spawnp"}
NEW_SESSION_CALLS = {"os.setsid", "os.setpgrp"}
ENVIRON = {"os.environ", "os.environb"}
ENVIRON_METHODS = {"update", "pop", "setdefault", "clear", "popitem", "__setitem__",
                   "__delitem__"}
ENV_CALLS = {"os.putenv", "os.unsetenv"}
CHDIR = {"os.chdir", "os.fchdir", "contextlib.chdir"}
SYS_PATH_METHODS = {"append", "insert", "extend", "remove", "pop", "clear",
                    "__setitem__", "__delitem__", "reverse", "sort"}
SIGNAL = {"signal.signal"}
THREADS = {"threading.Thread", "threading.Timer"}
OPEN = {"builtins.open", "io.open", "codecs.open"}
PATH_TYPES = {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath",
              "pathlib.PurePosixPath"}
PATH_WRITES = {"write_text", "write_bytes", "touch", "unlink", "mkdir"}
WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}
BUILTINS = {"open", "str"}


# Before Python 3.8, ast made Str, Num and NameConstant nodes for literals.
LEGACY_LITERALS = []
if sys.version_info < (3, 8):
    LEGACY_LITERALS = [(ast.Str, "s"), (ast.Num, "n"), (ast.NameConstant, "value")]


def const(node):
    """The value of a literal, or None."""
    if isinstance(node, ast.Constant):
        return node.value
    for cls, attr in LEGACY_LITERALS:
        if isinstance(node, cls):
            return getattr(node, attr)
    return None


def dotted(node):
    """a.b.c for a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return base + "." + node.attr if base else None
    return None


def kwarg(call, name):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def arg(call, index, name):
    """Argument index, or keyword name."""
    if index is not None and len(call.args) > index and not any(
            isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        return call.args[index]
    return kwarg(call, name)


def walk_scope(nodes):
    """Every node under nodes, without descending into nested functions,
    lambdas or classes (their own scopes)."""
    stack = list(reversed(nodes))
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(n))))


def walk_module_level(stmts):
    """The nodes run when the module is imported: everything but function
    bodies and `if __name__ == "__main__":` blocks. Class bodies run."""
    stack = list(reversed(stmts))
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(n, ast.If) and is_main_guard(n.test):
            stack.extend(reversed(n.orelse))
            continue
        yield n
        if isinstance(n, ast.ClassDef):
            stack.extend(reversed(n.body))
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(n))))


def is_main_guard(test):
    return (isinstance(test, ast.Compare) and dotted(test.left) == "__name__"
            and len(test.comparators) == 1 and const(test.comparators[0]) == "__main__")


def functions_in(node):
    """node itself if it is a function, and every function nested in it."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append(n)
    return out


class Unit(object):
    """A function of a module: a test, a fixture, an xunit set-up or a
    helper."""

    def __init__(self, mod, node, classes, kind):
        self.mod = mod
        self.node = node
        self.name = node.name
        self.classes = classes  # enclosing ClassDef nodes, outermost first
        self.kind = kind  # test, fixture, xunit, helper
        self.fixture_name = node.name
        self.autouse = kind == "xunit"
        self.findings = []
        self.calls = []  # ("mod", name) or ("cls", name)
        self.reached = None

    def nodeid(self):
        return "::".join([self.mod.rel] + [c.name for c in self.classes] + [self.name])


class Module(object):
    def __init__(self, path, rel, source_lines, tree, in_scope):
        self.path = path
        self.rel = rel
        self.lines = source_lines
        self.tree = tree
        self.in_scope = in_scope
        self.imports = {}
        self.int_consts = {}
        self.path_consts = {}
        self.module_findings = []
        self.units = []
        self.functions = {}  # module-level name -> Unit
        self.methods = {}  # (id(class), name) -> Unit
        self.fixtures = {}  # module-level fixture name -> Unit
        self.class_fixtures = {}  # id(class) -> {name: Unit}
        self.markers = set()
        self.usefixtures = []
        self.is_conftest = os.path.basename(path) == "conftest.py"

    # ---- names

    def collect_imports(self):
        for n in ast.walk(self.tree):
            if isinstance(n, ast.Import):
                for a in n.names:
                    if a.asname:
                        self.imports[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.imports[top] = top
            elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                for a in n.names:
                    if a.name != "*":
                        self.imports[a.asname or a.name] = n.module + "." + a.name
        # Classes of the module that are threads or processes.
        for n in ast.walk(self.tree):
            if isinstance(n, ast.ClassDef):
                for b in n.bases:
                    q = self.qual(b, {})
                    if q in THREADS or q in PROCESSES:
                        self.imports[n.name] = q
        # Module-level aliases and constants.
        for n in walk_module_level(self.tree.body):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                self.bind(n.targets[0].id, n.value, self.imports, self.int_consts, self.path_consts, {})

    def bind(self, name, value, aliases, ints, paths, ctx_aliases):
        v = const(value)
        if isinstance(v, int) and not isinstance(v, bool):
            ints[name] = v
            return
        lp = self.literal_path(value, ctx_aliases)
        if lp is not None:
            paths[name] = lp
            return
        q = self.qual(value, ctx_aliases)
        if q is not None and not q.startswith("builtins."):
            aliases[name] = q

    def qual(self, node, aliases):
        """The dotted name node stands for, with imports resolved
        (np.x -> numpy.x), or None when its root is not an import."""
        if isinstance(node, ast.Name):
            if node.id in aliases:
                return aliases[node.id]
            if node.id in self.imports:
                return self.imports[node.id]
            if node.id in BUILTINS:
                return "builtins." + node.id
            return None
        if isinstance(node, ast.Attribute):
            base = self.qual(node.value, aliases)
            return base + "." + node.attr if base else None
        if isinstance(node, ast.Call):
            # A multiprocessing context has multiprocessing's API.
            if self.qual(node.func, aliases) == "multiprocessing.get_context":
                return "multiprocessing"
        return None

    def int_value(self, node, ctx):
        v = const(node)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
        if isinstance(node, ast.Name):
            if node.id in ctx.ints:
                return ctx.ints[node.id]
            return self.int_consts.get(node.id)
        return None

    def literal_path(self, node, ctx_aliases, ctx=None):
        """(path, is_path_object) when node is a path fixed in the source
        (a literal, Path("..."), os.path.join of literals, __file__-relative),
        else None."""
        v = const(node)
        if isinstance(v, str):
            return (v, False) if v.strip() else None
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return ("__file__", False)
            if ctx is not None and node.id in ctx.paths:
                return ctx.paths[node.id]
            if node.id in self.path_consts and (ctx is None or node.id not in ctx.shadowed):
                return self.path_consts[node.id]
            return None
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            lp = self.literal_path(node.value, ctx_aliases, ctx)
            if lp is not None and lp[1]:
                return (lp[0] + "/..", True)
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left = self.literal_path(node.left, ctx_aliases, ctx)
            right = self.literal_path(node.right, ctx_aliases, ctx)
            if left is not None and left[1] and right is not None:
                return (left[0] + "/" + right[0], True)
            return None
        if isinstance(node, ast.Call):
            q = self.qual(node.func, ctx_aliases)
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                return None
            parts = [self.literal_path(a, ctx_aliases, ctx) for a in node.args]
            if not parts or any(p is None for p in parts):
                return None
            joined = "/".join(p[0] for p in parts)
            if q in PATH_TYPES:
                return (joined, True)
            if q == "os.path.join":
                return (joined, False)
            if q in ("builtins.str", "os.fspath", "os.path.abspath", "os.path.dirname",
                     "os.path.realpath") and len(parts) == 1:
                return (parts[0][0], False)
        return None


class Scope(object):
    """Names bound in one function (its nested functions included)."""

    def __init__(self, mod, func):
        self.aliases = dict()
        self.ints = {}
        self.paths = {}
        self.shadowed = set()
        if func is None:
            return
        for a in func.args.args + getattr(func.args, "posonlyargs", []) + func.args.kwonlyargs:
            self.shadowed.add(a.arg)
        for n in ast.walk(func):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
                name = n.targets[0].id
                self.shadowed.add(name)
                mod.bind(name, n.value, self.aliases, self.ints, self.paths, self.aliases)
            elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
                for t in ast.walk(n):
                    if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store):
                        self.shadowed.add(t.id)


class Analyzer(object):
    def __init__(self, mod, scope):
        self.mod = mod
        self.scope = scope
        self.found = []

    def q(self, node):
        return self.mod.qual(node, self.scope.aliases)

    def add(self, node, kind):
        self.found.append((node.lineno, kind))

    def check(self, nodes):
        for n in nodes:
            if isinstance(n, ast.Call):
                self.call(n)
            elif isinstance(n, ast.Assign):
                for t in n.targets:
                    self.store(n, t, False)
            elif isinstance(n, ast.AnnAssign) and n.value is not None:
                self.store(n, n.target, False)
            elif isinstance(n, ast.AugAssign):
                self.store(n, n.target, True)
            elif isinstance(n, ast.Delete):
                for t in n.targets:
                    if isinstance(t, ast.Subscript):
                        q = self.q(t.value)
                        if q in ENVIRON:
                            self.add(n, "environ")
                        elif q == "sys.path":
                            self.add(n, "sys_path")

    def store(self, stmt, target, augmented):
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self.store(stmt, t, augmented)
            return
        if isinstance(target, ast.Subscript):
            q = self.q(target.value)
            if q in ENVIRON:
                self.add(stmt, "environ")
            elif q == "sys.path":
                self.add(stmt, "sys_path")
            return
        # Rebinding a plain local name is not a mutation, except += on a
        # name bound to sys.path (lists grow in place).
        if isinstance(target, ast.Attribute) or augmented:
            q = self.q(target)
            if q in ENVIRON:
                self.add(stmt, "environ")
            elif q == "sys.path":
                self.add(stmt, "sys_path")

    def call(self, call):
        q = self.q(call.func)
        attr = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if q in FORK:
            self.add(call, "fork")
        elif q in POOLS:
            self.add(call, "process_pool")
        elif q in PROCESSES:
            self.add(call, "multiprocessing")
        elif q in NEW_SESSION_CALLS:
            self.add(call, "new_session")
        elif q in SUBPROCESS or q in SPAWN or q in SHELL_STRINGS:
            if self.new_session(call, q):
                self.add(call, "new_session")
        elif q in ENV_CALLS:
            self.add(call, "environ")
        elif q in CHDIR:
            self.add(call, "chdir")
        elif q in SIGNAL:
            self.add(call, "signal")
        elif q == "site.addsitedir":
            self.add(call, "sys_path")
        elif attr is not None and self.q(call.func.value) in ENVIRON and attr in ENVIRON_METHODS:
            self.add(call, "environ")
        elif attr is not None and self.q(call.func.value) == "sys.path" and attr in SYS_PATH_METHODS:
            self.add(call, "sys_path")
        elif self.fixed_port(call, q):
            self.add(call, "fixed_port")
        elif self.fixed_path(call, q):
            self.add(call, "fixed_path")

    def new_session(self, call, q):
        if q in SHELL_STRINGS:
            cmd = const(call.args[0]) if call.args else None
            return isinstance(cmd, str) and is_setsid(cmd.split()[0] if cmd.split() else "")
        if q in SPAWN:
            if const(kwarg(call, "setsid")) is True:
                return True
            pg = kwarg(call, "setpgroup")
            return pg is not None and const(pg) is not None
        sns = kwarg(call, "start_new_session")
        if sns is not None and const(sns) is True:
            return True
        pg = kwarg(call, "process_group")
        if pg is not None and isinstance(const(pg), int) and not isinstance(const(pg), bool):
            return True
        pre = kwarg(call, "preexec_fn")
        if pre is not None and self.q(pre) in NEW_SESSION_CALLS:
            return True
        argv = arg(call, 0, "args")
        if argv is None:
            return False
        if isinstance(argv, (ast.List, ast.Tuple)) and argv.elts:
            first = const(argv.elts[0])
        else:
            first = const(argv)
            if isinstance(first, str):
                words = first.split()
                first = words[0] if words else ""
        return isinstance(first, str) and is_setsid(first)

    def port(self, node):
        v = self.mod.int_value(node, self.scope)
        return v is not None and v >= 1024 and v <= 65535

    def fixed_port(self, call, q):
        """A server bound to a literal port >= 1024. Clients connecting to
        a fixed port are fine, and listen(N) takes a backlog, not a port."""
        if isinstance(call.func, ast.Attribute):
            name = call.func.attr
        elif isinstance(call.func, ast.Name):
            name = call.func.id
        else:
            return False
        low = name.lower()
        serverish = "server" in low or low.startswith("serve")
        if name == "bind" or serverish:
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Tuple) and len(first.elts) >= 2 and self.port(first.elts[1]):
                return True
        if name in ("bind", "run") or serverish or "listen" in low:
            p = kwarg(call, "port")
            if p is not None and self.port(p):
                return True
        # asyncio.start_server(cb, host, port), loop.create_server(factory,
        # host, port), wsgiref's make_server(host, port, app).
        if name in ("start_server", "create_server") and len(call.args) >= 3 and self.port(call.args[2]):
            return True
        if name == "make_server" and len(call.args) >= 2 and self.port(call.args[1]):
            return True
        return False

    def fixed_path(self, call, q):
        """A write to a path fixed in the source (not reading)."""
        if q in OPEN:
            path = arg(call, 0, "file") or kwarg(call, "filename")
            mode = arg(call, 1, "mode")
            return path is not None and is_write_mode(mode) and self.shared(path, False)
        if q == "os.open":
            path = arg(call, 0, "path")
            flags = arg(call, 1, "flags")
            if path is None or flags is None:
                return False
            names = {n.attr if isinstance(n, ast.Attribute) else n.id
                     for n in ast.walk(flags) if isinstance(n, (ast.Attribute, ast.Name))}
            return bool(names & WRITE_FLAGS) and self.shared(path, False)
        if isinstance(call.func, ast.Attribute):
            attr = call.func.attr
            if attr in PATH_WRITES:
                return self.shared(call.func.value, True)
            if attr == "open" and is_write_mode(arg(call, 0, "mode")):
                return self.shared(call.func.value, True)
        return False

    def shared(self, node, need_path_object):
        lp = self.mod.literal_path(node, self.scope.aliases, self.scope)
        if lp is None or (need_path_object and not lp[1]):
            return False
        p = lp[0]
        for safe in ("/dev/", "/proc/", "/sys/"):
            if p.startswith(safe):
                return False
        return p not in (".", "/")


def is_setsid(word):
    return word == "setsid" or word.endswith("/setsid")


def is_write_mode(node):
    m = const(node) if node is not None else None
    return isinstance(m, str) and any(c in m for c in "wax+")


def thread_findings(mod, bodies, scope):
    """Threads started and not joined, body by body (each the statements of
    one function, or of the module)."""
    found = []
    for body in bodies:
        nodes = list(walk_scope(body))
        ctor = lambda n: isinstance(n, ast.Call) and mod.qual(n.func, scope.aliases) in THREADS
        threads, colls, loopvars, member = set(), set(), {}, {}
        for n in nodes:
            if isinstance(n, (ast.Assign, ast.AnnAssign)):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                v = n.value
                for t in targets:
                    d = dotted(t)
                    if d is None or v is None:
                        continue
                    if ctor(v):
                        threads.add(d)
                    elif isinstance(v, (ast.ListComp, ast.GeneratorExp, ast.SetComp)) and ctor(v.elt):
                        colls.add(d)
                    elif isinstance(v, (ast.List, ast.Tuple)) and any(ctor(e) for e in v.elts):
                        colls.add(d)
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append" and n.args:
                a0 = n.args[0]
                coll = dotted(n.func.value)
                if coll is not None and (ctor(a0) or dotted(a0) in threads):
                    colls.add(coll)
                    if dotted(a0) in threads:
                        member[dotted(a0)] = coll
        for n in nodes:
            gens = []
            if isinstance(n, (ast.For, ast.AsyncFor)):
                gens = [(n.target, n.iter)]
            elif isinstance(n, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
                gens = [(g.target, g.iter) for g in n.generators]
            for target, it in gens:
                if isinstance(target, ast.Name) and dotted(it) in colls:
                    loopvars[target.id] = dotted(it)
        starts, joined = [], set()
        for n in nodes:
            if isinstance(n, ast.Attribute) and n.attr == "join":
                key = dotted(n.value)
                if key is not None:
                    joined.add(key)
                    if key in loopvars:
                        joined.add(loopvars[key])
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "start" and not n.args:
                recv = n.func.value
                if ctor(recv):
                    found.append((n.lineno, "thread"))
                    continue
                key = dotted(recv)
                if key in threads:
                    starts.append((key, n))
                elif key in loopvars:
                    starts.append((loopvars[key], n))
        for key, n in starts:
            if key in joined or member.get(key) in joined:
                continue
            found.append((n.lineno, "thread"))
    return found


def decorator_marks(mod, decorators):
    """Marker names and usefixtures names from decorators or pytestmark."""
    marks, use = set(), []
    for d in decorators:
        call = d if isinstance(d, ast.Call) else None
        q = mod.qual(d.func if call else d, {})
        if q and q.startswith("pytest.mark."):
            name = q[len("pytest.mark."):].split(".")[0]
            marks.add(name)
            if name == "usefixtures" and call is not None:
                for a in call.args:
                    v = const(a)
                    if isinstance(v, str):
                        use.append(v)
    return marks, use


def pytestmark(mod, body):
    for stmt in body:
        if isinstance(stmt, ast.Assign) and any(dotted(t) == "pytestmark" for t in stmt.targets):
            v = stmt.value
            items = v.elts if isinstance(v, (ast.List, ast.Tuple)) else [v]
            return decorator_marks(mod, items)
    return set(), []


def fixture_info(mod, func):
    """(is_fixture, name, autouse)."""
    for d in func.decorator_list:
        call = d if isinstance(d, ast.Call) else None
        if mod.qual(d.func if call else d, {}) in FIXTURE_DECORATORS:
            name, autouse = func.name, False
            if call is not None:
                n = const(kwarg(call, "name")) if kwarg(call, "name") is not None else None
                if isinstance(n, str):
                    name = n
                autouse = const(kwarg(call, "autouse")) is True if kwarg(call, "autouse") is not None else False
            return True, name, autouse
    return False, None, False


def is_test_class(mod, cls):
    if any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "__init__" for s in cls.body):
        return False
    if cls.name.startswith("Test"):
        return True
    for b in cls.bases:
        d = dotted(b) or ""
        if d.split(".")[-1] in ("TestCase", "IsolatedAsyncioTestCase"):
            return True
    return False


def requested(func):
    """Parameters that name fixtures: not self/cls, not those with defaults,
    not those a parametrize decorator fills."""
    args = getattr(func.args, "posonlyargs", []) + func.args.args
    n_defaults = len(func.args.defaults)
    names = [a.arg for a in (args[:len(args) - n_defaults] if n_defaults else args)]
    names += [a.arg for a, dflt in zip(func.args.kwonlyargs, func.args.kw_defaults) if dflt is None]
    param = set()
    for d in func.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "parametrize" and d.args:
            v = const(d.args[0])
            if isinstance(v, str):
                param.update(s.strip() for s in v.split(","))
            elif isinstance(d.args[0], (ast.List, ast.Tuple)):
                param.update(const(e) for e in d.args[0].elts if isinstance(const(e), str))
    return [n for n in names if n not in ("self", "cls") and n not in param]


def build_units(mod):
    body = mod.tree.body
    mod.markers, mod.usefixtures = pytestmark(mod, body)

    def visit_function(func, classes):
        is_fx, fx_name, autouse = fixture_info(mod, func)
        in_test_class = bool(classes) and all(c._herd_test for c in classes)
        if is_fx:
            kind = "fixture"
        elif not classes and func.name in XUNIT_MODULE and not mod.is_conftest:
            kind = "xunit"
        elif classes and func.name in XUNIT_CLASS and in_test_class:
            kind = "xunit"
        elif func.name.startswith("test") and (not classes or in_test_class) and not mod.is_conftest:
            kind = "test"
        else:
            kind = "helper"
        u = Unit(mod, func, classes, kind)
        if is_fx:
            u.fixture_name, u.autouse = fx_name, autouse
        scope = Scope(mod, func)
        a = Analyzer(mod, scope)
        a.check(n for s in func.body for n in ast.walk(s))
        found = a.found + thread_findings(mod, [f.body for f in functions_in(func)], scope)
        u.findings = sorted(set(found))
        for n in (n for s in func.body for n in ast.walk(s)):
            if isinstance(n, ast.Call):
                if isinstance(n.func, ast.Name):
                    u.calls.append(("mod", n.func.id))
                elif isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) and \
                        (n.func.value.id in ("self", "cls") or (classes and n.func.value.id == classes[-1].name)):
                    u.calls.append(("cls", n.func.attr))
        mod.units.append(u)
        if not classes:
            mod.functions[func.name] = u
            if kind in ("fixture", "xunit"):
                mod.fixtures[u.fixture_name] = u
        else:
            mod.methods[(id(classes[-1]), func.name)] = u
            if kind in ("fixture", "xunit"):
                mod.class_fixtures.setdefault(id(classes[-1]), {})[u.fixture_name] = u

    def visit_class(cls, classes):
        cls._herd_test = is_test_class(mod, cls)
        marks, use = decorator_marks(mod, cls.decorator_list)
        pm, pu = pytestmark(mod, cls.body)
        cls._herd_marks, cls._herd_use = marks | pm, use + pu
        for s in cls.body:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit_function(s, classes + [cls])
            elif isinstance(s, ast.ClassDef):
                visit_class(s, classes + [cls])

    for s in body:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit_function(s, [])
        elif isinstance(s, ast.ClassDef):
            visit_class(s, [])

    # Code run at import.
    scope = Scope(mod, None)
    a = Analyzer(mod, scope)
    nodes = list(walk_module_level(body))
    a.check(nodes)
    mod.module_findings = sorted(set(a.found + module_threads(mod, body, scope)))


def module_threads(mod, body, scope):
    stmts = [s for s in body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
             and not (isinstance(s, ast.If) and is_main_guard(s.test))]
    return thread_findings(mod, [stmts], scope)


def reach(mod, unit, seen=None):
    """Findings of unit and of the helpers it calls, transitively within its
    module: [(line, kind, via)]."""
    if unit.reached is not None:
        return unit.reached
    if seen is None:
        seen = set()
    seen.add(id(unit))
    out = [(line, kind, "") for line, kind in unit.findings]
    for how, name in unit.calls:
        if how == "mod":
            callee = mod.functions.get(name)
        else:
            callee = None
            for c in reversed(unit.classes):
                callee = mod.methods.get((id(c), name))
                if callee is not None:
                    break
        if callee is None or callee.kind != "helper" or id(callee) in seen:
            continue
        for line, kind, via in reach(mod, callee, seen):
            out.append((line, kind, via or callee.name))
    unit.reached = out
    return out


def source_encoding_lines(data):
    try:
        enc, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        enc = "utf-8"
    try:
        text = data.decode(enc, "replace")
    except LookupError:
        text = data.decode("utf-8", "replace")
    return text.splitlines()


def load(path, rootdir, in_scope, notes):
    rel = os.path.relpath(path, rootdir).replace(os.sep, "/")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        notes.append("skipped %s: cannot read it: %s" % (rel, e.strerror or e))
        return None
    try:
        tree = ast.parse(data, filename=rel)
    except SyntaxError as e:
        where = " (line %d)" % e.lineno if e.lineno else ""
        notes.append("skipped %s: syntax error%s: %s" % (rel, where, e.msg))
        return None
    except (ValueError, RecursionError, MemoryError) as e:
        notes.append("skipped %s: cannot parse it: %s" % (rel, e))
        return None
    mod = Module(path, rel, source_encoding_lines(data), tree, in_scope)
    mod.collect_imports()
    build_units(mod)
    return mod


def wanted_dir(parent, name):
    if name.startswith(".") or name in NORECURSE or name.endswith(".egg"):
        return False
    return not os.path.exists(os.path.join(parent, name, "pyvenv.cfg"))


def is_test_file(name):
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def discover(paths):
    files = []
    for p in paths:
        if os.path.isfile(p):
            if p.endswith(".py"):
                files.append(os.path.abspath(p))
            continue
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = sorted(d for d in dirnames if wanted_dir(dirpath, d))
            for fn in sorted(filenames):
                if is_test_file(fn):
                    files.append(os.path.abspath(os.path.join(dirpath, fn)))
    seen, out = set(), []
    for f in files:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


def conftests_for(path, rootdir):
    """conftest.py files that apply to path, nearest first, up to rootdir."""
    out = []
    d = os.path.dirname(path)
    root = os.path.abspath(rootdir)
    while True:
        c = os.path.join(d, "conftest.py")
        if os.path.isfile(c):
            out.append(c)
        if d == root or not d.startswith(root + os.sep):
            break
        d = os.path.dirname(d)
    return out


def main(argv):
    rootdir = os.path.abspath(argv[0])
    paths = [os.path.abspath(p) for p in argv[1:]] or [os.getcwd()]
    notes = []
    files = discover(paths)
    mods = {}
    for f in files:
        mods[f] = load(f, rootdir, True, notes)
    for f in files:
        for c in conftests_for(f, rootdir):
            if c not in mods:
                mods[c] = load(c, rootdir, False, notes)

    findings = []
    marked = {}
    requested_fixtures = set()

    def emit(nodeid, scope, unit_mod, line, kind, fixture, via, markers):
        findings.append({
            "nodeid": nodeid, "file": unit_mod.rel, "line": line, "kind": kind,
            "evidence": unit_mod.lines[line - 1].strip() if 0 < line <= len(unit_mod.lines) else "",
            "scope": scope, "fixture": fixture, "via": via, "markers": sorted(markers),
        })

    for f in files:
        mod = mods.get(f)
        if mod is None:
            continue
        for line, kind in mod.module_findings:
            emit(mod.rel, "module", mod, line, kind, "", "", mod.markers)
        chain_mods = [mods[c] for c in conftests_for(f, rootdir) if mods.get(c) is not None and c != f]
        for u in mod.units:
            if u.kind != "test":
                continue
            marks, use = decorator_marks(mod, u.node.decorator_list)
            marks |= mod.markers
            for c in u.classes:
                marks |= c._herd_marks
                use += c._herd_use
            use += mod.usefixtures
            nodeid = u.nodeid()
            if marks & POLICY_MARKERS:
                marked[nodeid] = sorted(marks & POLICY_MARKERS)
            for line, kind, via in reach(mod, u):
                emit(nodeid, "test", mod, line, kind, "", via, marks)
            # Fixture scopes, innermost first.
            levels = [mod.class_fixtures.get(id(c), {}) for c in reversed(u.classes)]
            levels.append(mod.fixtures)
            levels += [m.fixtures for m in chain_mods]
            owners = [mod] * (len(u.classes) + 1) + chain_mods
            names = []
            for lvl in levels:
                names += [n for n, fx in lvl.items() if fx.autouse]
            names += requested(u.node) + use
            queue = [(n, 0) for n in names]
            done = set()
            while queue:
                name, start = queue.pop(0)
                for i in range(start, len(levels)):
                    fx = levels[i].get(name)
                    if fx is None:
                        continue
                    if id(fx) not in done:
                        done.add(id(fx))
                        requested_fixtures.add(id(fx))
                        for line, kind, via in reach(owners[i], fx):
                            emit(nodeid, "test", owners[i], line, kind, fx.fixture_name, via, marks)
                        params = requested(fx.node)
                        queue += [(p, i + 1 if p == name else 0) for p in params if p != "request"]
                    break
    # Fixtures with risks that no test we saw requests.
    for f in files:
        mod = mods.get(f)
        if mod is None:
            continue
        for u in mod.units:
            if u.kind in ("fixture", "xunit") and id(u) not in requested_fixtures:
                for line, kind, via in reach(mod, u):
                    nodeid = "::".join([mod.rel] + [c.name for c in u.classes] + [u.fixture_name])
                    emit(nodeid, "fixture", mod, line, kind, u.fixture_name, via, set())
    seen, unique = set(), []
    for fd in findings:
        key = (fd["nodeid"], fd["file"], fd["line"], fd["kind"])
        if key not in seen:
            seen.add(key)
            unique.append(fd)
    json.dump({"files": len([f for f in files if mods.get(f) is not None]),
               "findings": unique, "marked": marked, "notes": notes},
              sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main(sys.argv[1:])
