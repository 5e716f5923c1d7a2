"""Removes what versions before sealed passwords kept of each address: its
Secrets Manager secret (deleted at once, without a recovery window) and the
account item's `secret_ref`. Run once after deploying the version that
seals passwords (docs/DEPLOYING.md):

    python3 scripts/remove_password_secrets.py <table name>

It reads the table once and touches only accounts that still name a
secret; the attribute goes only after its secret is gone, so running it
again after a failure finishes the work, and changes nothing else."""

import sys

import boto3
from botocore.exceptions import ClientError


def remove(table, dynamodb=None, secrets=None):
    """Deletes each named secret, then its reference; returns how many."""
    dynamodb = dynamodb or boto3.client("dynamodb")
    secrets = secrets or boto3.client("secretsmanager")
    removed = 0
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(sk, :account) AND attribute_exists(secret_ref)",
        ExpressionAttributeValues={":account": {"S": "ACCOUNT#"}},
        ProjectionExpression="pk, sk, secret_ref",
    )
    for page in pages:
        for item in page["Items"]:
            secret = item["secret_ref"]["S"]
            try:
                secrets.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="REMOVE secret_ref",
                    ConditionExpression="attribute_exists(pk)",
                )
            except ClientError as error:
                # Deleted or transferred meanwhile: its item is gone, nothing to update.
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            removed += 1
    return removed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 scripts/remove_password_secrets.py <table name>")
    print(f"{remove(sys.argv[1])} password secrets deleted")
