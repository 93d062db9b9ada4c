// Package seed holds seed 000's own steps, shared by the peers written in its
// style: read the Job template YAML and decode it into a client-go Job, and
// fill in a name and ${CUSTOM_ID}.
package seed

import (
	"fmt"
	"os"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/client-go/kubernetes/scheme"
)

// ResolveJobTemplate reads and decodes the template, as the seed does.
func ResolveJobTemplate(path string) (*batchv1.Job, error) {
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

// Customize names the Job and replaces ${CUSTOM_ID} in its `sh -c` script, unquoted, as the seed does.
func Customize(job *batchv1.Job, name, customID string) {
	job.ObjectMeta.Name = name
	cmd := job.Spec.Template.Spec.Containers[0].Command
	cmd[2] = strings.Replace(cmd[2], "${CUSTOM_ID}", customID, 1)
}
