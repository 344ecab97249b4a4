"""Test double of imerit_ango.plugins, the plugin side of the imerit-ango SDK.

Generation switch: LABELHUB_TEST_ANGO_SDK=1.1 | 1.3 | 1.4 (default 1.4), read
once at import. Each value reproduces one generation of the published SDK
on the wire; ../README.md has the details. In short:

  1.1  socketio.Client(reconnection=False); connect(host, namespaces=["/plugin"])
       with the default transports (HTTP long-polling, then an upgrade to
       WebSocket). on_disconnect only logs. callback(**data), batches read
       from data["tags"]. PluginLogger emits "log" on the socket. A callback
       that raises sends nothing.
  1.3  the same client with transports=["websocket"], wait=True; on_disconnect
       connects again (a new client; the process exits if that fails).
       Callbacks, batches and logs as 1.1.
  1.4  transports=["websocket"], wait=True, reconnect on disconnect;
       CONNECTOR=WS (default) or REST; callback(data) with data["batches"];
       a callback that raises is answered {"error": true, "session"}; the
       export goes through GET /v2/export with ExportOptions.

Common to all: the plugin emits "heartbeat" {"id", "secret"} on connect and
then every 60 s (a failed heartbeat ends the process with status 1); the hub's
"plugin" event carries the run's data; the plugin answers with the event
"response" {"response": <callback's value>, "session"}; an export plugin
fetches the export (urlretrieve of data.exportPath, first zip entry, NDJSON),
uploads its file with requests.put to the URL getUploadUrl gives and answers
{"export": true, "response": <signed URL>, "session"}.
LABELHUB_TEST_ANGO_HEARTBEAT_SECONDS overrides the 60 s (tests only).
"""
import asyncio
import datetime
import json
import logging
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
import socketio

from imerit_ango import _generation
from imerit_ango._generation import GENERATION
from imerit_ango.models.enums import ExportFormats, StorageFileTypes
from imerit_ango.models.export_options import ExportOptions
from imerit_ango.plugin_logger import PluginLogger
from imerit_ango.sdk import SDK

LOGLEVEL = os.environ.get("LOGLEVEL", "INFO").upper()
if GENERATION != "1.1":
    # 1.1 configures no logging: only warnings and errors reach stderr.
    logging.basicConfig(level=LOGLEVEL)

CONNECTOR = os.environ.get("CONNECTOR", "WS").upper() if GENERATION == "1.4" else "WS"
PORT = int(os.environ.get("PORT", "8080"))

_RECONNECTS = GENERATION != "1.1"
_TRANSPORTS = None if GENERATION == "1.1" else ["websocket"]


class _Heartbeats:
    """Calls fn every interval seconds in a daemon thread, like the SDK's
    BackgroundScheduler job (the first call one interval after the start)."""

    def __init__(self, interval, fn):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval, fn), name="heartbeat", daemon=True)
        self._thread.start()

    def _loop(self, interval, fn):
        while not self._stop.wait(interval):
            try:
                fn()
            except Exception:  # a scheduler logs a failed job and goes on
                logging.getLogger("apscheduler").exception("heartbeat job failed")

    def shutdown(self):
        self._stop.set()


class BasePlugin(socketio.ClientNamespace):
    def __init__(self, id, secret, callback):
        super().__init__("/plugin")
        self.id = id
        self.secret = secret
        self.callback = callback
        if GENERATION == "1.1":
            self.logger = logging.getLogger()
        else:
            self.logger = logging.getLogger("plugin")
            self.logger.setLevel(LOGLEVEL)
        self.loop = asyncio.get_event_loop()
        if CONNECTOR == "WS":
            self.scheduler = _Heartbeats(_generation.heartbeat_seconds(), self.heartbeat)

    # --- connection -----------------------------------------------------

    def on_connect(self):
        self.heartbeat()
        self.logger.warning("Connected")

    def on_disconnect(self):
        self.logger.warning("Disconnected")
        if _RECONNECTS:
            _connect_ws(self, self.client.connection_url)

    def heartbeat(self):
        try:
            self.emit("heartbeat", {"id": self.id, "secret": self.secret})
        except Exception as e:
            self.logger.critical(e)
            os._exit(1)
        self.logger.info(f"Heartbeat at {time.time()}")

    # --- runs -----------------------------------------------------------

    def _get_logger(self, data):
        if GENERATION == "1.4":
            return PluginLogger("logger", self.id, data.get("orgId", ""), data.get("apiKey", ""), data.get("runBy", ""),
                                data.get("session", ""), self, CONNECTOR, LOGLEVEL)
        return PluginLogger("logger", self.id, data.get("orgId", ""), data.get("runBy", ""), data.get("session", ""), self)

    def _callback(self, data, sdk=None):
        """1.4: the callback, with its exception answered as an error."""
        try:
            return self.callback(data)
        except Exception as e:
            self.logger.error(e)
            failure = {"error": True, "session": data.get("session", "")}
            if CONNECTOR == "WS":
                self.emit("response", failure)
            elif sdk is not None:
                sdk._plugin_response(failure)
            else:
                raise

    def on_plugin(self, data):
        data["logger"] = self._get_logger(data)
        if GENERATION == "1.4":
            data["batches"] = data.get("batches", [])
            answer = {"response": self._callback(data), "session": data.get("session", "")}
            if CONNECTOR != "WS":
                return answer
            if answer.get("response") is not None:
                self.emit("response", answer)
            return None
        data["batches"] = data.get("tags", [])
        answer = {"response": self.callback(**data), "session": data.get("session", "")}
        self.emit("response", answer)
        return None

    def start(self, background=False):
        if not background:
            asyncio.get_event_loop().run_forever()


Plugin = BasePlugin  # the class's name in 1.1 and 1.3


class ExportResponse:
    def __init__(self, file, file_name="export.json", storage_id=None, bucket=None, options=None):
        self.file = file
        self.file_name = file_name
        self.storage_id = storage_id
        self.bucket = bucket
        self.options = options


class ExportPlugin(BasePlugin):
    def __init__(self, id, secret, callback, host="https://imeritapi.ango.ai", version="v2"):
        super().__init__(id, secret, callback)
        self.host = host
        self.version = version

    def on_plugin(self, data):
        if GENERATION == "1.4":
            return self._export_current(data)
        return self._export_classic(data)

    def _export_classic(self, data):
        project_id = data.get("projectId")
        logger = self._get_logger(data)
        sdk = SDK(api_key=data.get("apiKey"), host=self.host)
        # The SDK reads these two with attribute access on the dict, so a run
        # that carries either ends here with an AttributeError.
        if data.get("completed_at", None):
            [datetime.datetime.fromisoformat(t) for t in data.completed_at]
        if data.get("updated_at", None):
            [datetime.datetime.fromisoformat(t) for t in data.updated_at]
        try:
            records, lines = sdk.exportV3(project_id, batches=data.get("batches", None), stage=data.get("stage", None),
                                          export_format="ndjson")
            data["numTasks"] = lines
        except Exception as e:
            logger.error(f"Error calling sdk.export: {e}")
            return None
        data["jsonExport"] = records
        data["logger"] = logger
        result = self.callback(**data)
        if result.storage_id:
            upload_url, signed_url = _bucket_urls(sdk, result)
        else:
            upload_url = sdk._get_upload_url(project_id + "/exports/" + result.file_name)
            signed_url = sdk._get_signed_url(upload_url)
        if _put(upload_url, result, logger):
            self.emit("response", {"export": True, "response": signed_url, "session": data.get("session", "")})
        return None

    def _export_current(self, data):
        project_id = data.get("projectId")
        logger = self._get_logger(data)
        config = json.loads(data.get("configJSON", "{}"))
        sdk = SDK(api_key=data.get("apiKey"), host=self.host)
        try:
            options = ExportOptions(export_format=ExportFormats.NDJSON, stage=data.get("stage"),
                                    include_key_frames_only=config.get("include_key_frames_only", False),
                                    batches=data.get("batches"), notify=False)
            records, count = sdk.export(project_id, options)
            data["numTasks"] = count
        except Exception as e:
            logger.error(f"Error calling sdk.export: {e}")
            return None
        data["jsonExport"] = records
        data["logger"] = logger
        result = self._callback(data, sdk)
        # a callback that failed returned None: this raises, as in the SDK
        file_name = result.file_name
        upload_url = sdk._get_upload_url(file_name, project=project_id, file_type=StorageFileTypes.EXPORT,
                                         storage_id=result.storage_id)
        signed_url = sdk._get_signed_url(upload_url, project=project_id, file_type=StorageFileTypes.EXPORT,
                                         storage_id=result.storage_id)
        if _put(upload_url, result, logger):
            answer = {"export": True, "response": signed_url, "session": data.get("session", "")}
            if CONNECTOR == "WS":
                self.emit("response", answer)
            else:
                sdk._plugin_response(answer)
        return None


def _put(upload_url, result, logger):
    """Uploads the export's bytes; False (after logging why) if that failed."""
    try:
        answer = requests.put(upload_url, data=result.file.getvalue())
        answer.raise_for_status()
    except requests.HTTPError as http_err:
        logger.error(f"HTTP error occurred: {http_err}")
        return False
    except Exception as err:
        logger.error(f"Other error occurred: {err}")
        return False
    return True


def _bucket_urls(sdk, result):
    """1.1/1.3 with ExportResponse(storage_id=...): presigned URLs of the
    user's own bucket, with the keys get_storages returns."""
    import boto3

    storage = sdk.get_storages(result.storage_id)
    s3 = boto3.client("s3", region_name=storage.get("region"), aws_access_key_id=storage.get("publicKey"),
                      aws_secret_access_key=storage.get("privateKey"))
    where = {"Bucket": result.bucket, "Key": result.file_name}
    return (s3.generate_presigned_url("put_object", Params=where, ExpiresIn=3600),
            s3.generate_presigned_url("get_object", Params=where, ExpiresIn=3600))


class FileExplorerPlugin(BasePlugin):
    pass


class BatchModelPlugin(BasePlugin):
    pass


class InputPlugin(BasePlugin):
    pass


class MarkdownPlugin(BasePlugin):
    pass


def _connect_ws(plugin, host):
    try:
        client = socketio.Client(logger=logging.getLogger("plugin"), reconnection=False)
        client.register_namespace(plugin)
        if _TRANSPORTS is None:
            client.connect(host, namespaces=["/plugin"])
        else:
            client.connect(host, namespaces=["/plugin"], transports=_TRANSPORTS, wait=True)
    except Exception as e:
        logging.getLogger().critical(e)
        os._exit(1)


def _serve_rest(plugin):
    """1.4 with CONNECTOR=REST: the hub calls the plugin. POST /plugin with
    the run's data answers what on_plugin returns, GET /heartbeat "ok", both
    only with the header Secret: <plugin secret> (else 401). The SDK serves
    this with FastAPI on 0.0.0.0:PORT; the double uses the standard library."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status, value):
            body = json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _allowed(self):
            if self.headers.get("Secret") == plugin.secret:
                return True
            self._answer(401, {"detail": "Unauthorized"})
            return False

        def do_GET(self):
            if self.path != "/heartbeat":
                return self._answer(404, {"detail": "Not Found"})
            if self._allowed():
                self._answer(200, "ok")

        def do_POST(self):
            if self.path != "/plugin":
                return self._answer(404, {"detail": "Not Found"})
            if not self._allowed():
                return None
            length = int(self.headers.get("Content-Length") or 0)
            try:
                payload = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                return self._answer(422, {"detail": "the body must be a JSON object"})
            self._answer(200, plugin.on_plugin(payload))

    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()


def run(plugin, host="https://imeritapi.ango.ai"):
    try:
        if CONNECTOR == "WS":
            _connect_ws(plugin, host)
            plugin.start()
        else:
            plugin.start(background=True)
            _serve_rest(plugin)
    except (KeyboardInterrupt, SystemExit):
        logging.getLogger().warning("Plugin Stopped")
        os._exit(1)
