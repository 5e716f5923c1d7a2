"""Builds the web panel for production and publishes it to the stack's
bucket (template.yaml, HostPanel), then has CloudFront drop its copy of the
page. Run through scripts/publish-web; AWS credentials and region as the AWS
CLI reads them (AWS_ENDPOINT_URL too, which the tests point at moto).

The build calls its own origin (CloudFront sends /api/* to the API) and
never carries a local user: VITE_LOCAL_USER is dropped from its environment.
Hashed files under assets/ are uploaded first and kept a year by browsers;
index.html last and revalidated on every visit, so a visitor never gets a
page whose scripts are not there yet. Files of earlier builds are removed,
but for assets/: a tab opened on the previous page may still ask for them.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "web"
ASSETS = "assets/"
ASSET_CACHE = "public, max-age=31536000, immutable"
PAGE_CACHE = "no-cache"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}


class PublishError(Exception):
    pass


def build(out_dir: Path, sign_in_url: str | None) -> None:
    """`npm run build` (typecheck, then Vite) into out_dir, for production."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("VITE_")}
    env["VITE_API_BASE_URL"] = ""
    if sign_in_url:
        env["VITE_SIGN_IN_URL"] = sign_in_url
    # Exactly the lock file's dependencies, whatever node_modules held before.
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, env=env, check=True)
    subprocess.run(
        ["npm", "run", "--silent", "build", "--", "--outDir", str(out_dir), "--emptyOutDir", "--logLevel", "warn"],
        cwd=WEB,
        env=env,
        check=True,
    )


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream")


def upload(dist: Path, bucket: str, s3) -> tuple[list[str], list[str]]:
    """Puts the build in the bucket; returns the keys uploaded and removed."""
    keys = sorted(path.relative_to(dist).as_posix() for path in dist.rglob("*") if path.is_file())
    if "index.html" not in keys:
        raise PublishError(f"{dist} holds no index.html: not a build of the panel")
    for key in sorted(keys, key=lambda key: (not key.startswith(ASSETS), key == "index.html", key)):
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=(dist / key).read_bytes(),
            ContentType=content_type(key),
            CacheControl=ASSET_CACHE if key.startswith(ASSETS) else PAGE_CACHE,
        )
    stale = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
        if item["Key"] not in keys and not item["Key"].startswith(ASSETS)
    ]
    for start in range(0, len(stale), 1000):
        batch = stale[start : start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    return keys, stale


def invalidate(distribution: str, cloudfront) -> str:
    """Has the distribution fetch the page again; returns the invalidation's id."""
    answer = cloudfront.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={
            "Paths": {"Quantity": 2, "Items": ["/", "/index.html"]},
            "CallerReference": f"publish-web-{time.time_ns()}",
        },
    )
    return answer["Invalidation"]["Id"]


def stack_outputs(stack: str, cloudformation) -> dict[str, str]:
    """The bucket, distribution and URL of a stack that hosts the panel."""
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    missing = [name for name in ("PanelBucketName", "PanelDistributionId") if name not in outputs]
    if missing:
        raise PublishError(
            f"stack {stack} does not host the panel (no {', '.join(missing)} output): deploy it with HostPanel=true"
        )
    return outputs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/publish-web", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="the deployed stack (sam deploy's stack name): its outputs name the rest")
    parser.add_argument("--bucket", help="the bucket, instead of --stack")
    parser.add_argument("--distribution", help="the CloudFront distribution id, instead of --stack")
    parser.add_argument("--sign-in-url", help="the product's sign-in page, which sends users back with #token=...")
    parser.add_argument("--dist", type=Path, help="publish this build instead of making one")
    args = parser.parse_args(argv)

    session = boto3.session.Session()
    url = None
    if args.stack:
        outputs = stack_outputs(args.stack, session.client("cloudformation"))
        bucket, distribution, url = outputs["PanelBucketName"], outputs["PanelDistributionId"], outputs.get("PanelUrl")
    elif args.bucket and args.distribution:
        bucket, distribution = args.bucket, args.distribution
    else:
        parser.error("give --stack, or both --bucket and --distribution")

    with tempfile.TemporaryDirectory() as scratch:
        dist = args.dist
        if dist is None:
            dist = Path(scratch) / "dist"
            build(dist, args.sign_in_url)
        keys, removed = upload(dist, bucket, session.client("s3"))
    invalidation = invalidate(distribution, session.client("cloudfront"))
    print(f"uploaded {len(keys)} files to s3://{bucket}, removed {len(removed)} stale ones")
    print(f"CloudFront invalidation {invalidation} of / and /index.html (a minute or two)")
    if url:
        print(f"the panel: {url}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (PublishError, ClientError, BotoCoreError) as error:
        print(f"publish-web: {error}", file=sys.stderr)
        sys.exit(1)
