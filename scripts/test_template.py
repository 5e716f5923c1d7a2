"""Rules template.yaml must keep that cfn-lint and sam validate do not know:
no function can make an IAM user with more than the right to send mail, SES
identities are created and deleted only for addresses, every API route is
throttled, check and create can read the look-alike items, only create and
manage may use the key that seals passwords, and no password has a secret.

Reads TEMPLATE_PATH if set, else the repository's template.yaml. Run with
`python3 -m unittest scripts/test_template.py` (after `source scripts/tools.sh`,
for cfnlint)."""

import os
import re
import unittest
from pathlib import Path

from cfnlint.decode import cfn_yaml

TEMPLATE_PATH = Path(
    os.environ.get("TEMPLATE_PATH")
    or Path(__file__).resolve().parent.parent / "template.yaml"
)

# Actions that make a user or give it rights; each needs the boundary.
BOUNDED_ACTIONS = ("iam:CreateUser", "iam:PutUserPolicy", "iam:AttachUserPolicy")
# Actions that would take the boundary off or attach a managed policy.
FORBIDDEN_ACTIONS = (
    "iam:AttachUserPolicy",
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
)
BOUNDARY_ACTIONS = {"ses:sendrawemail", "ses:sendemail"}
IDENTITY_ACTIONS = ("ses:DeleteEmailIdentity", "ses:CreateEmailIdentity")
# Functions that make or remove SES users.
SES_USER_FUNCTIONS = ("CreateFunction", "ManageFunction", "AdminFunction", "ReconcileFunction")
LOOKALIKE_FUNCTIONS = ("CheckFunction", "CreateFunction")
# Functions that find an address's owner by its claim (an administrator's change).
OWNER_LOOKUP_FUNCTIONS = ("ManageFunction", "AdminFunction")

UNKNOWN = "<unresolved>"


def load():
    return cfn_yaml.load(str(TEMPLATE_PATH))


def branches(value):
    """The plain values a template value can take: lists flattened, both
    branches of Fn::If, AWS::NoValue dropped."""
    if isinstance(value, list):
        for item in value:
            yield from branches(item)
    elif isinstance(value, dict) and list(value) == ["Fn::If"]:
        _, when_true, when_false = value["Fn::If"]
        yield from branches(when_true)
        yield from branches(when_false)
    elif value == {"Ref": "AWS::NoValue"}:
        return
    else:
        yield value


def action_pattern(action):
    """IAM's matching: case-insensitive, `*` any run of characters, `?` one."""
    text = re.escape(action).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(text, re.IGNORECASE)


def actions_of(statement):
    """Action strings of a statement; intrinsics that cannot be read count as
    "*", so they are never taken as harmless."""
    out = []
    for value in branches(statement.get("Action", [])):
        out.append(value if isinstance(value, str) else "*")
    return out


def allows(statement, action):
    """Whether an Allow statement grants `action` (wildcards included)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        excluded = [
            value if isinstance(value, str) else UNKNOWN
            for value in branches(statement["NotAction"])
        ]
        return not any(action_pattern(pattern).fullmatch(action) for pattern in excluded)
    return any(action_pattern(pattern).fullmatch(action) for pattern in actions_of(statement))


def statements(node, path):
    """Every policy statement under node (anything with Effect and Action or
    NotAction), with where it is, Fn::If branches and all."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            sid = node.get("Sid")
            yield (f"{path} (Sid {sid})" if sid else path), node
            return
        for key, value in node.items():
            yield from statements(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from statements(value, f"{path}[{index}]")


def all_statements(template):
    yield from statements(template.get("Resources", {}), "Resources")
    yield from statements(template.get("Globals", {}), "Globals")


def resources_of_type(template, kind):
    return {
        name: resource
        for name, resource in template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") == kind
    }


def boundary_problems(template, name):
    """Why `name` is not a managed policy that only allows sending mail
    (empty if it is)."""
    resource = template.get("Resources", {}).get(name)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::IAM::ManagedPolicy":
        return [f"{name} is not an AWS::IAM::ManagedPolicy of this template"]
    document = resource.get("Properties", {}).get("PolicyDocument", {})
    found = list(statements(document, f"Resources.{name}.Properties.PolicyDocument"))
    if not found:
        return [f"{name} has no statement"]
    problems = []
    for where, statement in found:
        if statement.get("Effect") != "Allow" or "NotAction" in statement:
            problems.append(f"{where}: a boundary statement must be Effect Allow with Action")
            continue
        extra = [a for a in actions_of(statement) if a.lower() not in BOUNDARY_ACTIONS]
        if extra:
            problems.append(f"{where}: boundary allows {extra}, only ses:SendRawEmail/ses:SendEmail")
    return problems


def resource_of(template, name):
    """The type of resource `name`, or None."""
    resource = template.get("Resources", {}).get(name) if name else None
    return resource.get("Type") if isinstance(resource, dict) else None


def boundary_ref(value):
    """The logical id a `{"Ref": X}` names, else None."""
    if isinstance(value, dict) and list(value) == ["Ref"] and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


def resource_texts(statement):
    """Resource strings of a statement (Fn::Sub's text); None for one that
    cannot be read."""
    out = []
    for value in branches(statement.get("Resource", [])):
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict) and list(value) == ["Fn::Sub"]:
            sub = value["Fn::Sub"]
            if isinstance(sub, list) and sub:
                sub = sub[0]
            out.append(sub if isinstance(sub, str) else None)
        else:
            out.append(None)
    return out


def http_routes(template):
    """(function, event, api logical id or None, route key) of every HttpApi
    event of a function."""
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        events = function.get("Properties", {}).get("Events", {}) or {}
        for event_name, event in events.items():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties", {}) or {}
            path, method = props.get("Path"), props.get("Method")
            if path is None and method is None:
                key = "$default"
            else:
                method = "ANY" if method is None or str(method).lower() == "any" else str(method).upper()
                key = f"{method} {path}"
            yield name, event_name, boundary_ref(props.get("ApiId")), key


def api_properties(template, api):
    """An HttpApi's properties, over Globals.HttpApi as SAM merges them."""
    merged = dict(template.get("Globals", {}).get("HttpApi", {}) or {})
    merged.update(template["Resources"][api].get("Properties", {}) or {})
    return merged


def environment(template, function):
    """A function's environment variables: Globals' with its own on top."""
    merged = dict(
        ((template.get("Globals", {}).get("Function", {}) or {}).get("Environment", {}) or {}).get(
            "Variables", {}
        )
        or {}
    )
    own = template["Resources"][function].get("Properties", {}).get("Environment", {}) or {}
    merged.update(own.get("Variables", {}) or {})
    return merged


class TemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = load()

    def fail_with(self, problems):
        if problems:
            self.fail(f"{TEMPLATE_PATH}:\n  " + "\n  ".join(problems))

    def test_users_are_made_and_given_policies_only_under_the_send_only_boundary(self):
        problems = []
        for where, statement in all_statements(self.template):
            granted = [a for a in BOUNDED_ACTIONS if allows(statement, a)]
            if not granted:
                continue
            condition = statement.get("Condition", {}) or {}
            value = (condition.get("StringEquals", {}) or {}).get("iam:PermissionsBoundary")
            name = boundary_ref(value)
            if name is None:
                problems.append(
                    f"{where} allows {granted} without "
                    'Condition.StringEquals["iam:PermissionsBoundary"] = !Ref <boundary policy>'
                )
                continue
            for problem in boundary_problems(self.template, name):
                problems.append(f"{where} allows {granted} under boundary {name}, but {problem}")
        self.fail_with(problems)

    def test_nothing_attaches_policies_or_lifts_the_boundary(self):
        problems = [
            f"{where} allows {action}"
            for where, statement in all_statements(self.template)
            for action in FORBIDDEN_ACTIONS
            if allows(statement, action)
        ]
        self.fail_with(problems)

    def test_every_grant_is_written_out_in_the_template(self):
        # A managed policy attached by name or ARN (IAMFullAccess, say) has no
        # statement here for the tests above to read.
        problems = []
        for name, resource in (self.template.get("Resources", {}) or {}).items():
            props = resource.get("Properties", {}) or {}
            if resource.get("Type") == "AWS::Serverless::Function":
                attached = [p for p in branches(props.get("Policies", [])) if not isinstance(p, dict)]
            elif resource.get("Type") in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
                attached = [
                    p
                    for p in branches(props.get("ManagedPolicyArns", []))
                    if resource_of(self.template, boundary_ref(p)) != "AWS::IAM::ManagedPolicy"
                ]
            else:
                continue
            for policy in attached:
                problems.append(
                    f"{name} is given the managed policy {policy!r}: write its statements out "
                    "(Policies: - Statement: ...) so these tests can read them"
                )
        self.fail_with(problems)

    def test_ses_identities_are_created_and_deleted_only_for_addresses(self):
        problems = []
        for where, statement in all_statements(self.template):
            granted = [a for a in IDENTITY_ACTIONS if allows(statement, a)]
            if not granted:
                continue
            if "NotResource" in statement:
                problems.append(f"{where} allows {granted} with NotResource")
            for text in resource_texts(statement):
                if text is None:
                    problems.append(f"{where} allows {granted} on a resource that is not a string or Fn::Sub")
                    continue
                _, marker, identity = text.partition("identity/")
                if not marker or "@" not in identity:
                    problems.append(
                        f"{where} allows {granted} on {text!r}, not only address identities (identity/…@…)"
                    )
        self.fail_with(problems)

    def test_every_route_is_throttled(self):
        problems = []
        declared = {}
        for function, event, api, key in http_routes(self.template):
            if api is None or api not in self.template.get("Resources", {}):
                problems.append(
                    f"{function}.Events.{event} ({key}) is not on an HttpApi of this template "
                    "(ApiId: !Ref <HttpApi>), so nothing throttles it"
                )
                continue
            declared.setdefault(api, set()).add(key)
        for api, keys in declared.items():
            props = api_properties(self.template, api)
            default = props.get("DefaultRouteSettings") or {}
            for limit in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
                if default.get(limit) is None:
                    problems.append(f"{api}.DefaultRouteSettings has no {limit}")
            settings = props.get("RouteSettings") or {}
            for key in sorted(keys):
                entry = settings.get(key)
                if not isinstance(entry, dict):
                    problems.append(f'{api}.RouteSettings has no entry "{key}"')
                    continue
                for limit in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
                    if entry.get(limit) is None:
                        problems.append(f'{api}.RouteSettings."{key}" has no {limit}')
            # API Gateway refuses settings of a route that does not exist.
            for key in sorted(set(settings) - keys):
                problems.append(f'{api}.RouteSettings."{key}" names no route of a function event')
        self.fail_with(problems)

    def test_every_route_but_health_and_webhooks_goes_through_the_authorizer(self):
        problems = []
        open_routes = {"GET /api/health", "POST /api/email/events/sendgrid"}
        for function, event, api, key in http_routes(self.template):
            props = self.template["Resources"][function]["Properties"]["Events"][event].get("Properties", {})
            chosen = (props.get("Auth") or {}).get("Authorizer")
            if key in open_routes:
                if chosen != "NONE":
                    problems.append(f"{key} ({function}) should be open (Auth.Authorizer: NONE)")
            elif chosen is not None:
                problems.append(f"{key} ({function}) names Authorizer {chosen}, not the API's default")
        for api in resources_of_type(self.template, "AWS::Serverless::HttpApi"):
            auth = api_properties(self.template, api).get("Auth") or {}
            default = auth.get("DefaultAuthorizer")
            authorizer = (auth.get("Authorizers") or {}).get(default) or {}
            function = (authorizer.get("FunctionArn") or {}).get("Fn::GetAtt", [None])[0]
            if function != "AuthorizerFunction":
                problems.append(f"{api}'s default authorizer {default} is not AuthorizerFunction")
                continue
            expected = {
                "AuthorizerPayloadFormatVersion": "2.0",
                "EnableSimpleResponses": True,
                "EnableFunctionDefaultPermissions": True,
            }
            for name, value in expected.items():
                if authorizer.get(name) != value:
                    problems.append(f"{api}.Auth.Authorizers.{default}.{name} is {authorizer.get(name)!r}, not {value!r}")
            identity = authorizer.get("Identity") or {}
            if identity.get("Headers") != ["Authorization"]:
                problems.append(f"{default} is not keyed by the Authorization header: {identity}")
            cache = self.template["Parameters"].get(boundary_ref(identity.get("ReauthorizeEvery")) or "", {})
            if cache.get("Default") is None or not 0 <= int(cache["Default"]) <= 300:
                problems.append(f"{default}'s cache (ReauthorizeEvery) is not a parameter of at most 300 s by default")
        grants = {
            action
            for _, statement in statements(
                self.template["Resources"]["AuthorizerFunction"]["Properties"].get("Policies", []),
                "AuthorizerFunction.Policies",
            )
            for action in actions_of(statement)
        }
        if grants != {"dynamodb:GetItem", "dynamodb:UpdateItem"}:
            problems.append(f"AuthorizerFunction may do {sorted(grants)}: it needs only to read a key and note its use")
        self.fail_with(problems)

    def test_lifecycle_events_go_to_the_stacks_bus_and_the_optional_webhook(self):
        problems = []
        # The events function suspends addresses (guard rails).
        publishers = {"CreateFunction", "ManageFunction", "AdminFunction", "ReconcileFunction", "EventsFunction"}
        bus = {"Fn::GetAtt": ["LifecycleBus", "Arn"]}
        for name, function in resources_of_type(self.template, "AWS::Serverless::Function").items():
            grants = [
                statement
                for _, statement in statements(function.get("Properties", {}).get("Policies", []), name)
                if any(action.lower().startswith("events:") for action in actions_of(statement))
            ]
            if name not in publishers:
                if grants:
                    problems.append(f"{name} may publish events, but it changes no address")
                continue
            if not grants:
                problems.append(f"{name} commits changes but may not publish their events")
            for statement in grants:
                if actions_of(statement) != ["events:PutEvents"] or statement.get("Resource") != bus:
                    problems.append(f"{name}: {statement} is not events:PutEvents on LifecycleBus alone")
        env = environment(self.template, "CreateFunction")
        if env.get("EVENT_BUS_NAME") != {"Ref": "LifecycleBus"}:
            problems.append(f"the functions are not told the bus: EVENT_BUS_NAME is {env.get('EVENT_BUS_NAME')}")
        resources = self.template["Resources"]
        for name in ("WebhookConnection", "WebhookDestination", "WebhookRole", "WebhookRule", "WebhookDeadLetters"):
            if resources.get(name, {}).get("Condition") != "HasWebhook":
                problems.append(f"{name} should exist only with a WebhookUrl (Condition HasWebhook)")
        targets = resources.get("WebhookRule", {}).get("Properties", {}).get("Targets", [])
        if not targets or any("DeadLetterConfig" not in target for target in targets):
            problems.append("the webhook rule's target keeps no dead letters")
        self.fail_with(problems)

    def test_suspensions_reach_the_alerts_topic_under_a_key_that_lets_them(self):
        resources = self.template["Resources"]
        rule = resources.get("SuspensionAlerts", {}).get("Properties", {})
        problems = []
        if rule.get("EventPattern", {}).get("detail-type") != ["AccountSuspended"]:
            problems.append(f"SuspensionAlerts matches {rule.get('EventPattern')}, not AccountSuspended")
        if [target.get("Arn") for target in rule.get("Targets", [])] != [{"Ref": "AlertsTopic"}]:
            problems.append("SuspensionAlerts does not target AlertsTopic")
        key = resources["AlertsTopic"]["Properties"].get("KmsMasterKeyId")
        if not (isinstance(key, dict) and key.get("Ref") in resources_of_type(self.template, "AWS::KMS::Key")):
            problems.append(f"AlertsTopic is encrypted under {key!r}: alarms and rules cannot publish under aws/sns")
        else:
            policy = resources[key["Ref"]]["Properties"]["KeyPolicy"]
            services = set()
            for _, statement in statements(policy, key["Ref"]):
                if allows(statement, "kms:GenerateDataKey") and allows(statement, "kms:Decrypt"):
                    services.update(branches(statement.get("Principal", {}).get("Service", [])))
            if not {"cloudwatch.amazonaws.com", "events.amazonaws.com"} <= services:
                problems.append(f"the alerts key lets only {sorted(services)} publish")
        self.fail_with(problems)

    def test_check_and_create_may_read_the_lookalike_items(self):
        problems = []
        for function in LOOKALIKE_FUNCTIONS:
            resource = self.template.get("Resources", {}).get(function)
            if resource is None:
                problems.append(f"no {function}")
                continue
            found = list(statements(resource.get("Properties", {}).get("Policies", []), f"{function}.Policies"))
            for action in ("dynamodb:GetItem", "dynamodb:BatchGetItem"):
                if not any(allows(statement, action) for _, statement in found):
                    problems.append(f"{function} may not {action} on the table (claims, look-alike items)")
        self.fail_with(problems)

    def test_administrators_read_through_the_admin_index(self):
        problems = []
        resources = self.template.get("Resources", {})
        table = resources.get("Table", {}).get("Properties", {})
        indexes = {index.get("IndexName"): index for index in table.get("GlobalSecondaryIndexes", [])}
        keys = [(k.get("AttributeName"), k.get("KeyType")) for k in indexes.get("admin", {}).get("KeySchema", [])]
        if keys != [("admin_pk", "HASH"), ("admin_sk", "RANGE")]:
            problems.append(f"the table has no admin index on admin_pk/admin_sk (found {keys})")
        admin = resources.get("AdminFunction")
        if admin is None:
            problems.append("no AdminFunction")
        else:
            found = list(statements(admin.get("Properties", {}).get("Policies", []), "AdminFunction.Policies"))
            index_grants = [
                text
                for _, statement in found
                if allows(statement, "dynamodb:Query")
                for text in resource_texts(statement)
            ]
            if "${Table.Arn}/index/admin" not in index_grants:
                problems.append(f"AdminFunction may not Query the admin index (grants {index_grants})")
            routes = {key for function, _, _, key in http_routes(self.template) if key.split(" ", 1)[-1].startswith("/api/admin/") and function == "AdminFunction"}
            others = {key for function, _, _, key in http_routes(self.template) if key.split(" ", 1)[-1].startswith("/api/admin/") and function != "AdminFunction"}
            if len(routes) < 5 or others:
                problems.append(f"the admin routes are not all AdminFunction's: {sorted(routes)}, elsewhere {sorted(others)}")
        for function in OWNER_LOOKUP_FUNCTIONS:
            resource = resources.get(function)
            found = list(statements((resource or {}).get("Properties", {}).get("Policies", []), f"{function}.Policies"))
            if not any(allows(statement, "dynamodb:BatchGetItem") for _, statement in found):
                problems.append(f"{function} may not BatchGetItem the claims (the owner of an address)")
        self.fail_with(problems)

    def test_ses_user_functions_are_told_the_boundary(self):
        used = {
            boundary_ref(((s.get("Condition") or {}).get("StringEquals") or {}).get("iam:PermissionsBoundary"))
            for _, s in all_statements(self.template)
            if any(allows(s, a) for a in BOUNDED_ACTIONS)
        } - {None}
        problems = []
        for function in SES_USER_FUNCTIONS:
            if function not in self.template.get("Resources", {}):
                problems.append(f"no {function}")
                continue
            value = environment(self.template, function).get("SES_PERMISSIONS_BOUNDARY")
            if value is None:
                problems.append(f"{function} (nor Globals.Function) has no SES_PERMISSIONS_BOUNDARY")
                continue
            names = [boundary_ref(v) for v in branches(value)]
            if not names or None in names:
                problems.append(
                    f"{function}: SES_PERMISSIONS_BOUNDARY is {value!r}, not !Ref <boundary policy> "
                    "(or !If [cond, !Ref <boundary policy>, !Ref AWS::NoValue])"
                )
                continue
            for name in names:
                for problem in boundary_problems(self.template, name):
                    problems.append(f"{function}: SES_PERMISSIONS_BOUNDARY refers to {name}, but {problem}")
                if used and name not in used:
                    problems.append(
                        f"{function}: SES_PERMISSIONS_BOUNDARY refers to {name}, but IAM users may only "
                        f"be created under {sorted(used)}"
                    )
        self.fail_with(problems)

    def test_only_create_and_manage_use_the_password_key_for_its_purpose(self):
        keys = resources_of_type(self.template, "AWS::KMS::Key")
        self.assertIn("PasswordKey", keys)
        policy = keys["PasswordKey"]["Properties"]["KeyPolicy"]
        use = ("kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt", "kms:ReEncryptFrom", "kms:CreateGrant")
        problems = []
        users = set()
        for where, statement in statements(policy, "PasswordKey.KeyPolicy"):
            granted = [action for action in use if allows(statement, action)]
            if not granted:
                continue
            principals = list(branches(statement.get("Principal", {}).get("AWS", [])))
            for principal in principals:
                role = principal.get("Fn::GetAtt", [None])[0] if isinstance(principal, dict) else None
                if role not in ("CreateFunctionRole", "ManageFunctionRole"):
                    problems.append(f"{where}: {principal!r} may {granted}")
                users.add(role)
            purpose = statement.get("Condition", {}).get("StringEquals", {})
            if purpose.get("kms:EncryptionContext:purpose") != "smtp-password-replay":
                problems.append(f"{where}: {granted} without the smtp-password-replay context")
        if users != {"CreateFunctionRole", "ManageFunctionRole"}:
            problems.append(f"the key is used by {sorted(map(str, users))}, not create and manage")
        keys_policies = {f"Resources.{name}." for name in keys}
        for where, statement in statements(self.template.get("Resources", {}), "Resources"):
            if any(where.startswith(prefix) for prefix in keys_policies):
                continue
            if any(allows(statement, action) for action in use):
                problems.append(f"{where}: an IAM policy grants the use of a KMS key")
        self.fail_with(problems)

    def test_no_function_makes_or_reads_a_secret_but_the_provider_keys(self):
        problems = []
        for where, statement in all_statements(self.template):
            if not any(allows(statement, a) for a in ("secretsmanager:GetSecretValue", "secretsmanager:CreateSecret")):
                continue
            if allows(statement, "secretsmanager:CreateSecret") or statement.get("Resource") != {"Ref": "ProviderSecret"}:
                problems.append(f"{where}: secrets beyond the provider keys ({statement.get('Resource')!r})")
        self.fail_with(problems)


if __name__ == "__main__":
    unittest.main()
