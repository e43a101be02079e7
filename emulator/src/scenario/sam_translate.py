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
        from samtranslator.translator.arn_generator import ArnGenerator
        from samtranslator.translator.transform import transform
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


class _AwsManaged(dict):
    def __init__(self, partition):
        super().__init__()
        self._partition = partition

    def get(self, name, default=None):
        if isinstance(name, str) and name and not name.startswith("arn:") and "/" not in name:
            return "arn:%s:iam::aws:policy/%s" % (self._partition, name)
        return default


main()
