"""Creates, on the emulator AWS_ENDPOINT_URL points at, what template.yaml
creates in AWS: the table (string pk/sk, on-demand, TTL on `ttl`, the
`admin` index), the provider-keys secret, an EventBridge bus for the
lifecycle events (named as the table) and the KMS key that seals passwords
for replays (alias/<table>-passwords). Prints the settings to run the
functions against it."""

import json
import os
import sys

import boto3

table = sys.argv[1] if len(sys.argv) > 1 else "email-provisioning"
secret_id = "email-provisioning/providers"
dynamodb = boto3.client("dynamodb")
secrets = boto3.client("secretsmanager")
events = boto3.client("events")
kms = boto3.client("kms")
password_key = f"alias/{table}-passwords"

attributes = [
    {"AttributeName": name, "AttributeType": "S"}
    for name in ("pk", "sk", "admin_pk", "admin_sk")
]
# What administrators read across users (see template.yaml).
admin_index = {
    "IndexName": "admin",
    "KeySchema": [
        {"AttributeName": "admin_pk", "KeyType": "HASH"},
        {"AttributeName": "admin_sk", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}

if table not in dynamodb.list_tables()["TableNames"]:
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=attributes,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[admin_index],
    )
    dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True},
    )
else:
    # A table an emulator kept from before the index existed.
    indexes = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    if "admin" not in {index["IndexName"] for index in indexes}:
        dynamodb.update_table(
            TableName=table,
            AttributeDefinitions=attributes,
            GlobalSecondaryIndexUpdates=[{"Create": admin_index}],
        )

try:
    secrets.create_secret(Name=secret_id, SecretString=json.dumps({}))
except secrets.exceptions.ResourceExistsException:
    pass

try:
    events.create_event_bus(Name=table)
except events.exceptions.ResourceAlreadyExistsException:
    pass

aliases = {alias["AliasName"] for alias in kms.list_aliases()["Aliases"]}
if password_key not in aliases:
    key_id = kms.create_key(Description=f"{table}: SMTP passwords sealed for replays")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=password_key, TargetKeyId=key_id)

print(f"STORE=dynamodb TABLE_NAME={table} PROVIDER_SECRET_ID={secret_id} EVENT_BUS_NAME={table} "
      f"PASSWORD_KEY_ID={password_key} "
      f"AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']}")
