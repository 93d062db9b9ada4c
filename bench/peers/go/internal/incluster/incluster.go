// Package incluster is rest.InClusterConfig with the ServiceAccount folder
// movable, so a program on the bench machine runs exactly as it would in a
// Pod: KUBERNETES_SERVICE_HOST/PORT plus token, ca.crt and namespace files.
package incluster

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
)

// Config is what rest.InClusterConfig returns, read from saDir.
func Config(saDir string) (*rest.Config, error) {
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

// Namespace is the Pod's namespace, as mounted with its token.
func Namespace(saDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(saDir, "namespace"))
	return strings.TrimSpace(string(b)), err
}
