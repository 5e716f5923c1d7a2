"""scripts/remove_password_secrets.py against moto_server: the one
MOTO_ENDPOINT names (scripts/test), else one started here. Run with
`python3 -m unittest scripts/test_remove_password_secrets.py`."""

import sys
import unittest
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from moto_for_tests import s, setUpModule, tearDownModule  # noqa: E402,F401
import remove_password_secrets  # noqa: E402


class RemovePasswordSecrets(unittest.TestCase):
    def setUp(self):
        self.dynamodb = boto3.client("dynamodb")
        self.secrets = boto3.client("secretsmanager")
        self.table = f"secrets-{uuid.uuid4().hex[:8]}"
        self.dynamodb.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        prefix = f"email-provisioning/{self.table}/smtp/"
        self.kept = self.secrets.create_secret(Name=f"{prefix}contact@example.com", SecretString="sandbox-1")["ARN"]
        # What an earlier version wrote: each account names its password's secret.
        for item in [
            {"pk": s("USER#alice"), "sk": s("ACCOUNT#contact@example.com"), "secret_ref": s(self.kept)},
            # Its secret already gone (a run that stopped half-way).
            {"pk": s("USER#alice"), "sk": s("ACCOUNT#sales@example.com"), "secret_ref": s(f"{prefix}sales@example.com")},
            {"pk": s("USER#bob"), "sk": s("ACCOUNT#press@example.com"), "status": s("active")},
            {"pk": s("EMAIL#contact@example.com"), "sk": s("CLAIM"), "secret_ref": s("not-an-account")},
        ]:
            self.dynamodb.put_item(TableName=self.table, Item=item)

    def test_deletes_each_accounts_secret_then_its_reference_once(self):
        self.assertEqual(remove_password_secrets.remove(self.table, self.dynamodb, self.secrets), 2)
        with self.assertRaises(self.secrets.exceptions.ResourceNotFoundException):
            self.secrets.describe_secret(SecretId=self.kept)
        items = self.dynamodb.scan(TableName=self.table)["Items"]
        referencing = sorted(item["sk"]["S"] for item in items if "secret_ref" in item)
        self.assertEqual(referencing, ["CLAIM"], "only accounts are touched")
        self.assertEqual(len(items), 4, "no item is removed")
        self.assertEqual(remove_password_secrets.remove(self.table, self.dynamodb, self.secrets), 0)


if __name__ == "__main__":
    unittest.main()
