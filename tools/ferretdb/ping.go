package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"time"
)

// Ping sends {ping: 1, $db: "admin"} as an OP_MSG to addr and checks for
// ok: 1 in the reply. FerretDB's ping also checks the backend (PostgreSQL /
// SQLite), so a successful ping means the server is really usable.
func Ping(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))

	le := binary.LittleEndian
	var doc []byte
	doc = append(doc, 0, 0, 0, 0)                              // document length, set below
	doc = append(doc, 0x10, 'p', 'i', 'n', 'g', 0, 1, 0, 0, 0) // int32 ping: 1
	doc = append(doc, 0x02, '$', 'd', 'b', 0, 6, 0, 0, 0)      // string $db:
	doc = append(doc, "admin\x00"...)
	doc = append(doc, 0)
	le.PutUint32(doc, uint32(len(doc)))

	msg := make([]byte, 21, 21+len(doc)) // header, flagBits, section kind 0
	le.PutUint32(msg[4:], 1)             // requestID
	le.PutUint32(msg[12:], opMsg)
	msg = append(msg, doc...)
	le.PutUint32(msg, uint32(len(msg)))
	if _, err := c.Write(msg); err != nil {
		return err
	}

	reply, err := readMessage(bufio.NewReader(c))
	if err != nil {
		return err
	}
	okDouble := []byte{0x01, 'o', 'k', 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f} // ok: 1.0
	if !bytes.Contains(reply, okDouble) {
		return errors.New("no ok: 1 in reply")
	}
	return nil
}
