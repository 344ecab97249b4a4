"""Test double of imerit_ango.sdk: the REST calls plugins make, as each SDK
generation makes them (paths, query strings, headers, bodies, and how the
answer is read). Only the calls the plugin classes and typical plugin
scripts use are here; ../README.md lists them.

Two request styles, as in the SDK:
  * 1.1 and 1.3 (ClassicSDK) build each URL with "%s" formatting and read
    answers with .json() whatever the status;
  * 1.4 (CurrentSDK) goes through make_request, which raises on an HTTP
    error status with the answer's text.
Values put into query strings with "%s" are NOT percent-encoded, exactly like
the SDK: an upload URL handed to getSignedUrl lands in the query string as
it is, and requests only quotes characters that may not appear in a URL.
"""
import json
import logging
import urllib.request
import zipfile
from urllib.parse import urlencode

import requests

from imerit_ango._generation import GENERATION
from imerit_ango.models.enums import ExportFormats, StorageFileTypes
from imerit_ango.models.export_options import ExportOptions

DEFAULT_HOST = "https://imeritapi.ango.ai"


def _ndjson_records(content):
    # One JSON value per non-empty line of the export's bytes.
    for line in content.splitlines():
        if line:
            yield json.loads(line)


def _first_zip_entry(path):
    with zipfile.ZipFile(path, "r") as archive:
        with archive.open(archive.namelist()[0]) as entry:
            return entry.read()


class ClassicSDK:
    """The SDK object of the 1.1 and 1.3 generations."""

    def __init__(self, api_key, host=DEFAULT_HOST):
        self.api_key = api_key
        self.host = host
        self.session = requests.Session()
        if host in ("https://api.ango.ai", "https://apibeta.ango.ai"):
            logging.getLogger().error("Please downgrade your version to < 1.0.0")
        logging.getLogger().info("Your host is %s" % host)

    def _json_headers(self):
        return {"Content-Type": "application/json", "apikey": self.api_key}

    def get_project(self, project_id):
        url = "%s/v2/project/%s" % (self.host, project_id)
        return self.session.get(url, headers=self._json_headers(), data={}).json()

    def get_batches(self, project_id):
        project = self.get_project(project_id)
        if "data" not in project:
            raise Exception("Invalid Project Id!")
        return project.get("data", {}).get("project", {}).get("batches", [])

    def get_storages(self, storage_id=None):
        answer = self.session.get("%s/v2/storages" % self.host, headers={"apikey": self.api_key})
        if storage_id:
            for storage in answer.json().get("data", {}).get("storages", []):
                if storage["_id"] == storage_id:
                    return storage
        return answer.json()

    def _storage_exists(self, project_id, storage_id):
        # The SDK passes the project id where get_storages expects a storage
        # id, so it always gets the whole list back and looks in it.
        listed = self.get_storages(project_id)
        return any(s.get("_id") == storage_id for s in listed["data"]["storages"])

    def upload_files_cloud(self, project_id, assets, storage_id=None, batches=None):
        if storage_id and not self._storage_exists(project_id, storage_id):
            # The SDK raises a string here, which Python turns into this.
            raise TypeError("exceptions must derive from BaseException")
        url = "%s/v2/project/%s/cloud" % (self.host, project_id)
        known = self.get_batches(project_id)

        def ids_of(names):
            found = []
            for wanted in names:
                matches = [b["_id"] for b in known if wanted in (b["_id"], b["name"])]
                if not matches:
                    raise Exception("Batch %s not found" % wanted)
                found.extend(matches)
            return found

        for asset in assets:
            if storage_id:
                asset["storage"] = storage_id
            if "batches" in asset:
                asset["batches"] = ids_of(asset["batches"])
        if batches:
            url += "?batches=%s" % json.dumps(ids_of(batches))
        body = json.dumps({"assets": assets})
        return self.session.post(url, headers=self._json_headers(), data=body).json()

    def export(self, project_id, assignees=None, completed_at=None, updated_at=None, batches=None, stage=None,
               export_format="json"):
        return self.exportV3(project_id=project_id, batches=batches, stage=stage, export_format=export_format)

    def exportV3(self, project_id, batches=None, stage=None, export_format="json", export_type=None):
        query = {
            "project": project_id,
            "sendEmail": "false",
            "format": export_format,
            "includeMetadata": "true",
            "includeHistory": "true",
            "includeSegmentationPoints": "true",
            "doNotNotify": "true",
            # urlencode writes a None as the text "None", as the SDK sends it
            "type": export_type,
        }
        if batches:
            query["batches"] = json.dumps(batches)
        if stage:
            query["stage"] = json.dumps(stage)
        answer = self.session.get("%s/v2/exportV3?%s" % (self.host, urlencode(query)), headers={"apikey": self.api_key})
        answer.raise_for_status()
        link = answer.json()["data"]["exportPath"]
        local, _ = urllib.request.urlretrieve(link)
        content = _first_zip_entry(local)
        if export_format == "ndjson":
            # this generation counts newline bytes, not records
            return _ndjson_records(content), content.count(b"\n")
        return json.loads(content)

    def _get_upload_url(self, fname):
        url = "%s/v2/getUploadUrl?name=%s" % (self.host, fname)
        return self.session.get(url, headers={"apikey": self.api_key}).json()["data"]["uploadUrl"]

    def _get_signed_url(self, fname):
        url = "%s/v2/getSignedUrl?name=%s" % (self.host, fname)
        return self.session.get(url, headers={"apikey": self.api_key}).json()["data"]["signedUrl"]

    def _plugin_response(self, response):
        return self.session.post("%s/v2/pluginResponse" % self.host, json=response,
                                 headers={"apikey": self.api_key}).json()

    def _plugin_log(self, log):
        return self.session.post("%s/v2/pluginLog" % self.host, json=log, headers={"apikey": self.api_key}).json()


class CurrentSDK:
    """The SDK object of the 1.4 generation."""

    def __init__(self, api_key, host=DEFAULT_HOST):
        self.api_key = api_key
        self.host = host
        self.session = requests.Session()
        self.logger = logging.getLogger(self.__class__.__name__)
        self.logger.setLevel(logging.INFO)
        if not self.logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s"))
            self.logger.addHandler(handler)

    def make_request(self, method, endpoint, payload=None):
        headers = {"Content-Type": "application/json", "apikey": self.api_key}
        try:
            answer = self.session.request(method, self.host + endpoint, headers=headers, json=payload)
            if not answer.ok:
                self.logger.error(answer.text)
                raise Exception(answer.text)
            return answer.json()
        except Exception as e:
            self.logger.error(f"Error during request: {e}")
            raise

    def get_project(self, project_id):
        return self.make_request("GET", f"/v2/project/{project_id}")

    def get_batches(self, project_id):
        project = self.get_project(project_id)
        if "data" not in project:
            self.logger.error("Invalid Project Id!")
            return []
        return project.get("data", {}).get("project", {}).get("batches", [])

    def get_storages(self, storage_id=None):
        endpoint = "/v2/storages"
        if storage_id:
            endpoint += f"?_id={storage_id}"
        answer = self.make_request("GET", endpoint)
        if storage_id:
            for storage in answer.get("data", {}).get("storages", []):
                if storage["_id"] == storage_id:
                    return storage
        return answer

    def _storage_exists(self, storage_id):
        listed = self.get_storages()
        return any(s.get("_id") == storage_id for s in listed["data"]["storages"])

    def _batch_ids(self, project_id, names):
        known = self.get_batches(project_id)
        found = []
        for wanted in names:
            matches = [b["_id"] for b in known if wanted in (b["_id"], b["name"])]
            if not matches:
                raise Exception("Batch %s not found" % wanted)
            found.extend(matches)
        return found

    def upload_files_cloud(self, project_id, assets, storage_id=None, batches=None, priority=0, upload_local=None):
        if storage_id and not self._storage_exists(storage_id):
            raise TypeError("exceptions must derive from BaseException")
        url = "%s/v2/project/%s/cloud" % (self.host, project_id)
        for asset in assets:
            if storage_id:
                asset["storage"] = storage_id
            if "batches" in asset:
                # one project read per asset that names batches, as the SDK does
                asset["batches"] = self._batch_ids(project_id, asset["batches"])
        if batches:
            url += "?batches=%s" % json.dumps(self._batch_ids(project_id, batches))
        body = json.dumps({"assets": assets, "uploadLocal": upload_local, "priority": priority})
        headers = {"Content-Type": "application/json", "apikey": self.api_key}
        return self.session.post(url, headers=headers, data=body).json()

    def export(self, project_id, options=ExportOptions(), zip_file_path=None):
        return self.exportV3(project_id, options, zip_file_path)

    def exportV3(self, project_id, options=ExportOptions(), zip_file_path=None):
        query = options.toDict()
        query["project"] = project_id
        answer = self.session.get(f"{self.host}/v2/export?{urlencode(query)}", headers={"apikey": self.api_key})
        answer.raise_for_status()
        link = answer.json()["data"]["exportPath"]
        local, _ = urllib.request.urlretrieve(link)
        if zip_file_path:
            urllib.request.urlretrieve(link, zip_file_path)
            return None
        content = _first_zip_entry(local)
        if options.export_format == ExportFormats.NDJSON:
            records = len([line for line in content.splitlines() if line.strip()])
            return _ndjson_records(content), records
        return json.loads(content)

    def _get_upload_url(self, file_name, project, file_type, storage_id=None):
        url = "%s/v2/getUploadUrl?name=%s&project=%s&type=%s" % (self.host, file_name, project, file_type.value)
        if storage_id:
            url += "&storageId=%s" % storage_id
        return self.session.get(url, headers={"apikey": self.api_key}).json()["data"]["uploadUrl"]

    def _get_signed_url(self, asset_url, project, file_type, storage_id=None):
        url = "%s/v2/getSignedUrl?name=%s&project=%s&type=%s" % (self.host, asset_url, project, file_type.value)
        if storage_id:
            url += "&storageId=%s" % storage_id
        return self.session.get(url, headers={"apikey": self.api_key}).json()["data"]["signedUrl"]

    def _plugin_log(self, log):
        return self.make_request("POST", "/v2/pluginLog", log)

    def _plugin_response(self, response):
        return self.make_request("POST", "/v2/pluginResponse", response)


SDK = CurrentSDK if GENERATION == "1.4" else ClassicSDK

__all__ = ["SDK", "ClassicSDK", "CurrentSDK", "DEFAULT_HOST", "StorageFileTypes", "ExportFormats", "ExportOptions"]
