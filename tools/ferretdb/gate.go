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
// The gate is a byte-for-byte TCP proxy in front of FerretDB. It looks only at
// each request's header and, for OP_MSG, at the command name (the first key of
// the section-0 document). Write commands take one global semaphore before
// they are forwarded and give it back when their reply arrives, so at most one
// write is in flight across all connections. Reads pass freely.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
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

// Gate lets one write command at a time through; nil means "no gate". With
// slow > 0 it logs each write that held it longer (command name, time held).
type Gate struct {
	sem  chan struct{}
	slow time.Duration
}

func NewGate(slow time.Duration) *Gate { return &Gate{sem: make(chan struct{}, 1), slow: slow} }

// conn is one proxied client connection; held/waitFor track a write of this
// connection that holds the gate until the reply with responseTo == waitFor.
type conn struct {
	gate    *Gate
	mu      sync.Mutex
	held    bool
	waitFor int32
	since   time.Time
	command string
}

func (c *conn) acquire(requestID int32, command string) {
	c.gate.sem <- struct{}{}
	c.mu.Lock()
	c.held, c.waitFor, c.since, c.command = true, requestID, time.Now(), command
	c.mu.Unlock()
}

// release gives the gate back if this connection holds it for responseTo
// (force: unconditionally, on errors and when the connection ends).
func (c *conn) release(responseTo int32, force bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held && (force || responseTo == c.waitFor) {
		c.held = false
		<-c.gate.sem
		if held := time.Since(c.since); c.gate.slow > 0 && held > c.gate.slow {
			log.Printf("gate: %s held the write gate for %s", c.command, held.Round(time.Millisecond))
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
	c := &conn{gate: gate}
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
		if gated {
			name, _ := commandName(msg)
			c.acquire(int32(binary.LittleEndian.Uint32(msg[4:])), name)
		}
		_, err = server.Write(msg)
		if gated && (err != nil || opFlags(msg)&flagMoreToCome != 0) {
			c.release(0, true) // no reply will come for this request
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
