package main

// Why this gate exists
//
// FerretDB v1 is not atomic for conditional writes: update and findAndModify
// read the matching documents, apply the change in Go, and write them back by
// _id alone, in separate backend transactions. Two clients doing
// compare-and-set on a `version` field can therefore both "win" (a lost
// update). MongoDB guarantees single-document atomicity and longhaul's store
// relies on it, so the test server must too.
//
// The gate is a byte-for-byte TCP proxy in front of FerretDB. It looks at each
// request's header and, for OP_MSG write commands, at the documents they
// target (targets.go). A write takes its locks before it is forwarded and
// gives them back when its reply arrives. Reads pass freely.
//
// Per document (the default on PostgreSQL): a write whose every target is
// named by _id locks those documents (in a fixed order, so two writes never
// wait on each other) and shares the gate with other such writes, so writes
// to different documents run at once and writes to one document run one at a
// time. That is enough: FerretDB's read-modify-write of a document touches only
// that document. A write the gate cannot attribute (a filter without _id,
// updateMany, createIndexes, drop...) takes the whole gate: it waits for the
// writes in flight and runs alone.
//
// FerretDB v1 holds a PostgreSQL connection per statement of an update or
// delete until the command ends, and one more for its write transaction (from
// a pool of 50): enough writes at once would take every connection and wait
// for one more forever. So attributed writes in flight may hold at most
// maxWeight connections between them (a write weighs one per document plus
// one); a heavier write takes the whole gate.
//
// Global (-gate global, the default on SQLite, whose single writer would only
// queue them): every write takes the whole gate, one at a time.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	opMsg          = 2013
	flagChecksum   = 1 << 0 // OP_MSG: a CRC-32C trails the message
	flagMoreToCome = 1 << 1 // OP_MSG request: no reply expected (FerretDB v1 replies anyway)
	maxMessageSize = 48 << 20
)

// writeCommands are the (lower-cased) commands that modify data or metadata.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findandmodify": true,
	"create": true, "createindexes": true, "dropindexes": true, "drop": true,
	"dropdatabase": true, "collmod": true, "renamecollection": true, "compact": true,
	"createuser": true, "updateuser": true, "dropuser": true, "dropallusersfromdatabase": true,
	"bulkwrite": true, "committransaction": true, "aborttransaction": true,
}

// maxWeight bounds the PostgreSQL connections the attributed writes in flight
// may hold (FerretDB's pool has 50; reads need some too).
const maxWeight = 24

// Gate modes (-gate).
const (
	PerDocument = "per-document"
	Global      = "global"
)

// Gate orders writes (see the file header); nil means "no gate". With
// slow > 0 it logs each write that held it longer (command name, time held).
type Gate struct {
	perDocument bool
	slow        time.Duration
	// all is held shared by writes attributed to documents, exclusively by the others.
	all  sync.RWMutex
	mu   sync.Mutex
	docs map[string]*docLock
	// weight is what the attributed writes in flight weigh; weightFreed signals when it drops.
	weight      int
	weightFreed *sync.Cond
}

// docLock is one document's lock; refs counts holders and waiters, so it is dropped when unused.
type docLock struct {
	ch   chan struct{}
	refs int
}

// NewGate returns a gate in mode PerDocument or Global.
func NewGate(mode string, slow time.Duration) (*Gate, error) {
	if mode != PerDocument && mode != Global {
		return nil, fmt.Errorf("gate mode must be %q or %q, not %q", PerDocument, Global, mode)
	}
	g := &Gate{perDocument: mode == PerDocument, slow: slow, docs: map[string]*docLock{}}
	g.weightFreed = sync.NewCond(&g.mu)
	return g, nil
}

// hold is what one write holds: the whole gate (targets nil) or its documents.
type hold struct {
	targets []string
	weight  int
	since   time.Time
	command string
}

// acquire waits for the locks of a write to targets (nil: the whole gate).
func (g *Gate) acquire(targets []string, command string) *hold {
	if !g.perDocument || targets == nil || len(targets)+1 > maxWeight {
		g.all.Lock()
		return &hold{since: time.Now(), command: command}
	}
	g.all.RLock()
	g.mu.Lock()
	for g.weight+len(targets)+1 > maxWeight {
		g.weightFreed.Wait()
	}
	g.weight += len(targets) + 1
	g.mu.Unlock()
	sorted := append([]string(nil), targets...)
	sort.Strings(sorted)
	unique := sorted[:0]
	for i, t := range sorted {
		if i == 0 || t != sorted[i-1] {
			unique = append(unique, t)
		}
	}
	for _, t := range unique {
		g.mu.Lock()
		l := g.docs[t]
		if l == nil {
			l = &docLock{ch: make(chan struct{}, 1)}
			g.docs[t] = l
		}
		l.refs++
		g.mu.Unlock()
		l.ch <- struct{}{}
	}
	return &hold{targets: unique, weight: len(targets) + 1, since: time.Now(), command: command}
}

// release gives back what h holds.
func (g *Gate) release(h *hold) {
	if h.targets == nil {
		g.all.Unlock()
	} else {
		g.mu.Lock()
		for _, t := range h.targets {
			l := g.docs[t]
			<-l.ch
			if l.refs--; l.refs == 0 {
				delete(g.docs, t)
			}
		}
		g.weight -= h.weight
		g.weightFreed.Broadcast()
		g.mu.Unlock()
		g.all.RUnlock()
	}
	if held := time.Since(h.since); g.slow > 0 && held > g.slow {
		log.Printf("gate: %s held the write gate for %s", h.command, held.Round(time.Millisecond))
	}
}

// conn is one proxied client connection; holds are its writes in flight, by request id.
type conn struct {
	gate  *Gate
	mu    sync.Mutex
	holds map[int32]*hold
}

func (c *conn) acquire(requestID int32, msg []byte) {
	name, _ := commandName(msg)
	var targets []string
	if c.gate.perDocument {
		targets, _ = writeTargets(msg)
	}
	h := c.gate.acquire(targets, name)
	c.mu.Lock()
	c.holds[requestID] = h
	c.mu.Unlock()
}

// release gives back what the write answered by responseTo holds (all: every hold, when the connection ends).
func (c *conn) release(responseTo int32, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, h := range c.holds {
		if all || id == responseTo {
			delete(c.holds, id)
			c.gate.release(h)
		}
	}
}

// serve accepts connections on addr and proxies them to backend; a nil gate
// gives a plain (ungated) proxy.
func serve(ctx context.Context, addr, backend string, gate *Gate) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
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
	return nil
}

// proxy copies messages between client and a new backend connection.
func proxy(client net.Conn, backend string, gate *Gate) {
	defer client.Close()
	server, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer server.Close()
	c := &conn{gate: gate, holds: map[int32]*hold{}}
	defer c.release(0, true)

	go func() {
		c.forwardRequests(client, server)
		// The client is gone. Half-close instead of closing: FerretDB handles
		// one request at a time per connection, so it finishes (and answers) a
		// write still in flight before it sees EOF, and the gate stays held
		// until then. The deadline bounds a backend that never answers.
		server.(*net.TCPConn).CloseWrite()
		server.SetReadDeadline(time.Now().Add(time.Minute))
	}()

	// Replies: backend -> client, until the backend closes.
	r := bufio.NewReader(server)
	for {
		msg, err := readMessage(r)
		if err != nil {
			return
		}
		if gate != nil {
			c.release(int32(binary.LittleEndian.Uint32(msg[8:])), false)
		}
		client.Write(msg) // errors: keep draining until the backend closes
	}
}

// forwardRequests copies requests client -> backend, taking the gate for writes.
func (c *conn) forwardRequests(client, server net.Conn) {
	r := bufio.NewReader(client)
	for {
		msg, err := readMessage(r)
		if err != nil {
			return
		}
		gated := c.gate != nil && isWrite(msg)
		requestID := int32(binary.LittleEndian.Uint32(msg[4:]))
		if gated {
			c.acquire(requestID, msg)
		}
		_, err = server.Write(msg)
		if gated && (err != nil || opFlags(msg)&flagMoreToCome != 0) {
			c.release(requestID, false) // no reply will come for this request
		}
		if err != nil {
			return
		}
	}
}

// readMessage reads one whole wire message (16-byte header included).
func readMessage(r io.Reader) ([]byte, error) {
	var header [16]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(header[:])
	if n < 16 || n > maxMessageSize {
		return nil, errors.New("bad message length")
	}
	msg := make([]byte, n)
	copy(msg, header[:])
	_, err := io.ReadFull(r, msg[16:])
	return msg, err
}

func opFlags(msg []byte) uint32 {
	if binary.LittleEndian.Uint32(msg[12:]) != opMsg || len(msg) < 20 {
		return 0
	}
	return binary.LittleEndian.Uint32(msg[16:])
}

// isWrite reports whether msg is an OP_MSG carrying a write command. Other
// opcodes pass through: OP_QUERY is only the legacy hello/isMaster handshake,
// and FerretDB v1 supports neither compression nor the legacy write opcodes.
// An OP_MSG whose command name cannot be parsed is treated as a write.
func isWrite(msg []byte) bool {
	if binary.LittleEndian.Uint32(msg[12:]) != opMsg {
		return false
	}
	name, ok := commandName(msg)
	return !ok || writeCommands[strings.ToLower(name)]
}

// commandName returns the first key of the OP_MSG section-0 (body) document.
func commandName(msg []byte) (string, bool) {
	if len(msg) < 21 {
		return "", false
	}
	end := len(msg)
	if opFlags(msg)&flagChecksum != 0 {
		end -= 4
	}
	for pos := 20; pos < end; {
		kind := msg[pos]
		pos++
		if pos+4 > end {
			return "", false
		}
		size := int(binary.LittleEndian.Uint32(msg[pos:]))
		switch {
		case kind == 1 && size >= 4: // document sequence: skip it
			pos += size
		case kind == 0 && size >= 5 && pos+size <= end:
			doc := msg[pos : pos+size]
			if doc[4] == 0 { // empty document
				return "", false
			}
			key := doc[5:]
			if i := bytes.IndexByte(key, 0); i >= 0 {
				return string(key[:i]), true
			}
			return "", false
		default:
			return "", false
		}
	}
	return "", false
}
