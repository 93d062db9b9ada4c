"""Seed 001's program, in its style: the Python `kubernetes` client with the
Pod's in-cluster config creates, lists, patches and deletes a Job.

The ServiceAccount folder can be moved (KJD_SERVICE_ACCOUNT_DIR) so a test can
emulate a Pod; everything else is what the seed does.
"""
import os
import sys

from kubernetes import client
from kubernetes.config.incluster_config import InClusterConfigLoader

JOB_NAME = sys.argv[1] if len(sys.argv) > 1 else "pi"
SA_DIR = os.environ.get("KJD_SERVICE_ACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")


def create_job_object():
    container = client.V1Container(name="pi", image="perl", command=["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"])
    template = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": "pi"}),
        spec=client.V1PodSpec(restart_policy="Never", containers=[container]),
    )
    spec = client.V1JobSpec(template=template, backoff_limit=4)
    return client.V1Job(api_version="batch/v1", kind="Job", metadata=client.V1ObjectMeta(name=JOB_NAME), spec=spec)


def main():
    InClusterConfigLoader(
        token_filename=os.path.join(SA_DIR, "token"), cert_filename=os.path.join(SA_DIR, "ca.crt")
    ).load_and_set()
    with open(os.path.join(SA_DIR, "namespace")) as f:
        namespace = f.read().strip()
    batch_v1 = client.BatchV1Api()
    job = create_job_object()
    batch_v1.create_namespaced_job(body=job, namespace=namespace)
    print("created")
    jobs = batch_v1.list_namespaced_job(namespace)
    print("listed %d" % len(jobs.items))
    batch_v1.patch_namespaced_job(name=JOB_NAME, namespace=namespace, body=job)
    print("patched")
    batch_v1.delete_namespaced_job(
        name=JOB_NAME,
        namespace=namespace,
        body=client.V1DeleteOptions(propagation_policy="Foreground", grace_period_seconds=5),
    )
    print("deleted")


if __name__ == "__main__":
    main()
