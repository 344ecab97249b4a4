"""An export plugin whose file is named .zip but is not a zip: the hub
refuses the upload and the SDK logs "HTTP error occurred: …"."""
import os
from io import BytesIO

from imerit_ango.plugins import ExportPlugin, ExportResponse, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")


def not_a_zip(data=None, **kwargs):
    return ExportResponse(file=BytesIO(b"these bytes are not a zip archive"), file_name="broken.zip")


if __name__ == "__main__":
    run(ExportPlugin(id=os.environ.get("LABELHUB_PLUGIN_ID", ""), secret=os.environ.get("LABELHUB_PLUGIN_SECRET", ""),
                     callback=not_a_zip, host=HOST), host=HOST)
