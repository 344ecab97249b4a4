"""An export plugin whose callback raises after logging one line: with
SDK 1.4 the run is answered {"error": true}; with 1.1 and 1.3 nothing is
sent and the run stays running until it is cancelled or times out."""
import os

from imerit_ango.plugins import ExportPlugin, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")


def broken(data=None, **kwargs):
    data = data if data is not None else kwargs
    data.get("logger").info("about to fail")
    raise ValueError("the export script failed on purpose")


if __name__ == "__main__":
    run(ExportPlugin(id=os.environ.get("LABELHUB_PLUGIN_ID", ""), secret=os.environ.get("LABELHUB_PLUGIN_SECRET", ""),
                     callback=broken, host=HOST), host=HOST)
