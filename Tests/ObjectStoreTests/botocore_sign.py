"""botocore's S3 signers on the cases SigV4Tests.swift writes to the file argv[1] (JSON), writing to argv[2] their Authorization header
and presigned URL: the reference PromptReel's own signer is compared with (run with the test venv's Python)."""
import json, sys, datetime
from unittest import mock
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    creds = Credentials(c["key"], c["secret"], c.get("token"))
    when = datetime.datetime.fromtimestamp(c["time"], datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        req = AWSRequest(method=c["method"], url=c["url"], headers=dict(c["headers"]), data=bytes(c["body"]))
        botocore.auth.S3SigV4Auth(creds, "s3", c["region"]).add_auth(req)
        auth = req.headers["Authorization"]
        q = AWSRequest(method=c["method"], url=c["url"], headers={})
        botocore.auth.S3SigV4QueryAuth(creds, "s3", c["region"], expires=c["expires"]).add_auth(q)
    out.append({"authorization": auth, "presigned": q.url})
json.dump(out, open(sys.argv[2], "w"))
