"""A File Explorer plugin that answers every run with the JSON value of the
environment variable ANSWER, through the SDK's normal response: for the
answer shapes of the commercial hub's sample scripts, such as the import
sample's {"status": "success"} and {"status": "fail", "error": <SDK answer>}."""
import json
import os

from imerit_ango.plugins import FileExplorerPlugin, run

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")
ANSWER = json.loads(os.environ["ANSWER"])


def answer(data=None, **kwargs):
    return ANSWER


if __name__ == "__main__":
    run(FileExplorerPlugin(id=os.environ.get("LABELHUB_PLUGIN_ID", ""), secret=os.environ.get("LABELHUB_PLUGIN_SECRET", ""),
                           callback=answer), host=HOST)
