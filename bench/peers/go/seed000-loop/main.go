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
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kjd.local/bench/peers/internal/incluster"
	"kjd.local/bench/peers/internal/seed"
)

var saDir string

func connectToK8s() (*kubernetes.Clientset, error) {
	config, err := incluster.Config(saDir)
	if err != nil {
		return nil, fmt.Errorf("failed to create in-cluster config: %v", err)
	}
	return kubernetes.NewForConfig(config)
}

// LaunchImageWorkerK8sJob is the seed's function, namespace from the Pod.
func LaunchImageWorkerK8sJob(ctx context.Context, namespace, jobName, customID, templatePath string) error {
	job, err := seed.ResolveJobTemplate(templatePath)
	if err != nil {
		return err
	}
	clientset, err := connectToK8s()
	if err != nil {
		return err
	}
	seed.Customize(job, jobName, customID)
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
