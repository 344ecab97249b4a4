"""An export plugin whose callback logs "callback started" and then never
returns: for runs whose plugin process dies or is cancelled mid-run."""
import os
import threading

from imerit_ango.plugins import ExportPlugin, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")


def hang(data=None, **kwargs):
    data = data if data is not None else kwargs
    data.get("logger").info("callback started")
    threading.Event().wait()


if __name__ == "__main__":
    run(ExportPlugin(id=os.environ.get("LABELHUB_PLUGIN_ID", ""), secret=os.environ.get("LABELHUB_PLUGIN_SECRET", ""),
                     callback=hang, host=HOST), host=HOST)
