// The API server's own ceiling for creating Jobs on this machine: one
// clientset with client-side rate limiting off (QPS -1), a template decoded
// once, and -workers goroutines posting -items Jobs (worker-<prefix><i>) as
// fast as the server answers. Prints "ready", starts on a line on stdin,
// prints "done <created> <failed>" and waits to be stopped.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kjd.local/bench/peers/internal/incluster"
	"kjd.local/bench/peers/internal/seed"
)

func main() {
	saDir := flag.String("sa-dir", "/var/run/secrets/kubernetes.io/serviceaccount", "ServiceAccount folder")
	template := flag.String("worker-job", "/etc/jobs/worker-job.yaml", "Job template")
	items := flag.Int("items", 2000, "Jobs to create")
	workers := flag.Int("workers", 32, "requests in flight")
	prefix := flag.String("prefix", "", "item id prefix")
	flag.Parse()
	if err := run(*saDir, *template, *items, *workers, *prefix); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(saDir, template string, items, workers int, prefix string) error {
	config, err := incluster.Config(saDir)
	if err != nil {
		return err
	}
	config.QPS = -1 // no client-side rate limit
	config.Burst = 0
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	namespace, err := incluster.Namespace(saDir)
	if err != nil {
		return err
	}
	base, err := seed.ResolveJobTemplate(template)
	if err != nil {
		return err
	}
	fmt.Println("ready")
	stdin := bufio.NewReader(os.Stdin)
	if _, err := stdin.ReadString('\n'); err != nil {
		return err
	}
	jobs := clientset.BatchV1().Jobs(namespace)
	var next, created, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(items); i = next.Add(1) - 1 {
				id := fmt.Sprintf("%s%d", prefix, i)
				job := base.DeepCopy()
				seed.Customize(job, "worker-"+id, id)
				if _, err := jobs.Create(context.Background(), job, metav1.CreateOptions{}); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, err)
				} else {
					created.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("done %d %d\n", created.Load(), failed.Load())
	// Stay up (until stdin closes or SIGTERM) so the harness can read this process's CPU and RSS.
	_, _ = stdin.ReadString('\n')
	return nil
}
