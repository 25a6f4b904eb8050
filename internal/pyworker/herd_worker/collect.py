"""Split collection: the session's walk stops at the files, and a file is
collected (imported) only when the controller hands it or its tests over."""

import contextlib

import pytest


def _collect_warnings(config):
    """Record the warnings raised while test files are imported, as pytest
    does around its collection: a file collected later, out of pytest's
    own collection, must not lose them."""
    try:
        from _pytest.warnings import catch_warnings_for_item

        return catch_warnings_for_item(config, ihook=config.hook, when="collect", item=None)
    except Exception:
        return contextlib.nullcontext()


def _is_dir(node):
    """Whether node is a directory collector (a package), whose collection
    walks the file system but imports no test module."""
    directory = getattr(pytest, "Directory", None)
    if directory is not None and isinstance(node, directory):
        return True
    return isinstance(node, pytest.Package)


def _splittable(config):
    """Whether the session's collection may be split across workers:
    --lf and --sw decide over the whole collection at once."""
    for name in ("lf", "stepwise", "stepwise_skip"):
        try:
            if config.getoption(name):
                return False
        except (ValueError, AttributeError):
            pass
    return True


class SplitCollection:
    """The WorkerPlugin's part in split collection (HERD_SPLIT=1). The
    plugin holds the state: leaves (the files the session's walk stopped
    at, in order), leaf_by_id (a file's id -> its collectors), expanded
    (the files collected so far), items (nodeid -> item), frozen (see
    _freeze_marks), _deselected_now and collect_failed, and the
    collection's errors, skips and deselected count."""

    def _expand_dirs(self, nodes):
        from _pytest.runner import collect_one_node

        out = []
        for node in nodes:
            if _is_dir(node):
                rep = collect_one_node(node)
                node.ihook.pytest_collectreport(report=rep)
                if rep.passed:
                    out.extend(self._expand_dirs(list(rep.result)))
            else:
                out.append(node)
        return out

    def _collect(self, session, ids, handed=None):
        """Collect the files named by ids (those not collected yet), as
        pytest's genitems and modifyitems would, and return their items
        that are left. handed, for a late collection, holds the nodeids
        the controller handed over: they were selected when their file was
        first collected, so they stay selected here too."""
        items = []
        with self._as_first_collected(), _collect_warnings(session.config):
            for leaf_id in ids:
                if leaf_id not in self.leaf_by_id or leaf_id in self.expanded:
                    continue
                self.expanded.add(leaf_id)
                for leaf in self.leaf_by_id[leaf_id]:
                    if isinstance(leaf, pytest.Item):
                        items.append(leaf)
                    else:
                        items.extend(session.genitems(leaf))
            if items:
                self._deselected_now = [] if handed else None
                try:
                    session.config.hook.pytest_collection_modifyitems(
                        session=session, config=session.config, items=items
                    )
                    if handed:
                        items.extend(it for it in self._deselected_now if it.nodeid in handed)
                finally:
                    self._deselected_now = None
        if items:
            session.items.extend(items)
            session.testscollected = len(session.items)
            for item in items:
                self.items.setdefault(item.nodeid, item)
        return items

    def _freeze_marks(self):
        """Remember the marks of the collectors above the files (the
        session, its directories and packages) as they stand before the
        first test runs. Running a test changes them: setting up a package
        imports its __init__.py, and pytest then adds the package's
        pytestmark to it. Under pytest that happens after the whole
        collection; a file this worker collects later must not see it, or
        -m and -k would select its tests differently."""
        if self.frozen is not None or self.leaves is None:
            return
        seen = {}
        for leaves in self.leaf_by_id.values():
            for leaf in leaves:
                node = leaf.parent
                while node is not None and id(node) not in seen:
                    kw = getattr(node.keywords, "_markers", None)
                    seen[id(node)] = (node, list(node.own_markers), dict(kw) if kw is not None else None)
                    node = node.parent
        self.frozen = list(seen.values())

    @contextlib.contextmanager
    def _as_first_collected(self):
        """Give the collectors above the files their marks of before the
        first test (see _freeze_marks) while a file is collected late,
        and their marks of now again afterwards."""
        swapped = []
        for node, marks, kw in self.frozen or ():
            keywords = node.keywords
            now_kw = getattr(keywords, "_markers", None)
            swapped.append((node, node.own_markers, keywords, now_kw, len(marks)))
            node.own_markers = list(marks)
            if kw is not None and now_kw is not None:
                keywords._markers = dict(kw)
        try:
            yield
        finally:
            for node, marks, keywords, kw, n in swapped:
                # Marks the collection itself added (a package whose
                # module it imported) stay.
                marks.extend(node.own_markers[n:])
                node.own_markers = marks
                if kw is not None:
                    kw.update((m.name, m) for m in node.own_markers[n:] if m.name not in kw)
                    keywords._markers = kw

    def _leaf_of(self, nodeid):
        """The id of the file (collection leaf) nodeid belongs to, or None."""
        parts = nodeid.split("::")
        for k in range(1, len(parts) + 1):
            leaf_id = "::".join(parts[:k])
            if leaf_id in self.leaf_by_id:
                return leaf_id
        return None

    def _collect_for(self, session, nodeids):
        """Collect, before they run, the files of tests handed to this
        worker that it has not collected (work moved to it). Returns the
        nodeids it still lacks: those whose file failed to collect here
        are in self.collect_failed with the error, to end as it; the
        others go back to the controller."""
        want = []
        for nodeid in nodeids:
            if nodeid in self.items:
                continue
            leaf_id = self._leaf_of(nodeid)
            if leaf_id is not None and leaf_id not in self.expanded and leaf_id not in want:
                want.append(leaf_id)
        errors = []
        if want:
            # Importing a file can take long: the controller must not take
            # the silence for a stuck worker.
            self.ch.send({"t": "collecting", "files": [{"id": f} for f in want]})
            saved = self.errors, self.collect_skips, self.deselected
            self.errors = []
            try:
                self._collect(session, want, handed=set(nodeids))
                errors = self.errors
            finally:
                # Their errors and counts were reported by the worker that
                # collected them first.
                self.errors, self.collect_skips, self.deselected = saved
        missing = []
        for nodeid in nodeids:
            if nodeid in self.items or nodeid in self.collect_failed:
                continue
            for e in errors:
                path = e["path"]
                if nodeid == path or nodeid.startswith(path + "::") or self._leaf_of(nodeid) == path:
                    self.collect_failed[nodeid] = e["message"]
                    break
            else:
                missing.append(nodeid)
        return missing
