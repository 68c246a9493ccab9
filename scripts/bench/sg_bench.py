"""Drives the sg-validator comparison against the reference algorithm (sg_reference.py) on moto.

    python sg_bench.py cases BIN      the reference's blind spots: one stack per case, both verdicts, a table
    python sg_bench.py bench BIN      4 regions x 250 groups: wall time of both sides, interleaved, ratios

Environment: AWS_ENDPOINT_URL (moto), BENCH_RUNS (default 5), BENCH_GROUPS (default 250),
BENCH_REGIONS (default us-east-1,eu-west-1,ap-southeast-2,sa-east-1).
"""

import http.client
import json
import os
import urllib.parse
import statistics
import subprocess
import sys
import time
import uuid

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
APPROVED = "72.21.196.67/32"
REGION = "us-east-1"
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
sys.path.insert(0, HERE)
import sg_reference  # noqa: E402


def client(service, region=REGION):
    return boto3.client(service, region_name=region, endpoint_url=ENDPOINT)


def sg(name, rules):
    ingress = "".join(
        "        - {IpProtocol: tcp, FromPort: %d, ToPort: %d, CidrIp: %s}\n" % (a, b, c) for a, b, c in rules
    )
    body = "  %s:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: %s\n" % (name, name)
    return body + ("      SecurityGroupIngress:\n" + ingress if rules else "")


def create(name, resources, region=REGION, parameters=None):
    client("cloudformation", region).create_stack(
        StackName=name,
        TemplateBody="Parameters:\n  Outside: {Type: String, Default: none}\nResources:\n" + resources,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
    )
    return name


def physical(stack, logical):
    detail = client("cloudformation").describe_stack_resource(StackName=stack, LogicalResourceId=logical)
    return detail["StackResourceDetail"]["PhysicalResourceId"]


def add(group, permission):
    client("ec2").authorize_security_group_ingress(GroupId=group, IpPermissions=[permission])


def unique(prefix):
    return "%s-%s-test" % (prefix, uuid.uuid4().hex[:8])


def ours(binary, stack, approved, regions):
    args = [binary, "check", "--stack", stack, "--format", "json"]
    for a in approved:
        args += ["--approved-cidr", a]
    if regions == "all":
        args.append("--all-regions")
    else:
        for r in regions:
            args += ["--region", r]
    done = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, AWS_REGION=REGION))
    if done.returncode not in (0, 1):
        raise SystemExit("sg-validator exited %d: %s%s" % (done.returncode, done.stdout, done.stderr))
    return json.loads(done.stdout)


def cases(binary):
    world = "0.0.0.0/0"
    rows = []

    def case(title, stack, approved=(APPROVED,)):
        reference = sg_reference.verdict(stack)
        report = ours(binary, stack, list(approved), [REGION])
        found = sorted(
            "%s from %s" % ("all traffic" if v["protocol"] == "all" else v["protocol"] + " " + v["ports"], v["source"])
            for v in report["violations"]
        )
        rows.append(
            (
                title,
                "fail" if reference else "pass",
                ("fail: " + "; ".join(found)) if found else "pass",
                "yes" if bool(reference) == bool(found) else "**no**",
            )
        )

    case("SSH from the approved network only", create(unique("approved"), sg("Sg", [(22, 22, APPROVED)])))
    case("SSH from 0.0.0.0/0", create(unique("world"), sg("Sg", [(22, 22, world)])))
    case("approved network beside 0.0.0.0/0", create(unique("beside"), sg("Sg", [(22, 22, APPROVED), (22, 22, world)])))
    stack = create(unique("ipv6"), sg("Sg", [(22, 22, APPROVED)]))
    add(physical(stack, "Sg"), {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]})
    case("SSH from ::/0 (beside the approved network)", stack)
    stack = create(unique("all"), sg("Sg", [(22, 22, APPROVED)]))
    add(physical(stack, "Sg"), {"IpProtocol": "-1", "IpRanges": [{"CidrIp": world}]})
    case("protocol -1 with no ports from 0.0.0.0/0 (beside the approved network)", stack)
    case("tcp 0-65535 from 0.0.0.0/0 (beside the approved network)", create(unique("range"), sg("Sg", [(22, 22, APPROVED), (0, 65535, world)])))
    case("SSH from 172.21.196.67/32 (its text contains the approved network)", create(unique("lookalike"), sg("Sg", [(22, 22, "172.21.196.67/32")])))
    case(
        "SSH from 10.20.0.0/16 with 10.0.0.0/8 approved (a supernet)",
        create(unique("supernet"), sg("Sg", [(22, 22, "10.20.0.0/16")])),
        approved=(APPROVED, "10.0.0.0/8"),
    )
    outside = client("ec2").create_security_group(GroupName="outside-" + uuid.uuid4().hex[:8], Description="outside")["GroupId"]
    standalone = (
        sg("Sg", [(22, 22, APPROVED)])
        + "  Ssh:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties: "
        + "{GroupId: !Ref Outside, IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}\n"
    )
    case("standalone ingress opening SSH on a group outside the stack", create(unique("standalone"), standalone, parameters={"Outside": outside}))
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=ENDPOINT)
    bucket = "nested-" + uuid.uuid4().hex
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="inner.yaml", Body=("Resources:\n" + sg("InnerSg", [(22, 22, world)])).encode())
    nested = sg("Sg", [(22, 22, APPROVED)]) + (
        '  Inner:\n    Type: AWS::CloudFormation::Stack\n    Properties: {TemplateURL: "https://s3.amazonaws.com/%s/inner.yaml"}\n' % bucket
    )
    case("SSH open to the world in a nested stack", create(unique("nested"), nested))
    case("HTTPS from 0.0.0.0/0, SSH from the approved network", create(unique("https"), sg("Sg", [(22, 22, APPROVED), (443, 443, world)])))

    print("| case | reference | sg-validator | same verdict |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| %s | %s | %s | %s |" % row)


def timed(args, env=None):
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    return time.perf_counter() - started, done


def moto_floor(stack, regions):
    """The server's own time for the one call no checker can skip: each region's groups with their
    permissions (DescribeSecurityGroups by the stack-name tag), one region after another, raw HTTP, the
    response read but not parsed. moto handles one request at a time (Python's GIL), so no client can go
    below this sum by asking concurrently."""
    url = urllib.parse.urlparse(ENDPOINT)
    body = urllib.parse.urlencode(
        {
            "Action": "DescribeSecurityGroups",
            "Version": "2016-11-15",
            "Filter.1.Name": "tag:aws:cloudformation:stack-name",
            "Filter.1.Value.1": stack,
        }
    )
    started = time.perf_counter()
    for region in regions:
        connection = http.client.HTTPConnection(url.hostname, url.port)
        auth = "AWS4-HMAC-SHA256 Credential=AKIABENCHMARK0000001/20260101/%s/ec2/aws4_request, SignedHeaders=host, Signature=0" % region
        connection.request("POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth})
        response = connection.getresponse()
        assert response.status == 200 and response.read().count(b"<groupId>") >= 250, region
        connection.close()
    return time.perf_counter() - started


def bench(binary):
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    groups = int(os.environ.get("BENCH_GROUPS", "250"))
    regions = os.environ.get("BENCH_REGIONS", "us-east-1,eu-west-1,ap-southeast-2,sa-east-1").split(",")
    stack = unique("bench")
    setup = time.perf_counter()
    resources = "".join(sg("Sg%03d" % i, [(22, 22, APPROVED)]) for i in range(groups))
    for region in regions:
        create(stack, resources, region=region)
    print("setup: %d regions x %d groups in %.1f s" % (len(regions), groups, time.perf_counter() - setup), file=sys.stderr)
    enabled = len(client("ec2").describe_regions()["Regions"])

    reference_cmd = [sys.executable, os.path.join(HERE, "sg_reference.py"), stack]
    ours_all = [binary, "check", "--stack", stack, "--all-regions", "--approved-cidr", APPROVED, "--format", "json"]
    ours_listed = [binary, "check", "--stack", stack, "--approved-cidr", APPROVED, "--format", "json"]
    for region in regions:
        ours_listed += ["--region", region]
    env = dict(os.environ, AWS_REGION=REGION)
    sides = {"reference (all %d regions, one after another)" % enabled: reference_cmd,
             "sg-validator --all-regions (%d regions)" % enabled: ours_all,
             "sg-validator --region x4 (the 4 regions)": ours_listed}
    times = {name: [] for name in sides}
    inner = []
    floors = []
    for run in range(runs + 1):  # the first round warms moto and the page cache, unmeasured
        for name, args in sides.items():
            seconds, done = timed(args, env)
            if done.returncode != 0:
                raise SystemExit("%s exited %d: %s %s" % (name, done.returncode, done.stdout[-500:], done.stderr[-500:]))
            out = json.loads(done.stdout)
            if name.startswith("reference"):
                assert out["violations"] == [], out
                if run:
                    inner.append(out["seconds"])
            else:
                expected = len(regions) * groups
                assert out["groupsChecked"] == expected and not out["violations"], (out["groupsChecked"], expected)
            if run:
                times[name].append(seconds)
        if run:
            floors.append(moto_floor(stack, regions))
    reference = statistics.median(next(v for k, v in times.items() if k.startswith("reference")))
    print("%d regions x %d groups in moto; %d measured runs each, interleaved; medians" % (len(regions), groups, runs))
    print("| side | median wall time | vs reference process | vs reference algorithm alone |")
    print("| --- | ---: | ---: | ---: |")
    inner_median = statistics.median(inner)
    for name, values in times.items():
        median = statistics.median(values)
        print("| %s | %.3f s | %.2fx | %.2fx |" % (name, median, median / reference, median / inner_median))
    print("| reference algorithm alone (in-process, without interpreter start and imports) | %.3f s | %.2fx | 1.00x |" % (inner_median, inner_median / reference))
    floor = statistics.median(floors)
    print("| moto floor: the 4 regions' DescribeSecurityGroups, server time only | %.3f s | %.2fx | %.2fx |" % (floor, floor / reference, floor / inner_median))
    print("target: sg-validator <= 0.35x the reference", file=sys.stderr)


if __name__ == "__main__":
    mode, binary = sys.argv[1], sys.argv[2]
    {"cases": cases, "bench": bench}[mode](binary)
