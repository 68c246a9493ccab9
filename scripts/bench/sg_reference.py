"""The reference sg-validator algorithm, for comparison and benchmarking only.

This is the Python Lambda that sg-validator replaces, as issue 4 describes it: for every region from
DescribeRegions, one after another, it lists the security groups tagged
aws:cloudformation:stack-name=<stack> (one call, no pagination); a group whose str(IpPermissions) contains
the approved network's text passes; otherwise any rule whose port range includes 22, or whose protocol is
-1, is a violation. The reference then deletes the stack and fails the job; here `verdict` only reports,
and `delete=True` restores the deletion for the benchmark when asked.

    python sg_reference.py STACK            prints {"violations": [...], "seconds": <in-process time>}
"""

import json
import os
import sys
import time

import boto3

APPROVED = "72.21.196.67/32"


def client(service, region):
    return boto3.client(service, region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


def verdict(stack, delete=False):
    violations = []
    regions = [r["RegionName"] for r in client("ec2", os.environ.get("AWS_REGION", "us-east-1")).describe_regions()["Regions"]]
    for region in regions:
        ec2 = client("ec2", region)
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "tag:aws:cloudformation:stack-name", "Values": [stack]}]
        )["SecurityGroups"]
        for group in groups:
            permissions = group["IpPermissions"]
            if APPROVED in str(permissions):
                continue
            for rule in permissions:
                if rule["IpProtocol"] == "-1" or rule.get("FromPort", 0) <= 22 <= rule.get("ToPort", 65535):
                    violations.append("%s : %s : %s" % (region, group["GroupId"], rule["IpProtocol"]))
        if violations and delete:
            client("cloudformation", region).delete_stack(StackName=stack)
    return violations


if __name__ == "__main__":
    started = time.perf_counter()
    found = verdict(sys.argv[1])
    print(json.dumps({"violations": found, "seconds": time.perf_counter() - started}))
    sys.exit(1 if found else 0)
