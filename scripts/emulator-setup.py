"""Creates, on the emulator AWS_ENDPOINT_URL points at, what template.yaml
creates in AWS: the table (string pk/sk, on-demand, TTL on `ttl`) and the
provider-keys secret. Prints the settings to run the functions against it."""

import json
import os
import sys

import boto3

table = sys.argv[1] if len(sys.argv) > 1 else "email-provisioning"
secret_id = "email-provisioning/providers"
dynamodb = boto3.client("dynamodb")
secrets = boto3.client("secretsmanager")

if table not in dynamodb.list_tables()["TableNames"]:
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )
    dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True},
    )

try:
    secrets.create_secret(Name=secret_id, SecretString=json.dumps({}))
except secrets.exceptions.ResourceExistsException:
    pass

print(f"STORE=dynamodb TABLE_NAME={table} PROVIDER_SECRET_ID={secret_id} "
      f"AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']}")
