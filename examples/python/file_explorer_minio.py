"""A File Explorer plugin written with the imerit-ango SDK's
FileExplorerPlugin, for a MinIO (or any S3-compatible) bucket, run against
labelhub unchanged but for its host.

A listing run (upload false) answers one page of one folder level:
{"folders": [...], "files": [...], "scrollToken": "..." | None, "success": True};
folders end in "/", names are relative to the bucket URL's prefix, and a
non-null scrollToken is sent back for the next page. An import run (upload
true) sends the asset files of the folder (one level, as the SDK's File
Explorers do; every level below it too when the run's data has
"recursive": true) or the selected "files" to the run's project through
sdk.upload_files_cloud, each with its URL <endpoint>/<bucket>/<key> as data
and its key as externalId, and answers a message.

The bucket: "bucketURL" in the Config JSON or LABELHUB_BUCKET_URL,
s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1; the
credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. The hub reads the
files through the storage integration named by the run's integrationId.

    LABELHUB_SERVER=http://127.0.0.1:8080 LABELHUB_PLUGIN_ID=... LABELHUB_PLUGIN_SECRET=... \\
      LABELHUB_BUCKET_URL='s3://photos/2024?endpoint=http://127.0.0.1:9000' \\
      AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... python3 examples/python/file_explorer_minio.py
"""
import json
import mimetypes
import os
from urllib.parse import parse_qs, quote, urlsplit

import boto3
from botocore.config import Config

from imerit_ango.plugins import FileExplorerPlugin, run
from imerit_ango.sdk import SDK

HOST = os.environ.get("LABELHUB_SERVER", "http://127.0.0.1:8080")
PLUGIN_ID = os.environ.get("LABELHUB_PLUGIN_ID", "")
PLUGIN_SECRET = os.environ.get("LABELHUB_PLUGIN_SECRET", "")
DEFAULT_PAGE_SIZE = 100


class Bucket:
    def __init__(self, bucket_url):
        parts = urlsplit(bucket_url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"bucket URL {bucket_url!r}: want s3://bucket/prefix?endpoint=...")
        query = parse_qs(parts.query)
        self.name = parts.netloc
        self.prefix = parts.path.strip("/")
        if self.prefix:
            self.prefix += "/"
        self.endpoint = (query.get("endpoint") or [""])[0].rstrip("/")
        region = (query.get("region") or ["us-east-1"])[0]
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint or None, region_name=region,
                               config=Config(s3={"addressing_style": "path"}))

    def url(self, key):
        # the asset URL labelhub expects of an S3-compatible store
        return f"{self.endpoint}/{self.name}/{quote(key, safe='/')}"

    def page(self, folder, token, size):
        args = {"Bucket": self.name, "Prefix": self.prefix + folder, "Delimiter": "/", "MaxKeys": size}
        if token:
            args["ContinuationToken"] = token
        answer = self.s3.list_objects_v2(**args)
        folders = [p["Prefix"][len(self.prefix):] for p in answer.get("CommonPrefixes", [])]
        files = [o["Key"][len(self.prefix):] for o in answer.get("Contents", []) if o["Key"] != self.prefix + folder]
        return folders, files, answer.get("NextContinuationToken") if answer.get("IsTruncated") else None

    def keys(self, folder, recursive):
        args = {"Bucket": self.name, "Prefix": self.prefix + folder}
        if not recursive:
            args["Delimiter"] = "/"
        for page in self.s3.get_paginator("list_objects_v2").paginate(**args):
            for o in page.get("Contents", []):
                if not o["Key"].endswith("/"):
                    yield o["Key"]


def is_asset(key):
    kind, _ = mimetypes.guess_type(key)
    return bool(kind) and (kind.split("/")[0] in ("image", "video", "audio", "text") or kind == "application/pdf")


def explorer_callback(data=None, **kwargs):
    # Older SDKs call callback(**data), newer ones callback(data).
    if data is None:
        data = kwargs
    logger = data.get("logger")
    config = json.loads(data.get("configJSON") or "{}")
    bucket = Bucket(config.get("bucketURL") or os.environ.get("LABELHUB_BUCKET_URL", ""))
    folder = data.get("folder") or ""

    if not data.get("upload"):
        folders, files, token = bucket.page(folder, data.get("scrollToken"), int(config.get("pageSize") or DEFAULT_PAGE_SIZE))
        logger.info(f"listed {len(folders)} folders and {len(files)} files of {folder or '/'}")
        return {"folders": folders, "files": files, "scrollToken": token, "success": True}

    if data.get("files"):
        keys = [bucket.prefix + name for name in data.get("files")]
    else:
        keys = list(bucket.keys(folder, bool(data.get("recursive"))))
    assets = [{"data": bucket.url(key), "externalId": key} for key in keys if is_asset(key)]
    logger.info(f"importing {len(assets)} of the {len(keys)} files of {folder or '/'}")
    sdk = SDK(api_key=data.get("apiKey"), host=HOST)
    answer = sdk.upload_files_cloud(data.get("projectId"), assets, storage_id=data.get("integrationId") or None,
                                    batches=data.get("batches") or None)
    state = (answer.get("data") or {}).get("state", "sent") if isinstance(answer, dict) else "sent"
    return f"{len(assets)} of {len(keys)} files of {folder or '/'} imported ({state})"


if __name__ == "__main__":
    plugin = FileExplorerPlugin(id=PLUGIN_ID, secret=PLUGIN_SECRET, callback=explorer_callback)
    run(plugin, host=HOST)
