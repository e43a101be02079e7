# vpcgate's bridge to AWS's SAM translator (the `aws-sam-translator` package, the code
# CloudFormation runs for `Transform: AWS::Serverless-2016-10-31`). Run by scenario/sam.rs as
# `python3 -c <this file>`; reads {"template", "parameters", "region", "account"} as JSON on stdin
# and writes one JSON object on stdout: {"template": ...} or {"error": ...} or {"missing": ...}.
import json
import os
import sys


def main():
    request = json.load(sys.stdin)
    # The translator asks a boto3 session for the Region: vpcgate's, never the machine's profile
    # or instance metadata.
    os.environ["AWS_DEFAULT_REGION"] = request["region"]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.plugins.application.serverless_app_plugin import ServerlessAppPlugin
        from samtranslator.translator.arn_generator import ArnGenerator
        from samtranslator.translator.translator import Translator
        from samtranslator.utils.py27hash_fix import (
            to_py27_compatible_template,
            undo_mark_unicode_str_in_template,
        )
    except ImportError as e:
        json.dump({"missing": str(e)}, sys.stdout)
        return
    region = request["region"]
    # The translator asks boto3 for the Region when it builds ARNs; vpcgate gives its own.
    ArnGenerator.BOTO_SESSION_REGION_NAME = region
    partition = ArnGenerator.get_partition_name(region)

    class OfflinePolicyLoader:
        """The translator first looks managed policy names up in the map it bundles; for names not
        in it, CloudFormation's loader asks IAM (ListPolicies, Scope=AWS). Offline, such a name is
        taken as an AWS managed policy at the root path."""

        def load(self):
            return _AwsManaged(partition)

    parameters = dict(request.get("parameters") or {})
    parameters.setdefault("AWS::Region", region)
    parameters.setdefault("AWS::AccountId", request["account"])
    parameters.setdefault("AWS::Partition", partition)
    def transform(template, parameter_values, loader):
        # samtranslator.translator.transform.transform, with the Serverless Application
        # Repository plugin given an offline client (the translator's own hook: a plugin passed
        # in replaces its default one, translator.prepare_plugins).
        to_py27_compatible_template(template, parameter_values)
        app_plugin = ServerlessAppPlugin(
            sar_client=OfflineSar(region, request["account"]), parameters=parameter_values
        )
        translator = Translator(None, Parser(), plugins=[app_plugin])
        policies = {}

        def managed_policy_map():
            if not policies:
                policies.update(loader.load())
            return policies

        out = translator.translate(
            template,
            parameter_values=parameter_values,
            get_managed_policy_map=managed_policy_map,
        )
        return undo_mark_unicode_str_in_template(out)

    try:
        out = transform(request["template"], parameters, OfflinePolicyLoader())
    except InvalidDocumentException as e:
        # CloudFormation's message: the summary, then each cause.
        causes = [getattr(c, "message", str(c)) for c in getattr(e, "causes", [])]
        json.dump({"error": " ".join([e.message] + causes), "causes": causes}, sys.stdout)
        return
    except Exception as e:  # the translator's own failures are reported, not raised
        json.dump({"error": "%s: %s" % (type(e).__name__, e), "causes": []}, sys.stdout)
        return
    json.dump({"template": out}, sys.stdout)


class OfflineSar:
    """The Serverless Application Repository, offline: CreateCloudFormationTemplate answers
    ACTIVE at once with the template URL SAR would give (an S3 URL of its change-set bucket), so
    the application becomes the AWS::CloudFormation::Stack CloudFormation creates, kept as a
    placeholder nested stack. The ApplicationId must be an application ARN of this Region (SAR
    is regional); whether the application exists and is shared with the account cannot be known
    offline, and is assumed."""

    def __init__(self, region, account):
        self._region = region
        self._account = account

    def _check(self, application_id):
        import re

        from botocore.exceptions import ClientError

        m = re.fullmatch(
            r"arn:aws[a-z-]*:serverlessrepo:([a-z0-9-]+):(\d{12}):applications/([A-Za-z0-9-]{1,140})",
            application_id or "",
        )
        if not m:
            raise ClientError(
                {
                    "Error": {
                        "Code": "NotFoundException",
                        "Message": "Cannot find application %s: not an application ARN "
                        "(arn:aws:serverlessrepo:<region>:<account>:applications/<name>)"
                        % application_id,
                    }
                },
                "CreateCloudFormationTemplate",
            )
        if m.group(1) != self._region:
            raise ClientError(
                {
                    "Error": {
                        "Code": "NotFoundException",
                        "Message": "Cannot find application %s in %s: the Serverless Application "
                        "Repository is regional" % (application_id, self._region),
                    }
                },
                "CreateCloudFormationTemplate",
            )
        return m.group(2), m.group(3)

    def create_cloud_formation_template(self, ApplicationId, SemanticVersion=None):
        owner, name = self._check(ApplicationId)
        version = SemanticVersion or "latest"
        import hashlib

        digest = hashlib.sha256(("%s@%s" % (ApplicationId, version)).encode()).hexdigest()
        template_id = "%s-%s-%s-%s-%s" % (
            digest[:8], digest[8:12], "4" + digest[13:16], "8" + digest[17:20], digest[20:32]
        )
        # One URL per application, whatever the version: the environment's
        # ServerlessApplications maps an application to a local template under this URL
        # (scenario/stacks.rs, sar_template_url).
        url = "https://awsserverlessrepo-changesets-offline.s3.amazonaws.com/%s/%s/template.yaml" % (
            owner, name
        )
        return {
            "ApplicationId": ApplicationId,
            "SemanticVersion": version,
            "Status": "ACTIVE",
            "TemplateId": template_id,
            "TemplateUrl": url,
        }

    def get_application(self, ApplicationId, SemanticVersion=None):
        owner, name = self._check(ApplicationId)
        return {"ApplicationId": ApplicationId, "Name": name, "Version": {"SemanticVersion": SemanticVersion}}

    def get_cloud_formation_template(self, ApplicationId, TemplateId):
        return {"ApplicationId": ApplicationId, "TemplateId": TemplateId, "Status": "ACTIVE"}


class _AwsManaged(dict):
    def __init__(self, partition):
        super().__init__()
        self._partition = partition

    def get(self, name, default=None):
        if isinstance(name, str) and name and not name.startswith("arn:") and "/" not in name:
            return "arn:%s:iam::aws:policy/%s" % (self._partition, name)
        return default


main()
