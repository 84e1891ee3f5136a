// Command ferretdb-gated runs an embedded FerretDB v1.24.2 (MongoDB wire
// protocol on PostgreSQL or SQLite) for longhaul's test suite, behind a
// write-serializing gate (see gate.go for why).
//
// We embed github.com/FerretDB/FerretDB/ferretdb instead of using
// `go install .../cmd/ferretdb` because that binary exits at start without
// build/version/version.txt (FerretDB issue #2982).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "public address (gated unless -no-gate)")
	backend := flag.String("backend-listen", "", "internal FerretDB address (default: a free loopback port)")
	direct := flag.String("direct-listen", "", "optional second address served WITHOUT the gate")
	handler := flag.String("handler", "postgresql", "FerretDB handler: postgresql or sqlite")
	pgURL := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5432/ferretdb", "PostgreSQL URL")
	sqliteURL := flag.String("sqlite-url", "file:/tmp/longhaul-ferretdb/", "SQLite directory URI (must end in /)")
	noGate := flag.Bool("no-gate", false, "FerretDB listens on -listen itself, without the gate")
	ping := flag.String("ping", "", "only ping the server at this address; exit 0 if it answers ok")
	flag.Parse()

	if *ping != "" {
		if err := Ping(*ping, 3*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "ping:", err)
			os.Exit(1)
		}
		return
	}

	backendAddr := *backend
	if *noGate {
		backendAddr = *listen
	} else if backendAddr == "" {
		backendAddr = freeAddr()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: backendAddr},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Handler:       *handler,
		PostgreSQLURL: *pgURL,
		SQLiteURL:     *sqliteURL,
	})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	waitListening(backendAddr, 30*time.Second)

	if !*noGate {
		serve(ctx, *listen, backendAddr, NewGate())
	}
	if *direct != "" {
		serve(ctx, *direct, backendAddr, nil)
	}
	log.Printf("ferretdb-gated: handler=%s listen=%s gated=%v direct=%q backend=%s",
		*handler, *listen, !*noGate, *direct, backendAddr)
	<-done
}

// serve accepts connections on addr and proxies them to backend (gate may be nil).
func serve(ctx context.Context, addr, backend string, gate *Gate) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	go func() { <-ctx.Done(); ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go proxy(c, backend, gate)
		}
	}()
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(addr string, timeout time.Duration) {
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log.Fatalf("FerretDB did not start listening on %s", addr)
		}
	}
}
