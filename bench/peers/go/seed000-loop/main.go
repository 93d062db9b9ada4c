// Seed 000's launcher driven by a Redis queue, the way its author would wire
// it: a loop BRPOPs an item and calls LaunchImageWorkerK8sJob, which (as in
// the seed) reads and decodes the template, builds a new clientset from the
// in-cluster config with client-go's default QPS/Burst, and creates the Job.
//
//	seed000-loop -sa-dir DIR -worker-job FILE -queue KEY -redis ADDR
//
// Items are JSON {"id": "...", "CUSTOM_ID": "..."}; the Job is named
// worker-<id>. Prints "ready" once it waits on the queue; stops on SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"kjd.local/bench/peers/internal/incluster"
)

var saDir string

func connectToK8s() (*kubernetes.Clientset, error) {
	config, err := incluster.Config(saDir)
	if err != nil {
		return nil, fmt.Errorf("failed to create in-cluster config: %v", err)
	}
	return kubernetes.NewForConfig(config)
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

// LaunchImageWorkerK8sJob is the seed's function, namespace from the Pod.
func LaunchImageWorkerK8sJob(ctx context.Context, namespace, jobName, customID, templatePath string) error {
	job, err := resolveJobTemplate(templatePath)
	if err != nil {
		return err
	}
	clientset, err := connectToK8s()
	if err != nil {
		return err
	}
	job.ObjectMeta.Name = jobName
	cmd := job.Spec.Template.Spec.Containers[0].Command
	cmd[2] = strings.Replace(cmd[2], "${CUSTOM_ID}", customID, 1)
	_, err = clientset.BatchV1().Jobs(namespace).Create(ctx, job, metav1.CreateOptions{})
	return err
}

func main() {
	flag.StringVar(&saDir, "sa-dir", "/var/run/secrets/kubernetes.io/serviceaccount", "ServiceAccount folder")
	template := flag.String("worker-job", "/etc/jobs/worker-job.yaml", "Job template")
	queue := flag.String("queue", "jobs", "Redis list")
	addr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	namespace, err := incluster.Namespace(saDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rdb := redis.NewClient(&redis.Options{Addr: *addr})
	if err := rdb.Ping(ctx).Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	for ctx.Err() == nil {
		kv, err := rdb.BRPop(ctx, time.Second, *queue).Result()
		if err == redis.Nil || ctx.Err() != nil {
			continue
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "redis:", err)
			time.Sleep(time.Second)
			continue
		}
		var item struct {
			ID       string `json:"id"`
			CustomID string `json:"CUSTOM_ID"`
		}
		if err := json.Unmarshal([]byte(kv[1]), &item); err != nil {
			fmt.Fprintln(os.Stderr, "bad item:", err)
			continue
		}
		if err := LaunchImageWorkerK8sJob(ctx, namespace, "worker-"+item.ID, item.CustomID, *template); err != nil {
			fmt.Fprintln(os.Stderr, "failed to create kubernetes job:", err)
		}
	}
}
