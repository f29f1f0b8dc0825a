"""Signs requests with botocore's S3 SigV4 signer, for the cross-check in
Tests/BatonStoreTests/SigV4BotocoreTests.swift. Reads a JSON list of
requests on stdin, prints a JSON list of Authorization headers."""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode


def sign(spec):
    credentials = Credentials(spec["accessKey"], spec["secretKey"], spec.get("sessionToken"))
    path = "/" + spec["bucket"] + "/" + percent_encode(spec["key"], safe="/~")
    request = AWSRequest(method=spec["method"], url=f"http://{spec['host']}{path}",
                         params=dict(spec["query"]), data=bytes.fromhex(spec["bodyHex"]))
    for name, value in spec["headers"]:
        request.headers[name] = value
    moment = datetime.datetime.strptime(spec["amzDate"], "%Y%m%dT%H%M%SZ")
    fixed = mock.Mock(wraps=datetime.datetime)
    fixed.utcnow.return_value = moment
    fixed.now.return_value = moment.replace(tzinfo=datetime.timezone.utc)
    with mock.patch("botocore.auth.datetime.datetime", fixed):
        S3SigV4Auth(credentials, "s3", spec["region"]).add_auth(request)
    return {"authorization": request.headers["Authorization"], "path": path}


print(json.dumps([sign(spec) for spec in json.load(sys.stdin)]))
