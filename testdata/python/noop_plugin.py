"""A File Explorer plugin that answers every run at once with an empty
listing: the cheapest round trip through the hub, for timing one.

LABELHUB_SERVER, LABELHUB_PLUGIN_ID and LABELHUB_PLUGIN_SECRET as for the
examples; PYTHONPATH=testdata/python for the SDK's test double."""
import os

from imerit_ango.plugins import FileExplorerPlugin, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")


def noop(data=None, **kwargs):
    return {"folders": [], "files": [], "scrollToken": None, "success": True}


if __name__ == "__main__":
    run(FileExplorerPlugin(id=os.environ.get("LABELHUB_PLUGIN_ID", ""), secret=os.environ.get("LABELHUB_PLUGIN_SECRET", ""),
                           callback=noop), host=HOST)
