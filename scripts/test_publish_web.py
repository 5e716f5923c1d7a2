"""scripts/publish-web against moto_server (S3, CloudFront, CloudFormation):
the one MOTO_ENDPOINT names (scripts/test), else one started here. Run with
`python3 -m unittest scripts/test_publish_web.py`."""

import json
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from moto_for_tests import setUpModule, tearDownModule  # noqa: E402,F401
import publish_web  # noqa: E402


def distribution(cloudfront, bucket: str) -> str:
    origin = {"Id": "panel", "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
    config = {
        "CallerReference": f"test-{bucket}",
        "Comment": "panel",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {"TargetOriginId": "panel", "ViewerProtocolPolicy": "redirect-to-https"},
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


class Publish(unittest.TestCase):
    def setUp(self):
        self.s3 = boto3.client("s3")
        self.cloudfront = boto3.client("cloudfront")
        self.bucket = f"panel-{self.id().rsplit('.', 1)[-1].replace('_', '-')[:40]}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.dist = Path(tempfile.mkdtemp())
        (self.dist / "assets").mkdir()
        (self.dist / "index.html").write_text('<script type="module" src="/assets/index-new.js"></script>')
        (self.dist / "assets" / "index-new.js").write_text("console.log('new')")
        (self.dist / "assets" / "index-new.css").write_text("body{}")
        (self.dist / "robots.txt").write_text("User-agent: *")

    def head(self, key):
        return self.s3.head_object(Bucket=self.bucket, Key=key)

    def test_uploads_each_file_with_its_type_and_caching_and_removes_stale_pages_but_old_assets(self):
        self.s3.put_object(Bucket=self.bucket, Key="old-page.html", Body=b"old")
        self.s3.put_object(Bucket=self.bucket, Key="assets/index-old.js", Body=b"old")

        keys, removed = publish_web.upload(self.dist, self.bucket, self.s3)

        self.assertEqual(keys, ["assets/index-new.css", "assets/index-new.js", "index.html", "robots.txt"])
        self.assertEqual(removed, ["old-page.html"])
        page = self.head("index.html")
        self.assertEqual((page["ContentType"], page["CacheControl"]), ("text/html; charset=utf-8", "no-cache"))
        script = self.head("assets/index-new.js")
        self.assertEqual(script["ContentType"], "text/javascript; charset=utf-8")
        self.assertEqual(script["CacheControl"], "public, max-age=31536000, immutable")
        self.assertEqual(self.head("assets/index-new.css")["ContentType"], "text/css; charset=utf-8")
        listed = {item["Key"] for item in self.s3.list_objects_v2(Bucket=self.bucket)["Contents"]}
        self.assertEqual(listed, set(keys) | {"assets/index-old.js"})
        body = self.s3.get_object(Bucket=self.bucket, Key="assets/index-new.js")["Body"].read()
        self.assertEqual(body, b"console.log('new')")

    def test_refuses_a_folder_that_is_not_a_build(self):
        (self.dist / "index.html").unlink()
        with self.assertRaisesRegex(publish_web.PublishError, "no index.html"):
            publish_web.upload(self.dist, self.bucket, self.s3)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket).get("KeyCount"), 0)

    def test_invalidates_the_page_on_the_distribution(self):
        distribution_id = distribution(self.cloudfront, self.bucket)
        invalidation = publish_web.invalidate(distribution_id, self.cloudfront)
        batch = self.cloudfront.get_invalidation(DistributionId=distribution_id, Id=invalidation)["Invalidation"]
        self.assertEqual(sorted(batch["InvalidationBatch"]["Paths"]["Items"]), ["/", "/index.html"])

    def test_the_command_reads_the_stack_outputs_and_publishes(self):
        distribution_id = distribution(self.cloudfront, self.bucket)
        outputs = {
            "PanelBucketName": self.bucket,
            "PanelDistributionId": distribution_id,
            "PanelUrl": "https://d111111abcdef8.cloudfront.net",
        }
        template = {
            "Resources": {"Alerts": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName="hosted", TemplateBody=json.dumps(template))
        self.assertEqual(publish_web.main(["--stack", "hosted", "--dist", str(self.dist)]), 0)
        self.assertEqual(self.head("index.html")["CacheControl"], "no-cache")
        listed = self.cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
        self.assertEqual(listed["Quantity"], 1)

        template["Outputs"] = {}
        cloudformation.create_stack(StackName="embedded", TemplateBody=json.dumps(template))
        with self.assertRaisesRegex(publish_web.PublishError, "HostPanel=true"):
            publish_web.main(["--stack", "embedded", "--dist", str(self.dist)])


class Build(unittest.TestCase):
    def test_a_production_build_calls_its_own_origin_and_never_carries_a_local_user(self):
        out = Path(tempfile.mkdtemp()) / "dist"
        os.environ["VITE_LOCAL_USER"] = "mallory-from-the-shell"
        os.environ["VITE_API_BASE_URL"] = "https://elsewhere.example"
        try:
            publish_web.build(out, "https://app.example.com/login?to=panel")
        finally:
            del os.environ["VITE_LOCAL_USER"], os.environ["VITE_API_BASE_URL"]
        bundle = "".join(path.read_text() for path in (out / "assets").glob("*.js"))
        self.assertIn("https://app.example.com/login?to=panel", bundle)
        self.assertNotIn("mallory-from-the-shell", bundle)
        self.assertNotIn("elsewhere.example", bundle)
        self.assertTrue((out / "index.html").exists())


class Headers(unittest.TestCase):
    def test_the_browser_test_serves_the_build_under_the_distributions_content_security_policy(self):
        repo = Path(__file__).resolve().parent.parent
        template = (repo / "template.yaml").read_text()
        vite = (repo / "web" / "vite.config.ts").read_text()
        deployed = re.search(r"ContentSecurityPolicy: \"([^\"]+)\"", template).group(1)
        previewed = re.search(r"const PANEL_CSP =\s+\"([^\"]+)\"", vite).group(1)
        self.assertEqual(deployed, previewed)
        self.assertIn("connect-src 'self'", deployed)


if __name__ == "__main__":
    unittest.main()
