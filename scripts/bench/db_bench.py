"""db-deploy benchmark (see scripts/bench-db-deploy): generated migrations, both sides in one run, medians
of interleaved runs, ratios printed."""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid

PSQL = ["psql", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1"]


def admin(sql):
    subprocess.run(PSQL + ["-d", "postgres", "-c", sql], check=True, stdout=subprocess.DEVNULL)


def fresh_db():
    name = "bench_" + uuid.uuid4().hex[:12]
    admin(f"CREATE DATABASE {name}")
    return name


def drop_db(name):
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def generate(folder, count):
    """`count` migrations of the kind a service accumulates: tables with keys, columns, small indexes, rows."""
    os.makedirs(folder, exist_ok=True)
    for n in range(1, count + 1):
        table = f"t{(n - 1) // 4}"
        kind = (n - 1) % 4
        if kind == 0:
            sql = (f"CREATE TABLE {table} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
                   f"    name text NOT NULL,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
                   f"COMMENT ON TABLE {table} IS 'generated table {n}';\n")
        elif kind == 1:
            sql = (f"ALTER TABLE {table} ADD COLUMN status text DEFAULT 'new';\n"
                   f"ALTER TABLE {table} ADD COLUMN amount numeric(12, 2);\n")
        elif kind == 2:
            sql = f"CREATE INDEX {table}_status_created ON {table} (status, created_at);\n"
        else:
            values = ", ".join(f"('row {i}', 'new', {i}.50)" for i in range(10))
            sql = f"INSERT INTO {table} (name, status, amount) VALUES {values};\nUPDATE {table} SET status = 'seen' WHERE amount > 5;\n"
        with open(os.path.join(folder, f"V{n}__step_{n}.sql"), "w") as f:
            f.write(sql)


def timed(argv, **kw):
    started = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    elapsed = time.perf_counter() - started
    return elapsed, result


def db_deploy(bin_path, mode, db, folder):
    return timed([bin_path, mode, "--url", f"postgres://postgres@127.0.0.1:5432/{db}", "--migrations", folder])


def psql_session(db, folder, count):
    script = os.path.join(folder, "..", "all.psql")
    with open(script, "w") as f:
        for n in range(1, count + 1):
            f.write(f"\\i {os.path.join(folder, f'V{n}__step_{n}.sql')}\n")
    return timed(PSQL + ["-d", db, "-f", script])


def check(result, what):
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--squawk", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="db-bench-")
    try:
        m500 = os.path.join(work, "m500")
        m1000 = os.path.join(work, "m1000")
        generate(m500, 500)
        generate(m1000, 1000)

        ours, theirs = [], []
        for run in range(args.runs):
            for side in (("psql", "ours") if run % 2 else ("ours", "psql")):
                db = fresh_db()
                try:
                    if side == "ours":
                        elapsed, result = db_deploy(args.bin, "deploy", db, m500)
                        check(result, "db-deploy deploy")
                        ours.append(elapsed)
                    else:
                        elapsed, result = psql_session(db, m500, 500)
                        check(result, "psql")
                        theirs.append(elapsed)
                finally:
                    drop_db(db)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"1. apply 500 migrations: db-deploy {a:.3f} s, psql (one session) {b:.3f} s, ratio {a / b:.2f}x "
              f"(target <= 1.3x)  [runs: ours {', '.join(f'{x:.2f}' for x in ours)}; psql {', '.join(f'{x:.2f}' for x in theirs)}]")

        db = fresh_db()
        try:
            elapsed, result = db_deploy(args.bin, "deploy", db, m1000)
            check(result, "db-deploy deploy (1,000)")
            noop = []
            for _ in range(args.runs):
                elapsed, result = db_deploy(args.bin, "deploy", db, m1000)
                check(result, "db-deploy no-op")
                if "nothing to apply" not in result.stdout:
                    raise SystemExit(f"the no-op run applied something:\n{result.stdout[-2000:]}")
                noop.append(elapsed)
        finally:
            drop_db(db)
        n = statistics.median(noop)
        print(f"2. no-op deploy over 1,000 applied migrations: {n:.3f} s (target <= 1 s)  [runs: {', '.join(f'{x:.3f}' for x in noop)}]")

        files = sorted(os.path.join(m500, f) for f in os.listdir(m500))
        ours, theirs = [], []
        db = fresh_db()
        try:
            for run in range(args.runs):
                for side in (("squawk", "ours") if run % 2 else ("ours", "squawk")):
                    if side == "ours":
                        elapsed, result = db_deploy(args.bin, "forecast", db, m500)
                        check(result, "db-deploy forecast")
                        ours.append(elapsed)
                    else:
                        elapsed, result = timed([args.squawk, "--reporter", "tty", *files])
                        # squawk exits 1 when it has findings; anything else is a failure.
                        if result.returncode not in (0, 1):
                            raise SystemExit(f"squawk failed ({result.returncode}): {result.stderr[-2000:]}")
                        theirs.append(elapsed)
        finally:
            drop_db(db)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"3. forecast of 500 files: db-deploy {a:.3f} s, squawk {b:.3f} s, ratio {a / b:.2f}x (target <= 1.0x)  "
              f"[runs: ours {', '.join(f'{x:.3f}' for x in ours)}; squawk {', '.join(f'{x:.3f}' for x in theirs)}]")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
