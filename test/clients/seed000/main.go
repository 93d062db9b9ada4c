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
	"net"
	"os"
	"path/filepath"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

func inClusterConfig(saDir string) (*rest.Config, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset")
	}
	return &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		BearerTokenFile: filepath.Join(saDir, "token"),
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(saDir, "ca.crt")},
	}, nil
}

func resolveJobTemplate(path string) (*batchv1.Job, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read job yaml file: %v", err)
	}
	obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to decode yaml file to object: %v", err)
	}
	if gvk.Kind != "Job" {
		return nil, fmt.Errorf("not a Job: %s", gvk.Kind)
	}
	return obj.(*batchv1.Job), nil
}

func main() {
	saDir := flag.String("sa-dir", "/var/run/secrets/kubernetes.io/serviceaccount", "ServiceAccount folder")
	template := flag.String("worker-job", "/etc/jobs/worker-job.yaml", "Job template")
	jobName := flag.String("name", "worker", "Job name")
	customID := flag.String("custom", "1", "CUSTOM_ID")
	flag.Parse()

	config, err := inClusterConfig(*saDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	job, err := resolveJobTemplate(*template)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	job.ObjectMeta.Name = *jobName
	cmd := job.Spec.Template.Spec.Containers[0].Command
	cmd[2] = strings.Replace(cmd[2], "${CUSTOM_ID}", *customID, 1)
	ns, _ := os.ReadFile(filepath.Join(*saDir, "namespace"))
	jobs := clientset.BatchV1().Jobs(strings.TrimSpace(string(ns)))
	if _, err := jobs.Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
		fmt.Fprintf(os.Stderr, "failed to create kubernete job: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("created")
	background := metav1.DeletePropagationBackground
	if err := jobs.Delete(context.Background(), *jobName, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		fmt.Fprintf(os.Stderr, "failed to delete: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("deleted")
}
