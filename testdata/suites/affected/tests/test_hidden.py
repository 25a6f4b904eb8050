import pathlib
import subprocess
import sys


def test_notes_through_a_subprocess():
    # The file is read by another process: no audit hook sees it, so
    # --affected cannot know this test depends on it (a planted miss).
    path = pathlib.Path(__file__).parent.parent / "shop" / "notes.txt"
    out = subprocess.run([sys.executable, "-c", "import sys; print(open(sys.argv[1]).read())", str(path)],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("Read by a subprocess")
