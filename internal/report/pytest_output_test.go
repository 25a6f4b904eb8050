package report

// Output of pytest 7.2.1 itself (Python 3.11.2), captured with
// /usr/bin/python3 -m pytest -p no:cacheprovider on the suites the
// fixtures describe. Only an object address in a traceback was changed to
// the one the fixture holds.
const (
	// refRA is the output of: pytest -rA --durations=3 test_a.py.
	refRA = `============================= test session starts ==============================
platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack
rootdir: /tmp/rep1
plugins: timeout-2.1.0, xdist-3.1.0
collected 8 items

test_a.py .FEsxX.F                                                       [100%]

==================================== ERRORS ====================================
__________________________ ERROR at setup of test_err __________________________

    @pytest.fixture
    def bad():
>       raise RuntimeError("boom")
E       RuntimeError: boom

test_a.py:9: RuntimeError
=================================== FAILURES ===================================
__________________________________ test_fail ___________________________________

    def test_fail():
        print("hello out")
        sys.stderr.write("hello err\n")
>       assert 1 == 2
E       assert 1 == 2

test_a.py:6: AssertionError
----------------------------- Captured stdout call -----------------------------
hello out
----------------------------- Captured stderr call -----------------------------
hello err
_________________________________ TestC.test_m _________________________________

self = <test_a.TestC object at 0x7f63796dbb50>

>   def test_m(self): assert 0
E   assert 0

test_a.py:19: AssertionError
=============================== warnings summary ===============================
test_a.py::test_warn
  /tmp/rep1/test_a.py:17: UserWarning: careful
    warnings.warn(UserWarning("careful"))

-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html
==================================== PASSES ====================================
============================= slowest 3 durations ==============================

(3 durations < 0.005s hidden.  Use -vv to show these durations.)
=========================== short test summary info ============================
PASSED test_a.py::test_pass
PASSED test_a.py::test_warn
SKIPPED [1] test_a.py:11: nope
XFAIL test_a.py::test_xf - known
XPASS test_a.py::test_xp known2
ERROR test_a.py::test_err - RuntimeError: boom
FAILED test_a.py::test_fail - assert 1 == 2
FAILED test_a.py::TestC::test_m - assert 0
= 2 failed, 2 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 warning, 1 error in 0.03s =
`

	// refQuiet is the output of: pytest -q --tb=no -rfEsxX test_a.py.
	refQuiet = `.FEsxX.F                                                                 [100%]
=============================== warnings summary ===============================
test_a.py::test_warn
  /tmp/rep1/test_a.py:17: UserWarning: careful
    warnings.warn(UserWarning("careful"))

-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html
=========================== short test summary info ============================
FAILED test_a.py::test_fail - assert 1 == 2
FAILED test_a.py::TestC::test_m - assert 0
ERROR test_a.py::test_err - RuntimeError: boom
SKIPPED [1] test_a.py:11: nope
XFAIL test_a.py::test_xf - known
XPASS test_a.py::test_xp known2
2 failed, 2 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 warning, 1 error in 0.01s
`

	// refCollection is the output of: pytest (test_bad.py fails to import).
	refCollection = `============================= test session starts ==============================
platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack
rootdir: /tmp/rep2
plugins: timeout-2.1.0, xdist-3.1.0
collected 3 items / 1 error

==================================== ERRORS ====================================
_________________________ ERROR collecting test_bad.py _________________________
ImportError while importing test module '/tmp/rep2/test_bad.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
test_bad.py:1: in <module>
    import nonexistent_mod
E   ModuleNotFoundError: No module named 'nonexistent_mod'
=========================== short test summary info ============================
ERROR test_bad.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
=============================== 1 error in 0.08s ===============================
`

	// refCollectionQuiet is the output of: pytest -q (test_bad.py fails to import).
	refCollectionQuiet = `
==================================== ERRORS ====================================
_________________________ ERROR collecting test_bad.py _________________________
ImportError while importing test module '/tmp/rep2/test_bad.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
test_bad.py:1: in <module>
    import nonexistent_mod
E   ModuleNotFoundError: No module named 'nonexistent_mod'
=========================== short test summary info ============================
ERROR test_bad.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
1 error in 0.04s
`

	// refContinue is the output of: pytest --continue-on-collection-errors.
	refContinue = `============================= test session starts ==============================
platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack
rootdir: /tmp/rep2
plugins: timeout-2.1.0, xdist-3.1.0
collected 3 items / 1 error

test_b.py ...                                                            [100%]

==================================== ERRORS ====================================
_________________________ ERROR collecting test_bad.py _________________________
ImportError while importing test module '/tmp/rep2/test_bad.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
test_bad.py:1: in <module>
    import nonexistent_mod
E   ModuleNotFoundError: No module named 'nonexistent_mod'
=========================== short test summary info ============================
ERROR test_bad.py
========================== 3 passed, 1 error in 0.03s ==========================
`

	// refDeselected is the output of: pytest test_b.py -k "1 or 2".
	refDeselected = `============================= test session starts ==============================
platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack
rootdir: /tmp/rep2
plugins: timeout-2.1.0, xdist-3.1.0
collected 3 items / 1 deselected / 2 selected

test_b.py ..                                                             [100%]

======================= 2 passed, 1 deselected in 0.01s ========================
`

	// refTBLine is the output of: pytest --tb=line test_a.py (captured in
	// another directory, renamed /tmp/rep1 here).
	refTBLine = `============================= test session starts ==============================
platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack
rootdir: /tmp/rep1
plugins: timeout-2.1.0, xdist-3.1.0
collected 8 items

test_a.py .FEsxX.F                                                       [100%]

==================================== ERRORS ====================================
__________________________ ERROR at setup of test_err __________________________
E   RuntimeError: boom
=================================== FAILURES ===================================
/tmp/rep1/test_a.py:6: assert 1 == 2
/tmp/rep1/test_a.py:19: assert 0
=============================== warnings summary ===============================
test_a.py::test_warn
  /tmp/rep1/test_a.py:17: UserWarning: careful
    warnings.warn(UserWarning("careful"))

-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html
=========================== short test summary info ============================
FAILED test_a.py::test_fail - assert 1 == 2
FAILED test_a.py::TestC::test_m - assert 0
ERROR test_a.py::test_err - RuntimeError: boom
= 2 failed, 2 passed, 1 skipped, 1 xfailed, 1 xpassed, 1 warning, 1 error in 0.04s =
`
)
