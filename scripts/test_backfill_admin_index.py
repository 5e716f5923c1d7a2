"""scripts/backfill_admin_index.py against moto_server: the one MOTO_ENDPOINT
names (scripts/test), else one started here. Run with
`python3 -m unittest scripts/test_backfill_admin_index.py`."""

import sys
import unittest
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backfill_admin_index  # noqa: E402
from moto_for_tests import s, setUpModule, tearDownModule  # noqa: E402,F401


class Backfill(unittest.TestCase):
    def setUp(self):
        self.dynamodb = boto3.client("dynamodb")
        self.table = f"backfill-{uuid.uuid4().hex[:8]}"
        attributes = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "admin_pk", "admin_sk")]
        self.dynamodb.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=attributes,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "admin",
                "KeySchema": [{"AttributeName": "admin_pk", "KeyType": "HASH"},
                              {"AttributeName": "admin_sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
        )
        # What an earlier version wrote: no admin keys anywhere.
        for item in [
            {"pk": s("USER#alice"), "sk": s("ACCOUNT#contact@example.com"), "address": s("contact@example.com"),
             "status": s("active")},
            {"pk": s("USER#alice"), "sk": s("ACCOUNT#press@example.com"), "address": s("press@example.com"),
             "status": s("failed")},
            {"pk": s("USER#alice"), "sk": s("LOG#2026-11-25T09:00:00.000Z#ab12#2"), "action": s("created")},
            {"pk": s("EMAIL#contact@example.com"), "sk": s("CLAIM"), "owner": s("alice")},
            {"pk": s("USER#bob"), "sk": s("ACCOUNT#sales@acme.example"), "address": s("sales@acme.example"),
             "status": s("disabled"), "admin_pk": s("ACCOUNTS"), "admin_sk": s("acme.example#sales@acme.example")},
        ]:
            self.dynamodb.put_item(TableName=self.table, Item=item)

    def indexed(self, partition):
        items = self.dynamodb.query(
            TableName=self.table, IndexName="admin",
            KeyConditionExpression="admin_pk = :pk", ExpressionAttributeValues={":pk": s(partition)},
        )["Items"]
        return [item["admin_sk"]["S"] for item in items]

    def test_gives_accounts_and_audit_entries_their_keys_once(self):
        self.assertEqual(backfill_admin_index.backfill(self.table, self.dynamodb), 2)
        self.assertEqual(self.indexed("ACCOUNTS"),
                         ["acme.example#sales@acme.example", "example.com#contact@example.com"])
        self.assertEqual(self.indexed("AUDIT#2026-11"), ["2026-11-25T09:00:00.000Z#ab12#2"])
        failed = self.dynamodb.get_item(
            TableName=self.table, Key={"pk": s("USER#alice"), "sk": s("ACCOUNT#press@example.com")})["Item"]
        self.assertNotIn("admin_pk", failed, "a failed create stays out of the index")
        self.assertEqual(backfill_admin_index.backfill(self.table, self.dynamodb), 0)


if __name__ == "__main__":
    unittest.main()
