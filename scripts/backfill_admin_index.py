"""Gives the items an earlier version wrote the keys of the `admin` index:
every account that is not a failed create (`ACCOUNTS`, by domain then
address) and every audit entry (`AUDIT#<yyyy-mm>`, by position). Run once
after deploying the version that added the index:

    python3 scripts/backfill_admin_index.py <table name>

It reads the table once and changes only items that lack the keys, each
under a condition that they still lack them: running it again, or while
the service writes, changes nothing it should not."""

import sys

import boto3
from botocore.exceptions import ClientError


def index_keys(item):
    """The admin index keys an item should have, or None."""
    sk = item["sk"]["S"]
    if sk.startswith("ACCOUNT#"):
        if item.get("status", {}).get("S") == "failed":
            return None
        address = item["address"]["S"]
        return {"admin_pk": "ACCOUNTS", "admin_sk": f"{address.split('@', 1)[1]}#{address}"}
    if sk.startswith("LOG#"):
        position = sk[len("LOG#"):]
        return {"admin_pk": f"AUDIT#{position[:7]}", "admin_sk": position}
    return None


def backfill(table, dynamodb=None):
    """Adds the missing keys; returns how many items it changed."""
    dynamodb = dynamodb or boto3.client("dynamodb")
    changed = 0
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="attribute_not_exists(admin_pk) AND (begins_with(sk, :account) OR begins_with(sk, :log))",
        ExpressionAttributeValues={":account": {"S": "ACCOUNT#"}, ":log": {"S": "LOG#"}},
    )
    for page in pages:
        for item in page["Items"]:
            keys = index_keys(item)
            if keys is None:
                continue
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET admin_pk = :pk, admin_sk = :sk",
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(admin_pk)",
                    ExpressionAttributeValues={":pk": {"S": keys["admin_pk"]}, ":sk": {"S": keys["admin_sk"]}},
                )
                changed += 1
            except ClientError as error:
                # Gone, or given its keys by the service meanwhile: nothing to do.
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
    return changed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 scripts/backfill_admin_index.py <table name>")
    print(f"{backfill(sys.argv[1])} items given their admin index keys")
