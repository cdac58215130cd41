package opcua

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/gopcua/opcua/ua"
)

// checkRequest walks a service request body (its type id, then the
// request) the way gopcua decodes it (ua.DecodeService), without building
// anything, and refuses what gopcua would build out of proportion to the
// bytes: gopcua makes an array as long as its declared length before it
// reads an element (a 20-byte request declaring 2^31 elements made it
// allocate 16 GiB, and a machine that cannot map that much ends the
// process), a Variant's array dimensions likewise; dimensions whose int32
// product overflows to the array's length make it loop forever, and a
// Variant array of length below -1 makes it panic. Lengths are checked against the bytes
// left; Variant arrays as gopcua bounds them (ua.MaxVariantArrayLength);
// nesting is bounded by maxDepth. What gopcua refuses by itself (an
// unknown service, bytes missing) passes: gopcua answers it.
func checkRequest(b []byte) error {
	var tid ua.ExpandedNodeID
	n, err := tid.Decode(b)
	if err != nil {
		return nil
	}
	t := serviceTypeOf(b[:n])
	if t == nil {
		return nil
	}
	w := walker{b: b[n:]}
	if err := w.value(t, 0); err != nil && !errors.Is(err, errShort) {
		return err
	}
	return nil
}

// maxDepth bounds the nesting of Variants, ExtensionObjects and
// structures in a request.
const maxDepth = 64

var (
	errShort    = errors.New("opcua: request ends early") // gopcua finds this too
	errTooDeep  = fmt.Errorf("%w: nested too deep", errRefused)
	errTooLarge = fmt.Errorf("%w: more elements declared than bytes", errRefused)
)

var (
	binaryDecoder = reflect.TypeFor[ua.BinaryDecoder]()
	timeType      = reflect.TypeFor[time.Time]()
	variantType   = reflect.TypeFor[*ua.Variant]()
	dataValueType = reflect.TypeFor[*ua.DataValue]()
	extObjType    = reflect.TypeFor[*ua.ExtensionObject]()
)

// walker reads through an encoding; b is what is left.
type walker struct{ b []byte }

func (w *walker) skip(n int) error {
	if n < 0 || n > len(w.b) {
		return errShort
	}
	w.b = w.b[n:]
	return nil
}

func (w *walker) byte() (byte, error) {
	if len(w.b) < 1 {
		return 0, errShort
	}
	c := w.b[0]
	w.b = w.b[1:]
	return c, nil
}

func (w *walker) uint32() (uint32, error) {
	if len(w.b) < 4 {
		return 0, errShort
	}
	v := binary.LittleEndian.Uint32(w.b)
	w.b = w.b[4:]
	return v, nil
}

// bytes skips a String, ByteString or XmlElement: a length (0 and -1 are
// empty) and as many bytes.
func (w *walker) bytes() error {
	n, err := w.uint32()
	if err != nil || n == 0 || n == 0xffffffff {
		return err
	}
	return w.skip(int(n))
}

// count reads an array length as gopcua's decodeSlice does (-1 is null)
// and refuses one above the bytes left: every element takes at least one.
func (w *walker) count() (int, error) {
	n, err := w.uint32()
	if err != nil || n == 0xffffffff {
		return 0, err
	}
	if uint64(n) > uint64(len(w.b)) {
		return 0, errTooLarge
	}
	return int(n), nil
}

// value walks a value of type t as gopcua's decode does.
func (w *walker) value(t reflect.Type, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch t {
	case variantType:
		return w.variant(depth + 1)
	case dataValueType:
		return w.dataValue(depth + 1)
	case extObjType:
		return w.extObject(depth + 1)
	}
	if t.Kind() == reflect.Pointer && t.Implements(binaryDecoder) {
		// NodeId, ExpandedNodeId, LocalizedText, Guid, DiagnosticInfo:
		// gopcua reads them within the bytes they have.
		v := reflect.New(t.Elem()).Interface().(ua.BinaryDecoder)
		n, err := v.Decode(w.b)
		if err != nil {
			return errShort
		}
		return w.skip(n)
	}
	if t.ConvertibleTo(timeType) {
		return w.skip(8)
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int8, reflect.Uint8:
		return w.skip(1)
	case reflect.Int16, reflect.Uint16:
		return w.skip(2)
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		return w.skip(4)
	case reflect.Int64, reflect.Uint64, reflect.Float64:
		return w.skip(8)
	case reflect.String:
		return w.bytes()
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return w.bytes()
		}
		n, err := w.count()
		for range n {
			if err = w.value(t.Elem(), depth+1); err != nil {
				break
			}
		}
		return err
	case reflect.Array:
		n, err := w.uint32()
		if err != nil || n == 0xffffffff {
			return err
		}
		if uint64(n) > uint64(t.Len()) {
			return errShort // gopcua refuses it
		}
		for range n {
			if err := w.value(t.Elem(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Pointer:
		return w.value(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if err := w.value(t.Field(i).Type, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return errShort // gopcua refuses the type
}

// Variant encoding mask bits and built-in type ids (Part 6, 5.2.2.16).
const (
	variantArray      = 0x80
	variantDimensions = 0x40
	variantTypeMask   = 0x3f
)

// variantElem is the wire type of each Variant built-in type id, as
// gopcua's Variant.decodeValue reads it; nil for the ids it refuses.
var variantElem = map[byte]reflect.Type{
	1: reflect.TypeFor[bool](), 2: reflect.TypeFor[int8](), 3: reflect.TypeFor[uint8](),
	4: reflect.TypeFor[int16](), 5: reflect.TypeFor[uint16](), 6: reflect.TypeFor[int32](),
	7: reflect.TypeFor[uint32](), 8: reflect.TypeFor[int64](), 9: reflect.TypeFor[uint64](),
	10: reflect.TypeFor[float32](), 11: reflect.TypeFor[float64](), 12: reflect.TypeFor[string](),
	13: timeType, 14: reflect.TypeFor[*ua.GUID](), 15: reflect.TypeFor[[]byte](),
	16: reflect.TypeFor[string](), 17: reflect.TypeFor[*ua.NodeID](), 18: reflect.TypeFor[*ua.ExpandedNodeID](),
	19: reflect.TypeFor[uint32](), 20: reflect.TypeFor[*ua.QualifiedName](), 21: reflect.TypeFor[*ua.LocalizedText](),
	22: extObjType, 23: dataValueType, 24: variantType, 25: reflect.TypeFor[*ua.DiagnosticInfo](),
}

// variant walks a Variant as gopcua's Variant.Decode reads it.
func (w *walker) variant(depth int) error {
	mask, err := w.byte()
	if err != nil || mask&variantTypeMask == 0 {
		return err
	}
	elem := variantElem[mask&variantTypeMask]
	if elem == nil {
		return errShort // gopcua refuses the type id
	}
	if mask&variantArray == 0 {
		return w.value(elem, depth)
	}
	u, err := w.uint32()
	if err != nil {
		return err
	}
	n := int32(u)
	switch {
	case n < -1:
		return fmt.Errorf("%w: Variant array of length %d", errRefused, n) // gopcua panics
	case int(n) > ua.MaxVariantArrayLength:
		return errShort // gopcua refuses it
	case int(n) > len(w.b):
		return errTooLarge
	}
	for range n {
		if err := w.value(elem, depth); err != nil {
			return err
		}
	}
	if mask&variantDimensions == 0 {
		return nil
	}
	u, err = w.uint32()
	if err != nil {
		return err
	}
	dims := int32(u)
	if dims < 0 {
		return errShort // gopcua refuses it
	}
	if int(dims) > len(w.b)/4 {
		return errTooLarge // gopcua makes them before it reads them
	}
	// gopcua multiplies the dimensions in an int32 and builds every
	// level of slices: a product that overflows to the array's length
	// would make it build billions of them.
	product := int64(1)
	for range dims {
		d, err := w.uint32()
		if err != nil {
			return err
		}
		if int32(d) < 1 {
			return errShort // gopcua refuses it
		}
		if product *= int64(d); product > int64(ua.MaxVariantArrayLength) {
			return errTooLarge
		}
	}
	return nil
}

// dataValue walks a DataValue as gopcua's DataValue.Decode reads it.
func (w *walker) dataValue(depth int) error {
	mask, err := w.byte()
	if err != nil {
		return err
	}
	if mask&ua.DataValueValue != 0 {
		if err := w.variant(depth); err != nil {
			return err
		}
	}
	n := 0
	for _, f := range []struct {
		bit  byte
		size int
	}{
		{ua.DataValueStatusCode, 4}, {ua.DataValueSourceTimestamp, 8}, {ua.DataValueSourcePicoseconds, 2},
		{ua.DataValueServerTimestamp, 8}, {ua.DataValueServerPicoseconds, 2},
	} {
		if mask&f.bit != 0 {
			n += f.size
		}
	}
	return w.skip(n)
}

// extObject walks an ExtensionObject as gopcua's ExtensionObject.Decode
// reads it: a type id, an encoding, then a body of a declared length that
// gopcua decodes as the type registered for the id.
func (w *walker) extObject(depth int) error {
	start := w.b
	var tid ua.ExpandedNodeID
	n, err := tid.Decode(w.b)
	if err != nil {
		return errShort
	}
	w.b = w.b[n:]
	enc, err := w.byte()
	if err != nil || enc == ua.ExtensionObjectEmpty {
		return err
	}
	length, err := w.uint32()
	if err != nil || length == 0 || length == 0xffffffff {
		return err
	}
	if uint64(length) > uint64(len(w.b)) {
		return errShort
	}
	body := walker{b: w.b[:length]}
	w.b = w.b[length:]
	if enc == ua.ExtensionObjectXML {
		return nil // a string, read within the body
	}
	t := extObjTypeOf(start[:n])
	if t == nil {
		return nil // gopcua skips a body of an unknown type
	}
	if err := body.value(t, depth); err != nil && !errors.Is(err, errShort) {
		return err
	}
	return nil
}

// Types of service requests and of extension object bodies by type id
// encoding: gopcua's registries are not exported, so each is learnt once
// by decoding the type id alone (the body then fails at once, leaving the
// value of the registered type).
var serviceTypes, extObjTypes typeCache

// typeCacheLimit bounds each cache: a client can name any type id.
const typeCacheLimit = 4096

// typeCache maps type id encodings to the types gopcua decodes them into.
type typeCache struct {
	mu sync.Mutex
	m  map[string]reflect.Type // a nil type: none registered
}

// get returns tid's type, learning it with probe (a value of the type, or
// nil) the first time.
func (c *typeCache) get(tid []byte, probe func() any) reflect.Type {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[string(tid)]; ok {
		return t
	}
	var t reflect.Type
	if v := probe(); v != nil {
		t = reflect.TypeOf(v)
	}
	if len(c.m) < typeCacheLimit {
		if c.m == nil {
			c.m = make(map[string]reflect.Type)
		}
		c.m[string(tid)] = t
	}
	return t
}

// serviceTypeOf is the type gopcua decodes a request of type id tid into
// (nil: unknown, refused by gopcua).
func serviceTypeOf(tid []byte) reflect.Type {
	return serviceTypes.get(tid, func() any {
		_, v, _ := ua.DecodeService(tid)
		return v
	})
}

// extObjTypeOf is the type gopcua decodes an ExtensionObject body of type
// id tid into (nil: unknown, skipped).
func extObjTypeOf(tid []byte) reflect.Type {
	return extObjTypes.get(tid, func() any {
		b := append(append([]byte(nil), tid...), ua.ExtensionObjectBinary, 1, 0, 0, 0, 0)
		var e ua.ExtensionObject
		_, _ = e.Decode(b)
		return e.Value
	})
}
