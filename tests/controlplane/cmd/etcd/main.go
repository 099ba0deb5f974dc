// Command etcd is etcd's own server (etcdmain, as the etcd binary runs it),
// built at the version the pinned Kubernetes release uses.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
