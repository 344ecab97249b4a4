"""A File Explorer plugin that answers each run with a malformed "response"
event instead of the SDK's {"response", "session"}:
FAULT=list (default) sends a JSON list, FAULT=no-response an object with the
run's session but no "response" field."""
import os

from imerit_ango.plugins import FileExplorerPlugin, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")
FAULT = os.environ.get("FAULT", "list")


class Malformed(FileExplorerPlugin):
    def on_plugin(self, data):
        if FAULT == "no-response":
            self.emit("response", {"session": data.get("session", ""), "answer": "misnamed"})
        else:
            self.emit("response", ["not", "an", "object"])


if __name__ == "__main__":
    run(Malformed(id=os.environ.get("LABELHUB_PLUGIN_ID", ""), secret=os.environ.get("LABELHUB_PLUGIN_SECRET", ""),
                  callback=None), host=HOST)
