#!/usr/bin/env python3
"""Load benchmark (issue 18): bare hyper and `vpcgate serve` on loopback, measured by wrk.

Rows (each a median of --runs runs of wrk -t2 -c32 -d<secs>s --latency, keep-alive):
  bare-hyper   fixed 200 JSON from emulator/examples/bare_hyper.rs: the limit
  rest         a signed GET replayed (SigV4 stays valid for five minutes) -> REST API ->
               SigV4 + IAM -> VPC link v2 -> internal ALB's fixed response (the seed's Pattern B API)
  sync-b       StartSyncExecution of the seed's Pattern B definition as an EXPRESS machine
  sync-a       StartSyncExecution of the seed's Pattern A definition as EXPRESS (Lattice, TLS)
  http-api     a signed GET replayed -> HTTP API (API Gateway v2, AWS_IAM route) -> VPC link ->
               the same ALB (scenarios/pattern-b-http-api.json, a second vpcgate serve)
  events       PutEvents of one matching event replayed -> rule -> API destination over the
               private connection (Lattice, TLS) -> the ALB (scenarios/eventbridge-private-api-
               destination.json with the destination's rate limit raised to AWS's maximum, 300/s);
               req/s is PutEvents', and deliveries/s is counted from the deliveries log after the load
Prints req/s, p50/p99 latency, the ratio to bare hyper, vpcgate's RSS after each row and its CPU
time per request (the world's threads, where everything on virtual time runs — one per shard,
`serve --world-threads` — and the whole process: figures a busy machine disturbs far less
than req/s); also
startup time (spawn to the first health answer, the median of five starts), idle RSS, and the time of `vpcgate check
scenarios/`. Use scripts/bench.sh, which installs wrk and builds the release binaries first.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "tests", "fixtures", "templates", "seed-000")
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "ap-northeast-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_http(url, seconds=20.0):
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            time.sleep(0.0005)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def lua(method, headers, body):
    """A wrk script that sends one fixed request (headers already signed)."""
    q = lambda s: json.dumps(s)  # a JSON string literal is a valid Lua string literal here
    lines = [f"wrk.method = {q(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {q(body)}")
    for k, v in headers.items():
        lines.append(f"wrk.headers[{q(k)}] = {q(v)}")
    return "\n".join(lines) + "\n"


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, script, secs, conns, threads):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for p in ("50", "99"):
        m = re.search(rf"\s{p}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out)
        lat[p] = float(m.group(1)) * UNIT[m.group(2)] if m else float("nan")
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "p50_ms": lat["50"], "p99_ms": lat["99"], "requests": int(total.group(1)) if total else 0,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(0) if errors else ""}


def cpu_ticks(pid):
    """CPU time (clock ticks) of the world's threads (vpcgate-world, vpcgate-world-<shard>) and of
    the whole process `pid`, and how many times the process's threads were preempted (involuntary
    context switches: on cores shared with the load generator, mostly wrk woken by a response)."""
    world = total = preempted = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
        except OSError:
            continue
        t = int(st[11]) + int(st[12])
        total += t
        if comm.startswith("vpcgate-world"):
            world += t
        m = re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", status)
        preempted += int(m.group(1)) if m else 0
    return world, total, preempted


def median_run(url, script, args, pid=None):
    """The median of --runs wrk runs; with `pid`, also the CPU time vpcgate spent per request
    (whole process, and the world's one thread, the serial part): a figure that other load on
    the machine disturbs much less than req/s."""
    runs = []
    for _ in range(args.runs):
        before = cpu_ticks(pid) if pid else None
        r = wrk(url, script, args.secs, args.connections, args.threads)
        if pid and r["requests"]:
            after = cpu_ticks(pid)
            hz = os.sysconf("SC_CLK_TCK")
            if after[0]:  # bare hyper has no world threads
                r["world_us_per_req"] = round((after[0] - before[0]) * 1e6 / hz / r["requests"], 1)
            r["cpu_us_per_req"] = round((after[1] - before[1]) * 1e6 / hz / r["requests"], 1)
            r["preempted_per_req"] = round((after[2] - before[2]) / r["requests"], 2)
        runs.append(r)
    runs.sort(key=lambda r: r["rps"])
    return runs[len(runs) // 2]


def signed(method, url, service, body=None, headers=None):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(KEY, SECRET), service, REGION).add_auth(req)
    return {k: v for k, v in req.headers.items()}


def scenario_row(args, row):
    """A row served by a vpcgate of its own, loaded from a scenario."""
    file = {"http-api": "pattern-b-http-api.json", "events": "eventbridge-private-api-destination.json"}[row]
    port = free_port()
    ep = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([args.binary, "serve", "--scenario", os.path.join(ROOT, "scenarios", file),
                             "--listen", f"127.0.0.1:{port}", "--log-level", "warn", *args.serve_arg],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(ep + "/_vpcgate/health")
        import boto3
        from botocore.config import Config
        cfg = Config(retries={"max_attempts": 0}, inject_host_prefix=False)
        client = lambda name: boto3.client(name, endpoint_url=ep, region_name=REGION, aws_access_key_id=KEY,
                                           aws_secret_access_key=SECRET, config=cfg)
        if row == "http-api":
            api = client("apigatewayv2").get_apis()["Items"][0]["ApiId"]
            url = f"{ep}/restapis/{api}/prod/_user_request_/"
            r = median_run(url, lua("GET", signed("GET", url, "execute-api"), None), args, proc.pid)
            r["rss_after_mib"] = round(rss_mib(proc.pid), 1)
            return r
        eb = client("events")
        eb.update_api_destination(Name="eb-demo-orders", InvocationRateLimitPerSecond=300)
        entry = {"Source": "com.example.orders", "DetailType": "OrderPlaced",
                 "Detail": json.dumps({"orderId": "o-1", "amount": 42})}
        body = json.dumps({"Entries": [entry]})
        hdrs = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"}
        r = median_run(ep + "/", lua("POST", signed("POST", ep + "/", "events", body, hdrs), body), args, proc.pid)
        # Deliveries run after PutEvents answers (at most the destination's rate): count the new
        # ones in the log (it keeps the newest 1000) over a few seconds.
        seen = lambda: {d["EventId"] for d in json.load(urllib.request.urlopen(
            ep + "/_vpcgate/events/deliveries", timeout=30))["Deliveries"] if d.get("Status") == "DELIVERED"}
        before, t0 = seen(), time.perf_counter()
        time.sleep(3)
        after = seen()
        r["deliveries_per_s"] = round(len(after - before) / (time.perf_counter() - t0), 1)
        r["rss_after_mib"] = round(rss_mib(proc.pid), 1)
        return r
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "vpcgate"))
    ap.add_argument("--bare", default=os.path.join(ROOT, "target", "release", "examples", "bare_hyper"))
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default="bare-hyper,rest,sync-b,sync-a,http-api,events")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="an argument added to every `vpcgate serve` (repeatable: --serve-arg=--world-threads --serve-arg=1)")
    ap.add_argument("--no-check", action="store_true", help="skip timing `vpcgate check scenarios/`")
    args = ap.parse_args()
    rows = args.rows.split(",")
    results = {"machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d"), "rows": {}}

    bare_port = free_port()
    bare = subprocess.Popen([args.bare, f"127.0.0.1:{bare_port}"])
    try:
        wait_http(f"http://127.0.0.1:{bare_port}/")
        if "bare-hyper" in rows:
            results["rows"]["bare-hyper"] = median_run(f"http://127.0.0.1:{bare_port}/", lua("GET", {}, None), args,
                                                       bare.pid)
    finally:
        bare.terminate()
        bare.wait()

    port = free_port()
    ep = f"http://127.0.0.1:{port}"
    ca = tempfile.mkdtemp(prefix="vpcgate-bench-ca-")
    cmd = [args.binary, "serve", "--listen", f"127.0.0.1:{port}",
           "--stack", f"eb-connection-infra={SEED}/01-infra.yaml",
           "--stack", f"eb-connection-sfn={SEED}/02-stepfunctions.yaml",
           "--environment", f"{SEED}/environment.json", "--ca-dir", ca, *args.serve_arg]
    # Startup: the CA is made on the first start; the figure is a start with the CA in place.
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(ep + "/_vpcgate/health")
    first.terminate()
    first.wait()
    # One start is noisy (a few ms either way): the figure is the median of five.
    starts = []
    for _ in range(4):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "VPCGATE_LOG": "warn"})
        wait_http(ep + "/_vpcgate/health")
        starts.append((time.perf_counter() - t0) * 1e3)
        p.terminate()
        p.wait()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "VPCGATE_LOG": "warn"})
    try:
        wait_http(ep + "/_vpcgate/health")
        starts.append((time.perf_counter() - t0) * 1e3)
        results["startup_ms"] = round(statistics.median(starts), 1)
        time.sleep(0.5)
        results["idle_rss_mib"] = round(rss_mib(proc.pid), 1)
        import boto3
        from botocore.config import Config
        sfn = boto3.client("stepfunctions", endpoint_url=ep, region_name=REGION, aws_access_key_id=KEY,
                           aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 0}, inject_host_prefix=False))
        machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
        plans = {}
        if "rest" in rows:
            b = sfn.describe_state_machine(stateMachineArn=machines["eb-demo-pattern-b-apigw"])
            params = json.loads(b["definition"])["States"]
            task = next(s for s in params.values() if s.get("Type") == "Task")["Parameters"]
            host = task["ApiEndpoint"]
            api = host.split(".")[0]
            url = f"{ep}/restapis/{api}/{task['Stage']}/_user_request_{task.get('Path', '/')}"
            plans["rest"] = (url, lua("GET", signed("GET", url, "execute-api"), None))
        for row, name in (("sync-b", "eb-demo-pattern-b-apigw"), ("sync-a", "eb-demo-pattern-a-private")):
            if row not in rows:
                continue
            d = sfn.describe_state_machine(stateMachineArn=machines[name])
            arn = sfn.create_state_machine(name=f"bench-{row}", definition=d["definition"], roleArn=d["roleArn"],
                                           type="EXPRESS")["stateMachineArn"]
            body = json.dumps({"stateMachineArn": arn, "input": "{}"})
            hdrs = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AWSStepFunctions.StartSyncExecution"}
            once = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
            if once["status"] != "SUCCEEDED":
                raise SystemExit(f"{row}: the execution did not succeed: {once}")
            plans[row] = (ep + "/", lua("POST", signed("POST", ep + "/", "states", body, hdrs), body))
        for row in ("rest", "sync-b", "sync-a"):
            if row in plans:
                url, script = plans[row]
                r = median_run(url, script, args, proc.pid)
                r["rss_after_mib"] = round(rss_mib(proc.pid), 1)
                results["rows"][row] = r
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(ca, ignore_errors=True)
    for row in ("http-api", "events"):
        if row in rows:
            results["rows"][row] = scenario_row(args, row)
    results["check_all_scenarios_s"] = float("nan")
    if not args.no_check:
        t0 = time.perf_counter()
        subprocess.run([args.binary, "check", os.path.join(ROOT, "scenarios")], check=True, capture_output=True)
        results["check_all_scenarios_s"] = round(time.perf_counter() - t0, 2)

    base = results["rows"].get("bare-hyper", {}).get("rps")
    for r in results["rows"].values():
        r["ratio"] = round(r["rps"] / base, 3) if base else None
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"machine: {results['machine']}, {results['date']}; wrk -t{args.threads} -c{args.connections} "
          f"{args.runs} x {args.secs} s, medians")
    print(f"{'row':12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'RSS MiB':>8} {'world us':>9} "
          f"{'cpu us':>7} {'preempt':>7} non-2xx")
    for name, r in results["rows"].items():
        print(f"{name:12} {r['rps']:10.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['ratio'] or 0:6.3f} "
              f"{r.get('rss_after_mib', float('nan')):8.1f} {r.get('world_us_per_req', float('nan')):9.1f} "
              f"{r.get('cpu_us_per_req', float('nan')):7.1f} {r.get('preempted_per_req', float('nan')):7.2f} "
              f"{r['non_2xx']}")
    print("world us / cpu us: CPU time per request of vpcgate's world threads / of the whole process; "
          "preempt: the process's involuntary context switches per request")
    if "events" in results["rows"]:
        print(f"events: {results['rows']['events']['deliveries_per_s']} deliveries/s to the API destination "
              f"(its rate limit: 300/s)")
    print(f"startup {results['startup_ms']} ms; idle RSS {results['idle_rss_mib']} MiB; "
          f"check scenarios/ {results['check_all_scenarios_s']} s")
    if any(r["non_2xx"] for r in results["rows"].values()):
        sys.exit("some responses were not 2xx: the figures do not measure the path")


if __name__ == "__main__":
    main()
