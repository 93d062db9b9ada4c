"""Seed 001's program turned into the Pod it asks for: watch a Redis queue and
start a Job per item, with the Python `kubernetes` client.

In-cluster config is loaded once (as in the seed), then a loop BRPOPs an item,
fills the Job template and calls create_namespaced_job. Items are JSON
{"id": "...", "CUSTOM_ID": "..."}; the Job is named worker-<id>. Prints
"ready" once it waits on the queue; SIGTERM ends it.

    seed001_loop.py SA_DIR TEMPLATE QUEUE REDIS_URL
"""
import copy
import json
import os
import signal
import sys

import redis
import yaml
from kubernetes import client
from kubernetes.config.incluster_config import InClusterConfigLoader


def main():
    sa_dir, template_path, queue, redis_url = sys.argv[1:5]
    InClusterConfigLoader(
        token_filename=os.path.join(sa_dir, "token"), cert_filename=os.path.join(sa_dir, "ca.crt")
    ).load_and_set()
    with open(os.path.join(sa_dir, "namespace")) as f:
        namespace = f.read().strip()
    with open(template_path) as f:
        template = yaml.safe_load(f)
    batch_v1 = client.BatchV1Api()
    r = redis.Redis.from_url(redis_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        popped = r.brpop([queue], timeout=1)
        if popped is None:
            continue
        item = json.loads(popped[1])
        job = copy.deepcopy(template)
        job["metadata"]["name"] = "worker-" + item["id"]
        command = job["spec"]["template"]["spec"]["containers"][0]["command"]
        command[2] = command[2].replace("${CUSTOM_ID}", item["CUSTOM_ID"], 1)
        try:
            batch_v1.create_namespaced_job(namespace=namespace, body=job)
        except client.ApiException as e:
            print("create failed: %s %s" % (e.status, e.reason), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
