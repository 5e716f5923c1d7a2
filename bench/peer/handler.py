"""The Python peer of the benchmark: boto3 under awslambdaric, one GetItem
per invocation, the client made once at start-up as a careful Python
function would."""

import os

import boto3

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")


def handle(event, context):
    item = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": "EMAIL#support@example.com"}, "sk": {"S": "CLAIM"}},
    ).get("Item")
    return {"statusCode": 200, "body": '{"found": %s}' % ("true" if item else "false")}
