// Command ferretdb-gated runs an embedded FerretDB v1.24.2 (MongoDB wire
// protocol on PostgreSQL or SQLite) for longhaul's test suite, behind a
// write gate that serializes writes per document (see gate.go for why the gate exists).
//
// FerretDB is embedded (github.com/FerretDB/FerretDB/ferretdb) because
// `go install .../cmd/ferretdb` builds a binary that exits at start without
// build/version/version.txt (FerretDB issue #2982).
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "public address, gated unless -no-gate")
	backend := flag.String("backend-listen", "", "internal FerretDB address (default: a free loopback port)")
	direct := flag.String("direct-listen", "", "optional second address served WITHOUT the gate")
	handler := flag.String("handler", "postgresql", "FerretDB handler: postgresql or sqlite")
	pgURL := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5432/ferretdb", "PostgreSQL URL")
	sqliteURL := flag.String("sqlite-url", "file:/tmp/longhaul-ferretdb/", "SQLite directory URI, must exist and end in /")
	noGate := flag.Bool("no-gate", false, "FerretDB itself listens on -listen (no write serialization)")
	ping := flag.String("ping", "", "only ping the server at this address; exit status 0 if it answers ok")
	verbose := flag.Bool("v", false, "show FerretDB's warnings and errors (it logs every failed command)")
	pprofAddr := flag.String("pprof", "", "optional address serving Go's /debug/pprof (where FerretDB spends its CPU)")
	gateMode := flag.String("gate", "", "per-document (writes to different _ids at once) or global (one write at a time); default per-document on postgresql, global on sqlite")
	slowWrite := flag.Duration("log-slow-writes", 0, "log each write that holds the gate longer than this (0: never)")
	flag.Parse()

	if *pprofAddr != "" {
		go func() { log.Print(http.ListenAndServe(*pprofAddr, nil)) }()
	}

	if *ping != "" {
		if err := Ping(*ping, 3*time.Second); err != nil {
			log.Fatalf("ping %s: %v", *ping, err)
		}
		return
	}

	mode := *gateMode
	if mode == "" {
		mode = PerDocument
		if *handler == "sqlite" {
			mode = Global // one writer per SQLite file: parallel writes would only queue there
		}
	}
	gate, err := NewGate(mode, *slowWrite)
	if err != nil {
		log.Fatal(err)
	}

	backendAddr := *backend
	switch {
	case *noGate:
		backendAddr = *listen
	case backendAddr == "":
		ln, err := net.Listen("tcp", "127.0.0.1:0") // pick a free port
		if err != nil {
			log.Fatal(err)
		}
		backendAddr = ln.Addr().String()
		ln.Close()
	}

	level := slog.LevelError + 1 // quiet: startup errors still come back from New
	if *verbose {
		level = slog.LevelWarn
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: backendAddr},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Handler:       *handler,
		PostgreSQLURL: *pgURL,
		SQLiteURL:     *sqliteURL,
	})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()

	// Open the public ports only once FerretDB accepts connections.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", backendAddr); err == nil {
			c.Close()
			break
		} else if time.Now().After(deadline) {
			log.Fatalf("FerretDB is not listening on %s: %v", backendAddr, err)
		}
	}
	if !*noGate {
		if err := serve(ctx, *listen, backendAddr, gate); err != nil {
			log.Fatal(err)
		}
	}
	if *direct != "" {
		if err := serve(ctx, *direct, backendAddr, nil); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("ferretdb-gated: handler=%s listen=%s gated=%t gate=%s direct=%q backend=%s",
		*handler, *listen, !*noGate, mode, *direct, backendAddr)
	<-done
}
