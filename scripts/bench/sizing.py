"""Peak memory and CPU of each function on a large workload, to size template.yaml's MemorySize and Timeout
(see scripts/measure-sizing). Each side runs the function's command line, which goes through the same
library code as the Lambda action, under /usr/bin/time.

    python sizing.py BIN_DIR       (AWS_ENDPOINT_URL: moto; PostgreSQL on 127.0.0.1:5432, trust auth)
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import db_bench  # noqa: E402
import sg_bench  # noqa: E402


def measure(argv, ok=(0, 1), env=None, expect=None):
    """(peak RSS MiB, wall s, CPU s) of one run."""
    report = tempfile.NamedTemporaryFile(prefix="sizing-", suffix=".time", delete=False).name
    done = subprocess.run(["/usr/bin/time", "-o", report, "-f", "%M %e %U %S", *argv],
                          capture_output=True, text=True, env=env)
    if done.returncode not in ok:
        raise SystemExit("%s exited %d:\n%s\n%s" % (argv[0], done.returncode, done.stdout[-2000:], done.stderr[-2000:]))
    if expect and expect not in done.stdout:
        raise SystemExit("%s did not do the work (%r not in its output):\n%s" % (argv[0], expect, done.stdout[-2000:]))
    with open(report) as f:
        rss_kb, wall, user, system = f.read().split()[-4:]
    os.unlink(report)
    return int(rss_kb) / 1024, float(wall), float(user) + float(system)


def main():
    bins = sys.argv[1]
    work = tempfile.mkdtemp(prefix="sizing-")
    rows = []

    template = os.path.join(work, "generated-500.yaml")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_template.py"), "--resources", "500", "-o", template],
                   check=True, capture_output=True)
    rows.append(("cfn-validator", "scan of a 1 MB template with 500 resources",
                 measure([os.path.join(bins, "cfn-validator"), "scan", "--format", "json", template],
                         expect='"resources": 500')))

    migrations = os.path.join(work, "m500")
    db_bench.generate(migrations, 500)
    db = db_bench.fresh_db()
    try:
        url = "postgres://postgres@127.0.0.1:5432/%s" % db
        rows.append(("db-deploy", "forecast + deploy of 500 migrations (PostgreSQL)",
                     measure([os.path.join(bins, "db-deploy"), "deploy", "--url", url, "--migrations", migrations],
                             ok=(0,), expect="applied 500 migrations")))
    finally:
        db_bench.drop_db(db)

    stack = sg_bench.unique("sizing")
    sg_bench.create(stack, "".join(sg_bench.sg("Sg%03d" % i, [(22, 22, sg_bench.APPROVED)]) for i in range(250)))
    env = dict(os.environ, AWS_REGION=sg_bench.REGION)
    rows.append(("sg-validator", "check of a stack with 250 security groups (moto)",
                 measure([os.path.join(bins, "sg-validator"), "check", "--stack", stack, "--approved-cidr",
                          sg_bench.APPROVED, "--format", "json"], env=env, expect='"groupsChecked": 250')))

    print("| function | workload | peak RSS | CPU | wall |")
    print("| --- | --- | ---: | ---: | ---: |")
    for function, workload, (rss, wall, cpu) in rows:
        print("| %s | %s | %.1f MiB | %.2f s | %.2f s |" % (function, workload, rss, cpu, wall))


if __name__ == "__main__":
    main()
