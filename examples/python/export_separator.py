"""A custom export written with the imerit-ango SDK's ExportPlugin, run
against labelhub unchanged but for its host.

It writes a zip with one JSON file per exported asset, named from the
asset's externalId with "/" replaced by the Config JSON's
"separator-character" ("_" when unset): street/cam1.jpg becomes
street--cam1.jpg.json with {"separator-character": "--"}. A summary.json
holds the number of assets written and the number of tasks the SDK counted.

    LABELHUB_SERVER=http://127.0.0.1:8080 LABELHUB_PLUGIN_ID=... LABELHUB_PLUGIN_SECRET=... \\
      python3 examples/python/export_separator.py

(with imerit-ango installed, or PYTHONPATH=testdata/python for labelhub's test
double of it).
"""
import json
import os
import zipfile
from io import BytesIO

from imerit_ango.plugins import ExportPlugin, ExportResponse, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")
PLUGIN_ID = os.environ.get("LABELHUB_PLUGIN_ID", "")
PLUGIN_SECRET = os.environ.get("LABELHUB_PLUGIN_SECRET", "")


def export_callback(data=None, **kwargs):
    # Older SDKs call callback(**data), newer ones callback(data).
    if data is None:
        data = kwargs
    logger = data.get("logger")
    config = json.loads(data.get("configJSON") or "{}")
    separator = config.get("separator-character", "_")
    logger.info(f"export of project {data.get('projectId')} started, separator {separator!r}")

    written = []
    zip_bytes = BytesIO()
    with zipfile.ZipFile(zip_bytes, mode="w", compression=zipfile.ZIP_DEFLATED) as zf:
        for asset in data.get("jsonExport"):
            name = asset.get("externalId", "").replace("/", separator) + ".json"
            zf.writestr(name, json.dumps(asset, indent=2))
            written.append(name)
        zf.writestr("summary.json", json.dumps({"count": len(written), "numTasks": data.get("numTasks"),
                                                "separator": separator, "files": written}))
    logger.info(f"export finished: {len(written)} assets")
    return ExportResponse(file=zip_bytes, file_name="export-separated.zip")


if __name__ == "__main__":
    plugin = ExportPlugin(id=PLUGIN_ID, secret=PLUGIN_SECRET, callback=export_callback, host=HOST)
    run(plugin, host=HOST)
