"""Code at module level runs when the module is imported, in every worker."""
import sys

sys.path.insert(0, "/opt/herd-doctor-module")  # doctor: module-sys-path


def test_after_module_level_change():
    assert "/opt/herd-doctor-module" in sys.path
