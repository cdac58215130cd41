package broker

import (
	"context"
	"strconv"
	"time"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// connect handles the CONNECT packet; it reports whether the connection was
// accepted (CONNACK 0 queued for sending).
func (c *conn) connect(fh packets.FixedHeader, body []byte) bool {
	b := c.b
	var pk packets.Connect
	if err := pk.Decode(fh.Flags, body, 0); err != nil {
		c.b.stats.ProtocolViolations.Add(1)
		c.b.metrics.ProtocolError(c.info.Listener, packets.CodeOf(err))
		c.b.log.Debug("bad CONNECT", "remote", remoteString(c.nc), "err", err)
		code := packets.CodeOf(err)
		switch {
		case code == packets.UnsupportedProtocolVersion:
			// Level unknown: answer in the 3.1.1 form, return code 1 [MQTT-3.1.2-2].
			c.refuse(packets.V311, code)
		case pk.Version == packets.V5:
			// A v5 server may say why before closing [MQTT-3.2.2-8... 4.13.1-1].
			c.refuse(packets.V5, code)
		}
		return false
	}
	c.version = pk.Version
	c.info = ClientInfo{
		ID:         string(pk.ClientID),
		Username:   string(pk.Username),
		Listener:   c.info.Listener, // set by newConn
		Remote:     c.nc.RemoteAddr(),
		Version:    pk.Version,
		CleanStart: pk.CleanStart,
	}
	c.transportIdentity()
	isV5 := v5(pk.Version)
	assigned := false
	if len(pk.ClientID) == 0 {
		if !isV5 && !pk.CleanStart {
			// A zero-length client id needs clean session [MQTT-3.1.3-8].
			c.refuse(c.version, packets.ClientIdentifierNotValid)
			return false
		}
		c.info.ID = b.newClientID()
		assigned = true // [MQTT-3.1.3-6], [MQTT-3.2.2-16]
	}
	if !isV5 && pk.KeepAlive > b.limits.KeepAliveMax {
		// 3.1.x has no way to lower the keep alive: refuse, as Mosquitto does.
		c.refuse(c.version, packets.ClientIdentifierNotValid)
		return false
	}
	if b.feat.serverRef != "" {
		code := packets.UseAnotherServer
		if b.feat.moved {
			code = packets.ServerMoved
		}
		c.redirect(code, b.feat.serverRef)
		return false
	}
	if !c.takeSlot() {
		c.refuse(c.version, packets.QuotaExceeded)
		return false
	}
	if b.overBudget.Load() && (pk.CleanStart || !b.hasSession(c.info.ID)) {
		// Shedding load (budget.go); a client resuming its session is let
		// in: reading its backlog is what ends the shedding.
		c.refuse(c.version, packets.ServerBusy)
		return false
	}
	if !b.connRate.allow(time.Now()) {
		c.refuse(c.version, packets.ConnectionRateExceeded)
		return false
	}
	var authReply []byte
	if isV5 && pk.Properties.Present.Has(packets.PropAuthMethod) {
		reply, code := c.enhancedAuth(&pk)
		if code != packets.Success {
			c.refuse(c.version, code)
			return false
		}
		authReply = reply
	} else if code := b.authenticate(c, &pk); code != packets.Success {
		c.refuse(c.version, code)
		return false
	}
	for _, h := range b.hooks.connect {
		if err := h.OnConnect(&c.info); err != nil {
			c.refuse(c.version, codeOr(err, packets.NotAuthorized))
			return false
		}
	}

	// Session parameters.
	var expiry uint32
	window := b.limits.MaxInflight
	if isV5 {
		expiry = pk.Properties.SessionExpiry
		c.expiry0 = expiry == 0
		if pk.Properties.Present.Has(packets.PropReceiveMaximum) {
			window = min(window, int(pk.Properties.ReceiveMaximum))
		}
		if pk.Properties.Present.Has(packets.PropMaximumPacketSize) {
			c.maxOut = int(pk.Properties.MaximumPacketSize)
		}
		c.aliases = topics.NewAliasesIn(b.limits.TopicAliasMaximum, b.limits.MaxAliasBytes)
		if m := pk.Properties.TopicAliasMaximum; m > 0 {
			c.aliasesOut = topics.NewAliasesOut(m) // never above the client's maximum [MQTT-3.3.2-10]
		}
	} else if !pk.CleanStart {
		expiry = 0xFFFFFFFF // a 3.1.x persistent session does not expire [MQTT-3.1.2-4]
	}
	expiry = min(expiry, b.limits.MaxSessionExpiry)
	keepAlive := pk.KeepAlive
	serverKeepAlive := false
	if isV5 && (keepAlive > b.limits.KeepAliveMax || keepAlive == 0 && b.limits.KeepAliveMax < 65535) {
		keepAlive = b.limits.KeepAliveMax // Server Keep Alive [MQTT-3.2.2-21]
		serverKeepAlive = true
	}
	c.keep = time.Duration(keepAlive) * 1500 * time.Millisecond
	c.pubRate = newRate(b.limits.PublishRate)

	if pk.WillFlag && pk.WillQoS > b.feat.maxQoS {
		c.refuse(c.version, packets.QoSNotSupported) // [MQTT-3.2.2-12]
		return false
	}
	if pk.WillFlag && pk.WillRetain && b.feat.noRetain {
		c.refuse(c.version, packets.RetainNotSupported) // [MQTT-3.2.2-13]
		return false
	}
	var w *will
	if pk.WillFlag {
		w = newWill(c, &pk)
		c.hadWill = true
	}

	ack := packets.Connack{}
	if isV5 {
		p := &ack.Properties
		if assigned {
			p.AssignedClientID = []byte(c.info.ID)
			p.Present.Add(packets.PropAssignedClientID)
		}
		if serverKeepAlive {
			p.ServerKeepAlive = keepAlive
			p.Present.Add(packets.PropServerKeepAlive)
		}
		if expiry != pk.Properties.SessionExpiry {
			p.SessionExpiry = expiry
			p.Present.Add(packets.PropSessionExpiry)
		}
		p.ReceiveMaximum = b.limits.ReceiveMaximum
		p.Present.Add(packets.PropReceiveMaximum)
		p.MaximumPacketSize = uint32(b.limits.MaxPacketSize)
		p.Present.Add(packets.PropMaximumPacketSize)
		p.TopicAliasMaximum = b.limits.TopicAliasMaximum
		p.Present.Add(packets.PropTopicAliasMaximum)
		b.advertise(p)
		if c.auth != nil {
			p.AuthMethod = []byte(c.auth.method)
			p.Present.Add(packets.PropAuthMethod)
			if len(authReply) > 0 {
				p.AuthData = authReply
				p.Present.Add(packets.PropAuthData)
			}
		}
		if pk.Properties.RequestResponseInfo == 1 && b.feat.responseInfo != "" {
			p.ResponseInfo = []byte(b.feat.responseInfo + c.info.ID + "/") // [MQTT-3.1.2-28]
			p.Present.Add(packets.PropResponseInfo)
		}
	}

	if !pk.CleanStart {
		ctx, cancel := context.WithTimeout(context.Background(), b.limits.ConnectTimeout)
		err := b.loadSession(ctx, c.info.ID)
		cancel()
		if err != nil {
			b.log.Error("loading session", "client", c.info.ID, "err", err)
			c.refuse(c.version, packets.ServerUnavailable)
			return false
		}
	}
	c.connectedAt = time.Now().UnixNano() // before attach makes c visible (admin API)
	_, present, err := b.attach(c, pk.CleanStart, expiry, window, w, &ack)
	if err != nil {
		c.refuse(c.version, packets.ServerUnavailable)
		return false
	}
	for _, h := range b.hooks.session {
		if present {
			h.OnSessionResumed(&c.info)
		} else {
			h.OnSessionCreated(&c.info)
		}
	}
	b.claim(c.info.ID)
	n := b.stats.Connected.Add(1)
	for m := b.stats.MaxConnected.Load(); n > m && !b.stats.MaxConnected.CompareAndSwap(m, n); m = b.stats.MaxConnected.Load() {
	}
	b.metrics.ClientConnected(c.info.Listener)
	return true
}

// attach binds the connection to the session of its client identifier,
// taking the session over from an older connection [MQTT-3.1.4-3], then
// queues CONNACK and, for a resumed session, the resends.
func (b *Broker) attach(c *conn, clean bool, expiry uint32, window int, w *will, ack *packets.Connack) (*session, bool, error) {
	id := c.info.ID
	for {
		b.mu.Lock()
		if b.closing {
			b.mu.Unlock()
			return nil, false, ErrClosed
		}
		s := b.sessions[id]
		present := false
		var discarded *session
		suppressed := false
		if s != nil {
			s.mu.Lock()
			if old := s.conn; old != nil {
				s.mu.Unlock()
				b.mu.Unlock()
				old.disconnect(packets.SessionTakenOver)
				old.done.Wait()
				continue
			}
			if clean || s.ended {
				// Clean start discards the old session [MQTT-3.1.2-4].
				s.endLocked()
				s.mu.Unlock()
				delete(b.sessions, id)
				b.forgettingLocked(id)
				b.metrics.Sessions(-1)
				discarded = s
				s = nil
			} else {
				present = true // [MQTT-3.2.2-2]
				if s.expiryTimer != nil {
					s.expiryTimer.Stop()
					s.expiryTimer = nil
				}
				if s.willTimer != nil {
					// Resumed before the will delay ended: no will [MQTT-3.1.3-9].
					s.willTimer.Stop()
					s.willTimer = nil
					s.will = nil
					suppressed = true
				}
			}
		}
		if s == nil {
			s = newSession(b, id)
			b.sessions[id] = s
			b.metrics.Sessions(1)
			s.mu.Lock()
		}
		s.conn = c
		s.info.Store(&c.info)
		s.setExpiryLocked(expiry)
		s.window = window
		s.will = w
		c.sess = s
		b.conns[c] = struct{}{}
		ack.SessionPresent = present
		if present {
			s.inflight.Requeue(&s.queue) // resend unacknowledged [MQTT-4.4.0-1]
		}
		// This goroutine writes CONNACK itself, before anything else
		// [MQTT-3.2.0-1]: holding the writer role keeps publishers from
		// starting one first, and spares an idle client a writer goroutine.
		c.writing = true
		s.mu.Unlock()
		b.mu.Unlock()
		c.writeConnack(ack)
		if discarded != nil {
			b.forgetSession(discarded)
		}
		if suppressed && w == nil {
			b.forgetWill(id)
		}
		if w != nil {
			b.storeWill(id, w) // a crash publishes it at the next start
		}
		b.saveSession(s)
		return s, present, nil
	}
}

// refuse answers CONNECT with a failure CONNACK (mapped to a 3.1.x return
// code for older clients) [MQTT-3.2.2-5]; the caller closes the connection.
func (c *conn) refuse(v packets.Version, code packets.ReasonCode) {
	ack := packets.Connack{ReasonCode: code}
	buf, err := ack.Append(nil, v)
	if err != nil {
		return
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	n, err := c.nc.Write(buf)
	c.b.stats.BytesSent.Add(int64(n))
	if err == nil {
		c.b.metrics.PacketSent(c.info.Listener, packets.CONNACK, n)
	}
	c.b.log.Debug("connection refused", "client", c.info.ID, "remote", remoteString(c.nc), "code", code.Error())
	c.b.refused(c, code)
}

// credentials collects what CONNECT presents for authentication.
func (c *conn) credentials(pk *packets.Connect) Credentials {
	cr := Credentials{ClientInfo: c.info}
	if pk.PasswordFlag {
		cr.Password = append([]byte{}, pk.Password...)
	}
	if pk.Properties.Present.Has(packets.PropAuthMethod) {
		cr.AuthMethod = string(pk.Properties.AuthMethod)
		cr.AuthData = append([]byte(nil), pk.Properties.AuthData...)
	}
	return cr
}

// redirect refuses the connection with a Server Reference (v5); 3.1.x
// clients get "server unavailable".
func (c *conn) redirect(code packets.ReasonCode, ref string) {
	ack := packets.Connack{ReasonCode: code}
	if v5(c.version) {
		ack.Properties.ServerReference = []byte(ref)
		ack.Properties.Present.Add(packets.PropServerReference)
	}
	if buf, err := ack.Append(nil, c.version); err == nil {
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := c.nc.Write(buf)
		c.b.stats.BytesSent.Add(int64(n))
		if err == nil {
			c.b.metrics.PacketSent(c.info.Listener, packets.CONNACK, n)
		}
	}
	c.b.refused(c, code)
}

// authenticate asks the Authenticator, if any.
func (b *Broker) authenticate(c *conn, pk *packets.Connect) packets.ReasonCode {
	if b.authn == nil {
		return packets.Success
	}
	cr := c.credentials(pk)
	ctx, cancel := context.WithTimeout(context.Background(), b.limits.ConnectTimeout)
	defer cancel()
	if err := b.authn.Authenticate(ctx, &cr); err != nil {
		return codeOr(err, packets.NotAuthorized)
	}
	// What the Authenticator established stays with the connection.
	c.info.Username, c.info.Attributes = cr.Username, cr.Attributes
	return packets.Success
}

// newClientID makes a unique client identifier for a client that sent none.
func (b *Broker) newClientID() string {
	n := b.nextAnon.Add(1)
	return "tern-" + strconv.FormatInt(b.startAt.UnixNano(), 36) + "-" + strconv.FormatUint(n, 36)
}

// advertise puts the capabilities that are switched off into CONNACK
// properties (absent means available) [MQTT-3.2.2.3].
func (b *Broker) advertise(p *packets.Properties) {
	f := b.feat
	if f.maxQoS < 2 {
		p.MaximumQoS = f.maxQoS
		p.Present.Add(packets.PropMaximumQoS)
	}
	// The "available" properties are sent with their zero value: unavailable.
	for _, off := range []struct {
		off bool
		id  packets.PropID
	}{
		{f.noRetain, packets.PropRetainAvailable},
		{f.noWildcards, packets.PropWildcardSubAvailable},
		{f.noSubIDs, packets.PropSubIDAvailable},
		{f.noShared, packets.PropSharedSubAvailable},
	} {
		if off.off {
			p.Present.Add(off.id)
		}
	}
}

// enhancedAuth runs the MQTT 5 AUTH exchange of a CONNECT that names an
// authentication method [MQTT-4.12.0-1..7]. It returns the data for CONNACK.
func (c *conn) enhancedAuth(pk *packets.Connect) ([]byte, packets.ReasonCode) {
	b := c.b
	ch, ok := b.authn.(Challenger)
	if !ok {
		return nil, packets.BadAuthenticationMethod // [MQTT-4.12.0-1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.limits.ConnectTimeout)
	defer cancel()
	cr := c.credentials(pk)
	ex, err := ch.BeginAuth(ctx, &cr)
	if err != nil {
		return nil, codeOr(err, packets.BadAuthenticationMethod)
	}
	c.auth = &enhancedAuth{method: cr.AuthMethod}
	data := cr.AuthData
	for {
		reply, done, err := ex.Next(ctx, data)
		if err != nil {
			return nil, codeOr(err, packets.NotAuthorized)
		}
		if done {
			if au, ok := ex.(AuthenticatedUser); ok && au.Username() != "" {
				c.info.Username = au.Username()
			}
			return reply, packets.Success
		}
		if err := c.writeAuth(packets.ContinueAuthentication, reply); err != nil {
			return nil, packets.UnspecifiedError
		}
		fh, body, err := c.r.Next()
		if err != nil {
			return nil, packets.NotAuthorized
		}
		if fh.Type != packets.AUTH {
			// Only AUTH may follow until CONNACK (section 4.12).
			return nil, packets.ProtocolError
		}
		var a packets.Auth
		if err := a.Decode(fh.Flags, body, packets.V5); err != nil {
			return nil, packets.CodeOf(err)
		}
		if a.ReasonCode != packets.ContinueAuthentication || string(a.Properties.AuthMethod) != c.auth.method {
			return nil, packets.ProtocolError // [MQTT-4.12.0-5]
		}
		data = append([]byte(nil), a.Properties.AuthData...)
	}
}

// writeAuth writes an AUTH packet straight to the connection (before the
// session exists).
func (c *conn) writeAuth(code packets.ReasonCode, data []byte) error {
	a := c.authPacket(code, data)
	buf, err := a.Append(nil, packets.V5)
	if err != nil {
		return err
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.b.limits.WriteTimeout))
	_, err = c.nc.Write(buf)
	return err
}

func (c *conn) authPacket(code packets.ReasonCode, data []byte) *packets.Auth {
	a := &packets.Auth{ReasonCode: code}
	a.Properties.AuthMethod = []byte(c.auth.method)
	a.Properties.Present.Add(packets.PropAuthMethod)
	if len(data) > 0 {
		a.Properties.AuthData = data
		a.Properties.Present.Add(packets.PropAuthData)
	}
	return a
}

// handleAuth handles AUTH after CONNACK: re-authentication [MQTT-4.12.1].
func (c *conn) handleAuth(fh packets.FixedHeader, body []byte) error {
	if !v5(c.version) {
		return &packets.Error{Packet: fh.Type, Field: "packet type", Reason: "AUTH before MQTT 5", Code: packets.MalformedPacket}
	}
	var p packets.Auth
	if err := p.Decode(fh.Flags, body, c.version); err != nil {
		return err
	}
	if c.auth == nil || string(p.Properties.AuthMethod) != c.auth.method {
		// No method was negotiated at CONNECT, or another one [MQTT-4.12.1-1].
		return &packets.Error{Packet: fh.Type, Field: "authentication method", Reason: "not the method of CONNECT", Code: packets.ProtocolError}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.b.limits.ConnectTimeout)
	defer cancel()
	data := append([]byte(nil), p.Properties.AuthData...)
	switch {
	case p.ReasonCode == packets.ReAuthenticate:
		cr := Credentials{ClientInfo: c.info, AuthMethod: c.auth.method, AuthData: data}
		ex, err := c.b.authn.(Challenger).BeginAuth(ctx, &cr)
		if err != nil {
			return &packets.Error{Packet: fh.Type, Field: "re-authentication", Reason: err.Error(), Code: codeOr(err, packets.NotAuthorized)}
		}
		c.auth.reauth = ex
	case p.ReasonCode == packets.ContinueAuthentication && c.auth.reauth != nil:
	default:
		return &packets.Error{Packet: fh.Type, Field: "reason code", Reason: "unexpected in this state", Code: packets.ProtocolError}
	}
	reply, done, err := c.auth.reauth.Next(ctx, data)
	if err != nil {
		c.auth.reauth = nil
		return &packets.Error{Packet: fh.Type, Field: "re-authentication", Reason: err.Error(), Code: codeOr(err, packets.NotAuthorized)}
	}
	code := packets.ContinueAuthentication
	if done {
		c.auth.reauth = nil
		code = packets.Success
	}
	c.send(c.authPacket(code, reply))
	return nil
}

// writeConnack writes CONNACK from the reader goroutine, which holds the
// writer role (c.writing), then hands anything queued meanwhile to a writer.
func (c *conn) writeConnack(ack *packets.Connack) {
	var arr [128]byte
	buf, err := ack.Append(arr[:0], c.version)
	if err != nil {
		c.b.log.Error("encoding CONNACK", "err", err)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.b.limits.WriteTimeout))
	c.connackMu.Lock()
	n, werr := c.nc.Write(buf)
	c.connacked = werr == nil
	c.connackMu.Unlock()
	c.b.stats.BytesSent.Add(int64(n))
	if werr == nil {
		c.b.metrics.PacketSent(c.info.Listener, packets.CONNACK, n)
	}
	s := c.sess
	s.mu.Lock()
	c.writing = false
	if werr != nil {
		s.mu.Unlock()
		c.close()
		return
	}
	if len(c.ctrl) > 0 || s.queue.Len() > 0 {
		c.kickLocked()
	}
	s.mu.Unlock()
}
