#!/usr/bin/env python3
"""Generate the large benchmark template: about 1 MB of CloudFormation with 500 resources.

Deterministic (no randomness, no clock): the same arguments always give the same bytes. The mix is
security groups with several ingress rules, S3 buckets, IAM roles with inline policies and RDS instances
(one VPC besides), driven by Parameters and Conditions through Ref, Fn::If, Fn::Sub, Fn::GetAtt and
Fn::Join in both the short YAML tags (!Ref, !If, ...) and the long form, so a scanner's intrinsic
evaluation is exercised and not only its parser. Some resources are insecure (world-open SSH/RDP,
unencrypted buckets, publicly accessible databases, Action/Resource "*"), some only under a parameter
value, most are fine.

    gen_template.py [--resources 500] [--format yaml|json] [--output FILE]

Prints the size and resource count on stderr; exits 1 if the size is outside 0.9-1.1 MB for the default
500 resources in YAML (the JSON form of the same template is about 1.5 MB). It stays under CloudFormation's
1,000,000-byte template limit, which cfn-lint enforces (E1002). Standard library only.
"""

import argparse
import json
import sys


class Tag:
    """An intrinsic function: written as a short-form tag in YAML, as {"Ref"/"Fn::X": ...} in JSON."""

    def __init__(self, name, value):
        self.name = name  # "Ref", "Sub", "If", "GetAtt", "Equals", "Not", "Or", "Join", "Condition"
        self.value = value

    def long_form(self):
        key = "Ref" if self.name == "Ref" else ("Condition" if self.name == "Condition" else "Fn::" + self.name)
        value = self.value
        if self.name == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {key: to_plain(value)}


def Ref(x):
    return Tag("Ref", x)


def Sub(x):
    return Tag("Sub", x)


def If(c, a, b):
    return Tag("If", [c, a, b])


def GetAtt(x):
    return Tag("GetAtt", x)


def to_plain(value):
    if isinstance(value, Tag):
        return value.long_form()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


# ---- a small block-style YAML emitter that knows the short-form tags ------------------------------------

def scalar(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar (ASCII here)


def inline(value):
    """The flow form of value, or None if it needs block style."""
    if isinstance(value, Tag):
        if isinstance(value.value, list):
            parts = [inline(v) for v in value.value]
            if any(p is None for p in parts):
                return None
            return "!%s [%s]" % (value.name, ", ".join(parts))
        if isinstance(value.value, dict):
            return None
        if value.name in ("Ref", "GetAtt", "Condition"):
            return "!%s %s" % (value.name, value.value)
        return "!%s %s" % (value.name, scalar(value.value))
    if isinstance(value, (dict, list)):
        return "[]" if value == [] else ("{}" if value == {} else None)
    return scalar(value)


def block(value, indent):
    """Lines for a dict or list (or a tag with a complex argument) at the given indent."""
    pad = " " * indent
    out = []
    if isinstance(value, Tag):  # complex argument: the caller wrote "!Name"; the argument follows
        return block(value.value, indent)
    if isinstance(value, dict):
        for key, item in value.items():
            flow = inline(item)
            if flow is not None:
                out.append("%s%s: %s" % (pad, key, flow))
            elif isinstance(item, Tag):
                out.append("%s%s: !%s" % (pad, key, item.name))
                out.extend(block(item, indent + 2))
            else:
                out.append("%s%s:" % (pad, key))
                out.extend(block(item, indent + 2))
        return out
    for item in value:
        flow = inline(item)
        if flow is not None:
            out.append("%s- %s" % (pad, flow))
        elif isinstance(item, Tag):
            out.append("%s- !%s" % (pad, item.name))
            out.extend(block(item, indent + 2))
        else:
            lines = block(item, indent + 2)
            out.append("%s- %s" % (pad, lines[0].lstrip()))
            out.extend(lines[1:])
    return out


def to_yaml(template):
    return "\n".join(block(template, 0)) + "\n"


# ---- the template ------------------------------------------------------------------------------------------

PORTS = [(22, "SSH"), (3389, "RDP"), (443, "HTTPS"), (80, "HTTP"), (5432, "PostgreSQL"), (3306, "MySQL"),
         (6379, "Redis"), (8080, "app"), (9200, "search"), (27017, "MongoDB")]
TEAMS = ["payments", "search", "identity", "billing", "catalog", "platform", "data", "mobile"]


def tags(kind, i):
    team = TEAMS[i % len(TEAMS)]
    return [
        {"Key": "Name", "Value": Sub("${AWS::StackName}-%s-%04d" % (kind, i))},
        {"Key": "Environment", "Value": Ref("Environment")},
        {"Key": "Team", "Value": team},
        {"Key": "CostCenter", "Value": "cc-%05d" % (10000 + i * 7 % 90000)},
        {"Key": "Owner", "Value": "%s-oncall@example.com" % team},
        {"Key": "Purpose", "Value": "Benchmark resource %d of kind %s for the %s team" % (i, kind, team)},
        {"Key": "DataClassification", "Value": ["public", "internal", "confidential"][i % 3]},
    ]


def security_group(i):
    rules = []
    for r in range(8):
        port, name = PORTS[(i + r) % len(PORTS)]
        if r == 0 and i % 5 == 0:
            cidr = "0.0.0.0/0"  # always world-open
        elif r == 1 and i % 7 == 0:
            cidr = Ref("AllowedSshCidr")  # open under the parameter's default
        elif r == 2 and i % 3 == 0:
            cidr = If("IsProd", "10.0.0.0/8", "0.0.0.0/0")  # open outside prod
        else:
            cidr = "10.%d.%d.0/24" % (i % 250, r * 16)
        rule = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": cidr,
                "Description": Sub("%s from %s for ${Environment} (rule %d of group %d)" % (name, "the office" if r % 2 else "the VPC", r, i))}
        rules.append(rule)
    if i % 11 == 0:
        rules.append({"IpProtocol": "-1", "CidrIp": Ref("AdminCidr"), "Description": "All traffic from the admin network"})
    return {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": "Security group %d for the %s service" % (i, TEAMS[i % len(TEAMS)]),
            "VpcId": Ref("Vpc"),
            "SecurityGroupIngress": rules,
            "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0",
                                     "Description": "HTTPS out"}],
            "Tags": tags("sg", i),
        },
    }


def bucket(i):
    props = {
        "BucketName": Sub("${AWS::StackName}-${Environment}-data-%04d-${AWS::AccountId}" % i),
        "VersioningConfiguration": {"Status": If("IsProd", "Enabled", "Suspended")},
        "Tags": tags("bucket", i),
    }
    if i % 4 == 0:
        pass  # no encryption at all
    elif i % 4 == 1:
        props["BucketEncryption"] = If("EncryptionEnabled",
                                       {"ServerSideEncryptionConfiguration": [
                                           {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                              "KMSMasterKeyID": Sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/data-%d" % i)}}]},
                                       Ref("AWS::NoValue"))
    else:
        props["BucketEncryption"] = {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]}
    if i % 3 != 0:
        props["PublicAccessBlockConfiguration"] = {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    props["LifecycleConfiguration"] = {"Rules": [
        {"Id": "expire-old-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30 + i % 60}},
        {"Id": "archive", "Status": "Enabled", "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}]},
    ]}
    return {"Type": "AWS::S3::Bucket", "Properties": props}


def role(i):
    statements = [
        {"Sid": "ReadData", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": [Sub("arn:${AWS::Partition}:s3:::${AWS::StackName}-${Environment}-data-%04d-${AWS::AccountId}" % i),
                      Sub("arn:${AWS::Partition}:s3:::${AWS::StackName}-${Environment}-data-%04d-${AWS::AccountId}/*" % i)]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/svc/%d:*" % i)},
        {"Sid": "Queue", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
         "Resource": {"Fn::Join": [":", ["arn", Ref("AWS::Partition"), "sqs", Ref("AWS::Region"), Ref("AWS::AccountId"), "queue-%d" % i]]}},
    ]
    statements.append({"Sid": "Parameters", "Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
                       "Resource": Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Environment}/svc-%d/*" % i)})
    statements.append({"Sid": "Decrypt", "Effect": "Allow", "Action": "kms:Decrypt",
                       "Resource": Sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/data-%d" % i),
                       "Condition": {"StringEquals": {"kms:ViaService": Sub("ssm.${AWS::Region}.amazonaws.com")}}})
    if i % 6 == 0:
        statements.append({"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"})
    elif i % 6 == 3:
        statements.append({"Sid": "MaybeAdmin", "Effect": "Allow",
                           "Action": {"Fn::If": ["IsProd", "s3:GetObject", "*"]}, "Resource": "*"})
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": Sub("${AWS::StackName}-svc-%04d" % i),
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]},
            "Policies": [{"PolicyName": "service-%d" % i,
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
            "Tags": tags("role", i),
        },
    }


def database(i, sg_name):
    return {
        "Type": "AWS::RDS::DBInstance",
        "DeletionPolicy": "Snapshot",
        "UpdateReplacePolicy": "Snapshot",
        "Properties": {
            "Engine": "postgres",
            "EngineVersion": "16.8",
            "DBInstanceClass": Ref("DbInstanceClass"),
            "AllocatedStorage": "20",
            "MasterUsername": "app",
            "ManageMasterUserPassword": True,
            "PubliclyAccessible": True if i % 8 == 0 else (If("IsProd", False, True) if i % 8 == 4 else False),
            "StorageEncrypted": False if i % 5 == 0 else True,
            "BackupRetentionPeriod": If("IsProd", 14, 1),
            "VPCSecurityGroups": [GetAtt("%s.GroupId" % sg_name)],
            "Tags": tags("db", i),
        },
    }


def template(resources):
    t = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Generated benchmark template (scripts/bench/gen_template.py): %d resources" % resources,
        "Parameters": {
            "Environment": {"Type": "String", "AllowedValues": ["dev", "staging", "prod"], "Default": "dev"},
            "AllowedSshCidr": {"Type": "String", "Default": "0.0.0.0/0"},
            "AdminCidr": {"Type": "String", "Default": "10.99.0.0/16"},
            "EnableEncryption": {"Type": "String", "AllowedValues": ["true", "false"], "Default": "false"},
            "DbInstanceClass": {"Type": "String", "Default": "db.t3.micro"},
        },
        "Conditions": {
            "IsProd": Tag("Equals", [Ref("Environment"), "prod"]),
            "EncryptionEnabled": Tag("Or", [Tag("Equals", [Ref("EnableEncryption"), "true"]), Tag("Condition", "IsProd")]),
        },
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/8", "Tags": tags("vpc", 0)}},
        },
    }
    res = t["Resources"]
    last_sg = None
    i = 0
    while len(res) < resources:
        kind = i % 4
        if kind == 0:
            last_sg = "AppSecurityGroup%04d" % i
            res[last_sg] = security_group(i)
        elif kind == 1:
            res["DataBucket%04d" % i] = bucket(i)
        elif kind == 2:
            res["ServiceRole%04d" % i] = role(i)
        else:
            res["Database%04d" % i] = database(i, last_sg)
        i += 1
    t["Outputs"] = {
        "VpcId": {"Value": Ref("Vpc")},
        "FirstSecurityGroup": {"Value": GetAtt("AppSecurityGroup0000.GroupId")},
        "Summary": {"Value": Sub("${AWS::StackName} in ${Environment}: %d resources" % resources)},
    }
    return t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
    parser.add_argument("--output", "-o", help="file to write (default: standard output)")
    args = parser.parse_args()
    t = template(args.resources)
    text = to_yaml(t) if args.format == "yaml" else json.dumps(to_plain(t), indent=2) + "\n"
    data = text.encode("ascii")
    if args.output:
        with open(args.output, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
    size = len(data)
    print("gen_template.py: %s, %d bytes (%.2f MB), %d resources" % (args.output or "stdout", size, size / 1e6,
                                                                       len(t["Resources"])), file=sys.stderr)
    if args.resources == 500 and args.format == "yaml" and not 900_000 <= size <= 1_100_000:
        print("gen_template.py: size %d is outside 0.9-1.1 MB" % size, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
