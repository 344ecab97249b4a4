"""A File Explorer plugin whose listing answer is larger than the hub takes
in one message (2 MiB of file names by default, OVERSIZE_BYTES to change)."""
import os

from imerit_ango.plugins import FileExplorerPlugin, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")
SIZE = int(os.environ.get("OVERSIZE_BYTES", str(2 << 20)))


def huge(data=None, **kwargs):
    return {"folders": [], "files": ["f%07d.jpg" % i for i in range(SIZE // 14 + 1)], "scrollToken": None, "success": True}


if __name__ == "__main__":
    run(FileExplorerPlugin(id=os.environ.get("LABELHUB_PLUGIN_ID", ""), secret=os.environ.get("LABELHUB_PLUGIN_SECRET", ""),
                           callback=huge), host=HOST)
