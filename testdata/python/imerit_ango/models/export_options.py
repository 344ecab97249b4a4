"""Export options of the current SDK line (1.4): what GET /v2/export is
asked for. toDict returns the query parameters as the SDK sends them: the
flags as the strings "true"/"false", lists as JSON text."""
import json

from imerit_ango.models.enums import ExportFormats, ExportTypes, TaskTypes

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class TimeFilter:
    def __init__(self, from_date=None, to_date=None):
        self.from_date = from_date
        self.to_date = to_date

    def toDict(self):
        bounds = {}
        if self.from_date:
            bounds["$gt"] = self.from_date.strftime(_TIME_FORMAT)
        if self.to_date:
            bounds["$lt"] = self.to_date.strftime(_TIME_FORMAT)
        return bounds

    def to_json(self):
        return json.dumps(self.toDict())


def _flag(value):
    return "true" if value else "false"


class ExportOptions:
    def __init__(self, stage=None, batches=None, task_type=None,
                 export_format=ExportFormats.JSON, export_type=ExportTypes.TASK,
                 include_key_frames_only=False, include_idle_blur_durations=False,
                 send_email=False, include_metadata=True, include_history=True,
                 notify=False, updated_at=None, created_at=None):
        task_type = task_type or TaskTypes.DEFAULT
        # Only a missing stage means "Complete": an empty list asks for no
        # stage filter at all.
        if stage is None and task_type is TaskTypes.DEFAULT:
            stage = ["Complete"]
        self.stage = stage
        self.batches = batches
        self.task_types = [task_type]
        self.export_format = export_format
        self.export_type = export_type
        self.include_key_frames_only = include_key_frames_only
        self.include_idle_blur_durations = include_idle_blur_durations
        self.send_email = send_email
        self.include_metadata = include_metadata
        self.include_history = include_history
        self.notify = notify
        self.updated_at = updated_at
        self.created_at = created_at

    def toDict(self):
        query = {
            "sendEmail": _flag(self.send_email),
            "includeMetadata": _flag(self.include_metadata),
            "includeHistory": _flag(self.include_history),
            "doNotNotify": _flag(not self.notify),
            "format": self.export_format.value,
            "type": self.export_type.value,
            "includeOnlyKeyFrames": _flag(self.include_key_frames_only),
            "includeIdleBlurDurations": _flag(self.include_idle_blur_durations),
        }
        if self.batches:
            query["batches"] = json.dumps(self.batches)
        if self.task_types:
            query["taskTypes"] = json.dumps([t.value for t in self.task_types])
        if self.stage and self.export_type == ExportTypes.TASK:
            query["stage"] = json.dumps(self.stage)
        if self.updated_at:
            query["updatedAt"] = self.updated_at.to_json()
        if self.created_at:
            query["createdAt"] = self.created_at.to_json()
        return query
