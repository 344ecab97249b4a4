"""Test double of imerit_ango.plugin_logger.

PluginLogger is the logger a plugin's callback gets as data["logger"]. Its
debug, info, warning and error methods send each call to the hub before
logging it locally: one record {level, organization, pluginId, runBy,
session, msg} plus any keyword arguments of the call (exc_info=True from
logger.exception, extra=..., ...). The SDK builds msg as the message followed
by the positional arguments joined with spaces (no %-formatting), and sends
every call whatever the logger's level. critical() and log() are not
overridden and send nothing.

Where the record goes:
  * 1.1 and 1.3: the Socket.IO event "log" of the plugin's namespace;
  * 1.4: the same event with CONNECTOR=WS (the default), or
    POST {host}/v2/pluginLog with the run's apiKey with CONNECTOR=REST.
Locally the record (a dict) goes to Python's logging, which, the logger
having no handler of its own, prints warnings and errors on stderr.
"""
import logging

from imerit_ango._generation import GENERATION


class _SendingLogger(logging.Logger):
    def _record(self, level, msg, args, kwargs):
        record = kwargs
        record["level"] = level
        record["organization"] = self.org_id
        record["pluginId"] = self.plugin_id
        record["runBy"] = self.run_by
        record["session"] = self.session
        record["msg"] = msg + " ".join(args)
        self._send(record)
        return record

    def _send(self, record):
        self.plugin.emit("log", record)

    def debug(self, msg, *args, **kwargs):
        return super().debug(self._record("DEBUG", msg, args, kwargs))

    def info(self, msg, *args, **kwargs):
        super().info(self._record("INFO", msg, args, kwargs))

    def warning(self, msg, *args, **kwargs):
        return super().warning(self._record("WARNING", msg, args, kwargs))

    def error(self, msg, *args, **kwargs):
        return super().error(self._record("ERROR", msg, args, kwargs))


class ClassicPluginLogger(_SendingLogger):
    """1.1 and 1.3: PluginLogger(name, plugin_id, org_id, run_by, session, plugin)."""

    def __init__(self, name, plugin_id, org_id, run_by, session, plugin, level=logging.NOTSET):
        super().__init__(name, level)
        self.plugin_id = plugin_id
        self.org_id = org_id
        self.run_by = run_by
        self.session = session
        self.plugin = plugin


class CurrentPluginLogger(_SendingLogger):
    """1.4: PluginLogger(name, plugin_id, org_id, apikey, run_by, session, plugin, connector, level)."""

    def __init__(self, name, plugin_id, org_id, apikey, run_by, session, plugin, connector="WS", level=logging.NOTSET):
        super().__init__(name, level)
        self.plugin_id = plugin_id
        self.org_id = org_id
        self.apikey = apikey
        self.run_by = run_by
        self.session = session
        self.plugin = plugin
        self.connector = connector

    def _send(self, record):
        if self.connector == "REST":
            from imerit_ango.sdk import SDK  # the SDK module imports nothing of this one
            # plugin.host exists on ExportPlugin only, as in the SDK
            SDK(api_key=self.apikey, host=self.plugin.host)._plugin_log(record)
        else:
            self.plugin.emit("log", record)


PluginLogger = CurrentPluginLogger if GENERATION == "1.4" else ClassicPluginLogger
