"""herd's pytest worker plugin, embedded in the herd binary.

The worker collects the suite with pytest's own machinery, tells the
controller what it collected, then runs the tests the controller sends, one
pytest_runtest_protocol at a time with the right ``nextitem`` so fixtures of
every scope are torn down when pytest would tear them down. Messages are JSON
lines on a dedicated pipe; commands arrive on another (docs/protocol.md).

The package's modules:

- channel: the pipes and the phase board (Channel, claim).
- messages: protocol messages built from pytest's objects.
- plugin: WorkerPlugin, the pytest hooks.
- collect: split collection (files collected on demand).
- loop: the run-test loop and the commands it obeys.
- leaks: processes and threads a test left running.
- xdistcompat: what pytest-xdist's workers have (workerinput, seeds...).
- terminal: the header and lines pytest's terminal would print.
- faults: stack dumps on a crash or before a kill.
- deps: what each test depends on (HERD_DEPS), sent as fp and deps.
- fingerprint: the fingerprints of files and their imports (herd_fp.py
  loads it on its own).

herd_boot.py uses Channel, install_faulthandler and WorkerPlugin;
herd_ctl.py uses _share_seed and _silence_terminal.
"""

from .channel import PROTOCOL, Channel
from .faults import install_faulthandler
from .plugin import WorkerPlugin
from .terminal import _silence_terminal
from .xdistcompat import _share_seed

__all__ = ["PROTOCOL", "Channel", "WorkerPlugin", "_share_seed", "_silence_terminal", "install_faulthandler"]
