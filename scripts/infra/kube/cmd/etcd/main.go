// etcd, built from go.etcd.io/etcd/server/v3 for scripts/infra/kube.sh. Same as that module's own
// main.go, which `go install ...@version` cannot build because the module's go.mod has replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
