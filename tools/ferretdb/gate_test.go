package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"
)

// A minimal BSON builder for the tests.

type el struct {
	typ byte
	key string
	val []byte
}

func doc(elems ...el) []byte {
	body := []byte{0, 0, 0, 0}
	for _, e := range elems {
		body = append(body, e.typ)
		body = append(body, e.key...)
		body = append(body, 0)
		body = append(body, e.val...)
	}
	body = append(body, 0)
	binary.LittleEndian.PutUint32(body, uint32(len(body)))
	return body
}

func str(key, s string) el {
	v := binary.LittleEndian.AppendUint32(nil, uint32(len(s)+1))
	return el{0x02, key, append(append(v, s...), 0)}
}
func i32(key string, n int32) el {
	return el{0x10, key, binary.LittleEndian.AppendUint32(nil, uint32(n))}
}
func i64(key string, n int64) el {
	return el{0x12, key, binary.LittleEndian.AppendUint64(nil, uint64(n))}
}
func f64(key string, f float64) el {
	return el{0x01, key, binary.LittleEndian.AppendUint64(nil, math.Float64bits(f))}
}
func sub(key string, d []byte) el { return el{0x03, key, d} }
func arr(key string, docs ...[]byte) el {
	items := make([]el, len(docs))
	for i, d := range docs {
		items[i] = sub(string(rune('0'+i)), d)
	}
	return el{0x04, key, doc(items...)}
}

// opMsgOf wraps a body (and optional document sequences) in an OP_MSG.
func opMsgOf(body []byte, seqs map[string][][]byte) []byte {
	msg := make([]byte, 20)
	binary.LittleEndian.PutUint32(msg[12:], opMsg)
	msg = append(msg, 0)
	msg = append(msg, body...)
	for id, docs := range seqs {
		section := []byte{0, 0, 0, 0}
		section = append(append(section, id...), 0)
		for _, d := range docs {
			section = append(section, d...)
		}
		binary.LittleEndian.PutUint32(section, uint32(len(section)))
		msg = append(append(msg, 1), section...)
	}
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	return msg
}

func update(filters ...[]byte) []byte {
	stmts := make([][]byte, len(filters))
	for i, f := range filters {
		stmts[i] = doc(sub("q", f), sub("u", doc(sub("$set", doc(i32("n", 1))))))
	}
	return opMsgOf(doc(str("update", "sagas"), arr("updates", stmts...), str("$db", "shop")), nil)
}

func TestWriteTargets(t *testing.T) {
	cases := []struct {
		name string
		msg  []byte
		want []string // nil: not attributed
	}{
		{"update by _id with a version check", update(doc(str("_id", "a"), i32("version", 3))),
			[]string{"shop\x00sagas\x00\x02" + string(str("", "a").val)}},
		{"update by _id $eq", update(doc(sub("_id", doc(str("$eq", "a"))))),
			[]string{"shop\x00sagas\x00\x02" + string(str("", "a").val)}},
		{"numbers by value", update(doc(i32("_id", 7)), doc(i64("_id", 7)), doc(f64("_id", 7))),
			[]string{"shop\x00sagas\x00n7", "shop\x00sagas\x00n7", "shop\x00sagas\x00n7"}},
		{"update without _id", update(doc(str("state", "waiting"))), nil},
		{"update with _id $in", update(doc(sub("_id", doc(arr("$in"))))), nil},
		{"one statement without _id", update(doc(str("_id", "a")), doc(str("x", "b"))), nil},
		{"delete by _id in a document sequence", opMsgOf(doc(str("delete", "t"), str("$db", "d")),
			map[string][][]byte{"deletes": {doc(sub("q", doc(str("_id", "z"))), i32("limit", 1))}}),
			[]string{"d\x00t\x00\x02" + string(str("", "z").val)}},
		{"insert", opMsgOf(doc(str("insert", "t"), arr("documents", doc(i32("_id", 1)), doc(i32("_id", 2))), str("$db", "d")), nil),
			[]string{"d\x00t\x00n1", "d\x00t\x00n2"}},
		{"insert without _id", opMsgOf(doc(str("insert", "t"), arr("documents", doc(i32("n", 1))), str("$db", "d")), nil), nil},
		{"findAndModify by _id", opMsgOf(doc(str("findAndModify", "t"), sub("query", doc(str("_id", "q"))), str("$db", "d")), nil),
			[]string{"d\x00t\x00\x02" + string(str("", "q").val)}},
		{"findAndModify without query", opMsgOf(doc(str("findAndModify", "t"), str("$db", "d")), nil), nil},
		{"createIndexes", opMsgOf(doc(str("createIndexes", "t"), str("$db", "d")), nil), nil},
		{"two _id keys", update(doc(str("_id", "a"), str("_id", "b"))), nil},
	}
	for _, c := range cases {
		got, ok := writeTargets(c.msg)
		if c.want == nil {
			if ok {
				t.Errorf("%s: attributed to %q, want the whole gate", c.name, got)
			}
			continue
		}
		if !ok || len(got) != len(c.want) {
			t.Errorf("%s: got %q (ok %t), want %q", c.name, got, ok, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: target %d is %q, want %q", c.name, i, got[i], c.want[i])
			}
		}
	}
}

// acquired runs acquire in the background and reports whether it got through within wait.
func acquired(g *Gate, targets []string, wait time.Duration) (*hold, bool) {
	done := make(chan *hold, 1)
	go func() { done <- g.acquire(targets, "test") }()
	select {
	case h := <-done:
		return h, true
	case <-time.After(wait):
		return nil, false // it finishes once the caller releases what blocks it
	}
}

func TestGateLocks(t *testing.T) {
	g, err := NewGate(PerDocument, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := g.acquire([]string{"d\x00c\x00a"}, "a")
	if h, ok := acquired(g, []string{"d\x00c\x00b"}, time.Second); !ok {
		t.Fatal("a write to another document waited")
	} else {
		g.release(h)
	}
	blocked := make(chan *hold, 1)
	go func() { blocked <- g.acquire([]string{"d\x00c\x00a", "d\x00c\x00c"}, "same") }()
	select {
	case <-blocked:
		t.Fatal("a second write to the same document did not wait")
	case <-time.After(100 * time.Millisecond):
	}
	g.release(a)
	same := <-blocked
	global := make(chan *hold, 1)
	go func() { global <- g.acquire(nil, "global") }()
	select {
	case <-global:
		t.Fatal("an unattributed write ran beside a write in flight")
	case <-time.After(100 * time.Millisecond):
	}
	g.release(same)
	whole := <-global
	other := make(chan *hold, 1)
	go func() { other <- g.acquire([]string{"d\x00c\x00x"}, "x") }()
	select {
	case <-other:
		t.Fatal("a write ran beside an unattributed write")
	case <-time.After(100 * time.Millisecond):
	}
	g.release(whole)
	g.release(<-other)
	if len(g.docs) != 0 || g.weight != 0 {
		t.Fatalf("document locks left behind: %d (weight %d)", len(g.docs), g.weight)
	}

	// Writes in flight weigh at most maxWeight (one per document, plus one): the next waits.
	var heavy []*hold
	for i := 0; i < maxWeight/2; i++ {
		heavy = append(heavy, g.acquire([]string{fmt.Sprintf("d\x00c\x00w%d", i)}, "w"))
	}
	if _, ok := acquired(g, []string{"d\x00c\x00last"}, 100*time.Millisecond); ok {
		t.Fatalf("%d writes of weight 2 and one more were let through", maxWeight/2)
	}
	for _, h := range heavy {
		g.release(h)
	}

	serial, _ := NewGate(Global, 0)
	h := serial.acquire([]string{"d\x00c\x00a"}, "a")
	if _, ok := acquired(serial, []string{"d\x00c\x00b"}, 100*time.Millisecond); ok {
		t.Fatal("the global gate let two writes through")
	}
	serial.release(h)
	if _, err := NewGate("sometimes", 0); err == nil {
		t.Fatal("an unknown mode was accepted")
	}
}
