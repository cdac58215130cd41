package packets

// Auth is the AUTH packet of MQTT 5 [MQTT-3.15].
type Auth struct {
	ReasonCode ReasonCode
	Properties Properties
}

// authCodes are the reason codes an AUTH may carry [MQTT-3.15.2.1].
var authCodes = newReasonSet(Success, ContinueAuthentication, ReAuthenticate)

// errAuthV3 fails AUTH outside v5, where type 15 is reserved.
func errAuthV3() error {
	return newError(AUTH, "packet type", "AUTH exists only in MQTT 5", MalformedPacket)
}

// Type returns AUTH.
func (a *Auth) Type() Type { return AUTH }

// Reset clears a for reuse and keeps the capacity of its property slices.
func (a *Auth) Reset() {
	a.Properties.Reset()
	*a = Auth{Properties: a.Properties}
}

// Decode parses an AUTH body (v5 only; type 15 is reserved before):
// empty means Success without properties [MQTT-3.15.2.1]; a reason code
// alone is accepted too.
func (a *Auth) Decode(flags byte, body []byte, v Version) error {
	a.Reset()
	if v != V5 {
		return errAuthV3()
	}
	return decodeReasonProps(AUTH, flags, body, &authCodes, &a.ReasonCode, &a.Properties)
}

// Append appends the AUTH: an empty body for Success without properties,
// otherwise the reason code and a property length.
func (a *Auth) Append(dst []byte, v Version) ([]byte, error) {
	if v != V5 {
		return dst, errAuthV3()
	}
	return appendReasonProps(dst, AUTH, &authCodes, a.ReasonCode, &a.Properties, true)
}
