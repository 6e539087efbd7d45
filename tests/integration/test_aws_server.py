"""The emulator itself: a real HTTP server on loopback that boto3 reaches through AWS_ENDPOINT_URL."""

from __future__ import annotations

import boto3


def test_boto3_reaches_the_loopback_server_through_aws_endpoint_url(aws_server):
    assert aws_server.endpoint.startswith("http://127.0.0.1:")
    s3 = boto3.client("s3")  # no endpoint_url: the standard AWS_ENDPOINT_URL variable is honoured
    s3.create_bucket(Bucket="probe")
    s3.put_object(Bucket="probe", Key="a/b.txt", Body=b"hello")
    assert aws_server.client("s3").get_object(Bucket="probe", Key="a/b.txt")["Body"].read() == b"hello"
