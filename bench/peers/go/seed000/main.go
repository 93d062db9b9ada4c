// Seed 000's program, in its style: client-go with the Pod's in-cluster
// config reads a Job template YAML (as mounted from a ConfigMap), sets the
// Job's name, replaces ${CUSTOM_ID} in the `sh -c` script, creates the Job and
// then deletes it. The ServiceAccount folder can be moved (-sa-dir) so a test
// can emulate a Pod; rest.InClusterConfig() hard-codes it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kjd.local/bench/peers/internal/incluster"
	"kjd.local/bench/peers/internal/seed"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	saDir := flag.String("sa-dir", "/var/run/secrets/kubernetes.io/serviceaccount", "ServiceAccount folder")
	template := flag.String("worker-job", "/etc/jobs/worker-job.yaml", "Job template")
	jobName := flag.String("name", "worker", "Job name")
	customID := flag.String("custom", "1", "CUSTOM_ID")
	flag.Parse()

	config, err := incluster.Config(*saDir)
	if err != nil {
		fail(err)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		fail(err)
	}
	job, err := seed.ResolveJobTemplate(*template)
	if err != nil {
		fail(err)
	}
	seed.Customize(job, *jobName, *customID)
	namespace, err := incluster.Namespace(*saDir)
	if err != nil {
		fail(err)
	}
	jobs := clientset.BatchV1().Jobs(namespace)
	if _, err := jobs.Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
		fail(fmt.Errorf("failed to create kubernete job: %v", err))
	}
	fmt.Println("created")
	background := metav1.DeletePropagationBackground
	if err := jobs.Delete(context.Background(), *jobName, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		fail(fmt.Errorf("failed to delete: %v", err))
	}
	fmt.Println("deleted")
}
