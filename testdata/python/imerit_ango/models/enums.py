"""The enumerations the plugin and export calls use, with the values the
SDK puts on the wire."""
from enum import Enum


class StorageFileTypes(Enum):
    # the "type" query parameter of getUploadUrl / getSignedUrl
    BRUSH = "brushes"
    MEDICAL_BRUSH = "medicalBrushes"
    ASSET = "assets"
    EXPORT = "exports"
    INSTRUCTION = "instructions"


class ExportTypes(Enum):
    TASK = "task"
    ISSUE = "issue"


class ExportFormats(Enum):
    JSON = "json"
    NDJSON = "ndjson"


class TaskTypes(Enum):
    CONSENSUS = "consensus"
    DEFAULT = "default"
    BENCHMARK = "benchmark"
