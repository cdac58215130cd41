package opcua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// errEmpty is a payload with no bytes where the encoding needs some.
var errEmpty = errors.New("empty payload")

// payloadVariant converts an MQTT payload to a Variant per enc (server
// mode, MQTT to OPC UA). An empty payload is an empty String or
// ByteString, and errEmpty for number and json.
func payloadVariant(enc Encoding, p []byte) (*ua.Variant, error) {
	switch enc {
	case EncodingString:
		if !utf8.Valid(p) {
			return nil, errors.New("payload is not UTF-8")
		}
		return ua.MustVariant(string(p)), nil
	case EncodingBytes:
		return ua.MustVariant(bytes.Clone(p)), nil
	case EncodingNumber:
		s := strings.TrimSpace(string(p))
		if s == "" {
			return nil, errEmpty
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("payload is not a number: %q", truncate(s))
		}
		return ua.MustVariant(f), nil
	case EncodingJSON:
		return jsonVariant(p)
	}
	return nil, fmt.Errorf("unknown encoding %q", enc)
}

// jsonVariant maps one JSON value to a Variant: numbers to Double,
// booleans to Boolean, strings to String, null to a null Variant, objects
// and arrays to a String holding their JSON text.
func jsonVariant(p []byte) (*ua.Variant, error) {
	p = bytes.TrimSpace(p)
	if len(p) == 0 {
		return nil, errEmpty
	}
	if !json.Valid(p) {
		return nil, errors.New("payload is not JSON")
	}
	switch p[0] {
	case '{', '[':
		return ua.MustVariant(string(p)), nil
	case 'n':
		return &ua.Variant{}, nil
	case 't':
		return ua.MustVariant(true), nil
	case 'f':
		return ua.MustVariant(false), nil
	case '"':
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, err
		}
		return ua.MustVariant(s), nil
	}
	f, err := strconv.ParseFloat(string(p), 64)
	if err != nil { // out of float64's range
		return nil, fmt.Errorf("JSON number %s: %w", truncate(string(p)), err)
	}
	return ua.MustVariant(f), nil
}

// dataTypeOf is the DataType attribute of variables exposed with enc.
func dataTypeOf(enc Encoding) uint32 {
	switch enc {
	case EncodingString:
		return id.String
	case EncodingNumber:
		return id.Double
	case EncodingBytes:
		return id.ByteString
	}
	return id.BaseDataType // json: the type follows the value
}

// variantPayload converts a Variant written by an OPC UA client to an MQTT
// payload per enc (server mode, OPC UA to MQTT). utf8 says whether the
// payload is text (the MQTT 5 Payload Format Indicator). A value that does
// not fit enc is an error (BadTypeMismatch).
func variantPayload(enc Encoding, v *ua.Variant) (p []byte, utf8Text bool, err error) {
	if v == nil || v.Has(ua.VariantArrayValues) {
		return nil, false, errors.New("arrays and empty values are not written")
	}
	val := v.Value()
	switch enc {
	case EncodingBytes:
		switch x := val.(type) {
		case []byte:
			return bytes.Clone(x), false, nil
		case string:
			return []byte(x), false, nil
		}
	case EncodingString:
		if s, ok := scalarText(val); ok {
			return []byte(s), true, nil
		}
		if b, ok := val.([]byte); ok && utf8.Valid(b) {
			return bytes.Clone(b), true, nil
		}
	case EncodingNumber:
		if f, ok := number(val); ok {
			return []byte(formatNumber(f)), true, nil
		}
		if s, ok := val.(string); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return []byte(formatNumber(f)), true, nil
			}
		}
	case EncodingJSON:
		if v.Type() == ua.TypeIDNull {
			return []byte("null"), true, nil
		}
		if s, ok := val.(string); ok && json.Valid([]byte(s)) {
			return []byte(s), true, nil // JSON text, as the node shows objects
		}
		b, err := json.Marshal(jsonValue(val))
		if err == nil {
			return b, true, nil
		}
	}
	return nil, false, fmt.Errorf("a %s does not convert to %s", typeName(v), enc)
}

// scalarText is the text of a string, boolean or number value.
func scalarText(val any) (string, bool) {
	switch x := val.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case *ua.LocalizedText:
		return x.Text, true
	}
	if f, ok := number(val); ok {
		return formatNumber(f), true
	}
	return "", false
}

// number converts OPC UA numeric values to float64.
func number(val any) (float64, bool) {
	switch x := val.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint8:
		return float64(x), true
	case int16:
		return float64(x), true
	case uint16:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// formatNumber writes f in the shortest form that reads back the same.
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// typeName is the OPC UA name of v's built-in type ("Double", "String",
// "Int32[]" for an array).
func typeName(v *ua.Variant) string {
	if v == nil {
		return "Null"
	}
	n := builtinName(v.Type())
	if v.Has(ua.VariantArrayValues) {
		n += "[]"
	}
	return n
}

// builtinName is the specification's name of a built-in type (Part 6,
// 5.1.2): gopcua spells a few differently.
func builtinName(t ua.TypeID) string {
	n := strings.TrimPrefix(t.String(), "TypeID")
	if fixed, ok := specNames[n]; ok {
		return fixed
	}
	return n
}

var specNames = map[string]string{
	"Uint16": "UInt16", "Uint32": "UInt32", "Uint64": "UInt64", "GUID": "Guid",
	"NodeID": "NodeId", "ExpandedNodeID": "ExpandedNodeId", "XMLElement": "XmlElement",
}

// jsonValue converts a Variant's value to something encoding/json writes
// as the value's natural JSON: numbers, booleans, strings, arrays; times
// in RFC 3339; node ids, GUIDs and texts as strings; NaN and infinities as
// strings.
func jsonValue(val any) any {
	switch x := val.(type) {
	case nil:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return formatNumber(x)
		}
		return x
	case float32:
		return jsonValue(float64(x))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *ua.LocalizedText:
		return x.Text
	case *ua.QualifiedName:
		return x.Name
	case *ua.NodeID:
		return x.String()
	case *ua.ExpandedNodeID:
		return x.String()
	case *ua.GUID:
		return x.String()
	case ua.StatusCode:
		return statusName(x)
	case *ua.Variant:
		return jsonValue(x.Value())
	case *ua.ExtensionObject:
		return jsonValue(x.Value)
	case []float64, []float32, []bool, []string, []int8, []int16, []int32, []int64, []uint16, []uint32, []uint64:
		return x
	case []*ua.Variant:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case []time.Time:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	if _, err := json.Marshal(val); err != nil {
		return fmt.Sprint(val)
	}
	return val
}

// rawPayload is a value as client mode's raw payload: text for scalars,
// the bytes of a ByteString, JSON for anything else.
func rawPayload(v *ua.Variant) []byte {
	if v == nil {
		return nil
	}
	switch x := v.Value().(type) {
	case []byte:
		return bytes.Clone(x)
	case time.Time:
		return []byte(x.UTC().Format(time.RFC3339Nano))
	case nil:
		return nil
	}
	if s, ok := scalarText(v.Value()); ok {
		return []byte(s)
	}
	b, _ := json.Marshal(jsonValue(v.Value()))
	return b
}

// commandVariant converts the payload of a write-back command to a Variant
// of type t, the type of the node's value. The payload is either the value
// as text ("21.5", "true", "on") or a JSON object {"value": ...}.
func commandVariant(p []byte, t ua.TypeID) (*ua.Variant, error) {
	text := string(p)
	if tp := bytes.TrimSpace(p); len(tp) > 0 && tp[0] == '{' {
		var obj struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(tp, &obj); err != nil || obj.Value == nil {
			return nil, errors.New(`a JSON command needs a "value" member`)
		}
		text = string(obj.Value)
		var s string
		if json.Unmarshal(obj.Value, &s) == nil {
			text = s
		}
	}
	trimmed := strings.TrimSpace(text)
	switch t {
	case ua.TypeIDBoolean:
		switch strings.ToLower(trimmed) {
		case "true", "1", "on":
			return ua.MustVariant(true), nil
		case "false", "0", "off":
			return ua.MustVariant(false), nil
		}
		return nil, fmt.Errorf("%q is not a Boolean", truncate(trimmed))
	case ua.TypeIDString:
		return ua.MustVariant(text), nil
	case ua.TypeIDByteString:
		return ua.MustVariant([]byte(text)), nil
	case ua.TypeIDDouble, ua.TypeIDFloat:
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", truncate(trimmed))
		}
		if t == ua.TypeIDFloat {
			return ua.MustVariant(float32(f)), nil
		}
		return ua.MustVariant(f), nil
	case ua.TypeIDDateTime:
		tm, err := time.Parse(time.RFC3339Nano, trimmed)
		if err != nil {
			return nil, fmt.Errorf("%q is not an RFC 3339 time", truncate(trimmed))
		}
		return ua.MustVariant(tm), nil
	}
	if bits, signed, ok := integerType(t); ok {
		return integerVariant(trimmed, bits, signed)
	}
	return nil, fmt.Errorf("writing a %s is not supported", builtinName(t))
}

// integerType gives the width and signedness of OPC UA integer types.
func integerType(t ua.TypeID) (bits int, signed, ok bool) {
	switch t {
	case ua.TypeIDSByte:
		return 8, true, true
	case ua.TypeIDByte:
		return 8, false, true
	case ua.TypeIDInt16:
		return 16, true, true
	case ua.TypeIDUint16:
		return 16, false, true
	case ua.TypeIDInt32:
		return 32, true, true
	case ua.TypeIDUint32:
		return 32, false, true
	case ua.TypeIDInt64:
		return 64, true, true
	case ua.TypeIDUint64:
		return 64, false, true
	}
	return 0, false, false
}

// integerVariant parses s ("42", or "42.0" from a JSON number) as an
// integer of the given width.
func integerVariant(s string, bits int, signed bool) (*ua.Variant, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && strings.ContainsAny(s, ".eE") {
		s = strconv.FormatFloat(f, 'f', 0, 64)
	}
	if signed {
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return nil, fmt.Errorf("%q is not an Int%d", truncate(s), bits)
		}
		switch bits {
		case 8:
			return ua.MustVariant(int8(n)), nil
		case 16:
			return ua.MustVariant(int16(n)), nil
		case 32:
			return ua.MustVariant(int32(n)), nil
		}
		return ua.MustVariant(n), nil
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return nil, fmt.Errorf("%q is not a UInt%d", truncate(s), bits)
	}
	switch bits {
	case 8:
		return ua.MustVariant(uint8(n)), nil
	case 16:
		return ua.MustVariant(uint16(n)), nil
	case 32:
		return ua.MustVariant(uint32(n)), nil
	}
	return ua.MustVariant(n), nil
}

// truncate shortens s for error messages and logs.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
