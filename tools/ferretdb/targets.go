package main

// Which documents a write command targets
//
// The per-document gate (gate.go) lets writes to different documents run at
// once. A write can be attributed to documents only when every document it may
// touch is named by _id in the request itself:
//
//   - insert: each document's _id;
//   - update / delete: each statement's filter `q` has `_id: <value>` (or
//     `_id: {$eq: <value>}`), other conditions beside it allowed;
//   - findAndModify: its `query` likewise.
//
// Anything else (a filter without _id, _id with another operator, an _id of a
// type whose equality is not plain bytes, any other write command) cannot be
// attributed, and the gate serializes it against every write.
//
// A target is "<db>\x00<collection>\x00<canonical _id>". Numbers are compared
// by value as MongoDB does (1, 1.0 and NumberLong(1) are one _id), so they get
// one canonical form; strings, ObjectIds, dates, booleans, binaries,
// timestamps and embedded documents are compared by their bytes.

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// bsonElem is one element of a BSON document: its type, key and value bytes.
type bsonElem struct {
	typ byte
	key string
	val []byte
}

// bsonElements splits a BSON document into its elements; ok is false if it is malformed.
func bsonElements(doc []byte) (elems []bsonElem, ok bool) {
	if len(doc) < 5 || int(binary.LittleEndian.Uint32(doc)) != len(doc) || doc[len(doc)-1] != 0 {
		return nil, false
	}
	for pos := 4; pos < len(doc)-1; {
		typ := doc[pos]
		pos++
		end := bytes.IndexByte(doc[pos:], 0)
		if end < 0 {
			return nil, false
		}
		key := string(doc[pos : pos+end])
		pos += end + 1
		size, ok := bsonValueSize(typ, doc[pos:len(doc)-1])
		if !ok {
			return nil, false
		}
		elems = append(elems, bsonElem{typ: typ, key: key, val: doc[pos : pos+size]})
		pos += size
	}
	return elems, true
}

// bsonValueSize returns the length of the value of type typ at the start of b.
func bsonValueSize(typ byte, b []byte) (int, bool) {
	fixed := map[byte]int{
		0x01: 8, 0x06: 0, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0,
		0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16, 0xFF: 0, 0x7F: 0,
	}
	var size int
	if n, found := fixed[typ]; found {
		size = n
	} else {
		if len(b) < 4 {
			return 0, false
		}
		n := int(int32(binary.LittleEndian.Uint32(b)))
		switch typ {
		case 0x02, 0x0D, 0x0E: // string, code, symbol: length, bytes (NUL included)
			size = 4 + n
		case 0x03, 0x04, 0x0F: // document, array, code with scope: total length
			size = n
		case 0x05: // binary: length, subtype, bytes
			size = 5 + n
		case 0x0C: // DBPointer: string, ObjectId
			size = 4 + n + 12
		case 0x0B: // regex: two C strings
			first := bytes.IndexByte(b, 0)
			if first < 0 {
				return 0, false
			}
			second := bytes.IndexByte(b[first+1:], 0)
			if second < 0 {
				return 0, false
			}
			size = first + second + 2
		default:
			return 0, false
		}
		if n < 0 {
			return 0, false
		}
	}
	if size > len(b) {
		return 0, false
	}
	return size, true
}

// lookup returns the first element named key.
func lookup(elems []bsonElem, key string) (bsonElem, bool) {
	for _, e := range elems {
		if e.key == key {
			return e, true
		}
	}
	return bsonElem{}, false
}

// count returns how many elements are named key.
func count(elems []bsonElem, key string) int {
	n := 0
	for _, e := range elems {
		if e.key == key {
			n++
		}
	}
	return n
}

// bsonString decodes a BSON string value.
func bsonString(e bsonElem) (string, bool) {
	if e.typ != 0x02 || len(e.val) < 5 {
		return "", false
	}
	return string(e.val[4 : len(e.val)-1]), true
}

// canonicalID is the key of an _id value, or ok=false if equality on it is not plain.
func canonicalID(e bsonElem) (string, bool) {
	switch e.typ {
	case 0x01: // double
		f := math.Float64frombits(binary.LittleEndian.Uint64(e.val))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", false
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return "n" + strconv.FormatInt(int64(f), 10), true
		}
		return "n" + strconv.FormatFloat(f, 'g', -1, 64), true
	case 0x10: // int32
		return "n" + strconv.FormatInt(int64(int32(binary.LittleEndian.Uint32(e.val))), 10), true
	case 0x12: // int64
		return "n" + strconv.FormatInt(int64(binary.LittleEndian.Uint64(e.val)), 10), true
	case 0x02, 0x03, 0x05, 0x07, 0x08, 0x09, 0x11:
		if e.typ == 0x03 && isOperatorDoc(e.val) {
			return "", false
		}
		return string([]byte{e.typ}) + string(e.val), true
	default: // null, arrays, regexes, decimals, min/max keys...: not attributed
		return "", false
	}
}

// isOperatorDoc reports whether an embedded document starts with a $-key (a query operator).
func isOperatorDoc(doc []byte) bool {
	elems, ok := bsonElements(doc)
	return !ok || (len(elems) > 0 && strings.HasPrefix(elems[0].key, "$"))
}

// filterID returns the canonical _id a query filter pins, if it pins exactly one.
func filterID(filter bsonElem) (string, bool) {
	if filter.typ != 0x03 {
		return "", false
	}
	elems, ok := bsonElements(filter.val)
	if !ok {
		return "", false
	}
	id, found := lookup(elems, "_id")
	if !found || count(elems, "_id") != 1 {
		return "", false
	}
	if id.typ == 0x03 && isOperatorDoc(id.val) {
		ops, ok := bsonElements(id.val)
		if !ok || len(ops) != 1 || ops[0].key != "$eq" {
			return "", false
		}
		return canonicalID(ops[0])
	}
	return canonicalID(id)
}

// opMsgSections returns the body (section 0) and the document sequences (section 1) of an OP_MSG.
func opMsgSections(msg []byte) (body []byte, seqs map[string][][]byte, ok bool) {
	if len(msg) < 21 || binary.LittleEndian.Uint32(msg[12:]) != opMsg {
		return nil, nil, false
	}
	end := len(msg)
	if opFlags(msg)&flagChecksum != 0 {
		end -= 4
	}
	seqs = map[string][][]byte{}
	for pos := 20; pos < end; {
		kind := msg[pos]
		pos++
		if pos+4 > end {
			return nil, nil, false
		}
		size := int(binary.LittleEndian.Uint32(msg[pos:]))
		if size < 4 || pos+size > end {
			return nil, nil, false
		}
		section := msg[pos : pos+size]
		pos += size
		switch kind {
		case 0:
			body = section
		case 1:
			name := bytes.IndexByte(section[4:], 0)
			if name < 0 {
				return nil, nil, false
			}
			id := string(section[4 : 4+name])
			for docs := section[4+name+1:]; len(docs) > 0; {
				if len(docs) < 4 {
					return nil, nil, false
				}
				n := int(binary.LittleEndian.Uint32(docs))
				if n < 5 || n > len(docs) {
					return nil, nil, false
				}
				seqs[id] = append(seqs[id], docs[:n])
				docs = docs[n:]
			}
		default:
			return nil, nil, false
		}
	}
	return body, seqs, body != nil
}

// statements returns the documents of the array field (or document sequence) named field.
func statements(body []bsonElem, seqs map[string][][]byte, field string) ([][]byte, bool) {
	if docs, found := seqs[field]; found {
		return docs, true
	}
	arr, found := lookup(body, field)
	if !found || arr.typ != 0x04 {
		return nil, false
	}
	items, ok := bsonElements(arr.val)
	if !ok {
		return nil, false
	}
	docs := make([][]byte, 0, len(items))
	for _, item := range items {
		if item.typ != 0x03 {
			return nil, false
		}
		docs = append(docs, item.val)
	}
	return docs, true
}

// writeTargets returns the documents a write command touches (see the file
// header); ok is false if it cannot be attributed to documents by _id.
func writeTargets(msg []byte) (targets []string, ok bool) {
	bodyDoc, seqs, ok := opMsgSections(msg)
	if !ok {
		return nil, false
	}
	body, ok := bsonElements(bodyDoc)
	if !ok || len(body) == 0 {
		return nil, false
	}
	coll, ok := bsonString(body[0])
	if !ok {
		return nil, false
	}
	dbElem, found := lookup(body, "$db")
	if !found {
		return nil, false
	}
	db, ok := bsonString(dbElem)
	if !ok {
		return nil, false
	}
	prefix := db + "\x00" + coll + "\x00"
	add := func(id string, ok bool) bool {
		if ok {
			targets = append(targets, prefix+id)
		}
		return ok
	}
	each := func(field, key string) bool {
		docs, ok := statements(body, seqs, field)
		if !ok || len(docs) == 0 {
			return false
		}
		for _, doc := range docs {
			elems, ok := bsonElements(doc)
			if !ok {
				return false
			}
			e, found := lookup(elems, key)
			if !found {
				return false
			}
			var attributed bool
			if key == "_id" {
				attributed = add(canonicalID(e))
			} else {
				attributed = add(filterID(e))
			}
			if !attributed {
				return false
			}
		}
		return true
	}
	switch strings.ToLower(body[0].key) {
	case "insert":
		ok = each("documents", "_id")
	case "update":
		ok = each("updates", "q")
	case "delete":
		ok = each("deletes", "q")
	case "findandmodify":
		query, found := lookup(body, "query")
		ok = found && add(filterID(query))
	default:
		ok = false
	}
	if !ok {
		return nil, false
	}
	return targets, true
}
