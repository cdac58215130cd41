package opcua

import (
	"strings"
	"sync"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker/topics"
)

// Node ids of server mode. A variable's NodeId is its topic,
// ns=N;s=factory/line1/temp; a folder's is its topic prefix followed by
// "/#", ns=N;s=factory/line1/#, and the root folder's is "#". A topic name
// never contains '#', so the two kinds cannot collide, and a folder's id
// reads as the filter of everything below it.
const rootKey = "#"

// folderKey is the NodeId string of the folder holding the topics under
// prefix.
func folderKey(prefix string) string { return prefix + "/#" }

// folder is an Object node of type FolderType, for one topic level.
type folder struct {
	key      string // NodeId string
	name     string // browse name: the level
	parent   string // parent folder's key; "" for the root
	children []child
}

// child is one Organizes reference of a folder.
type child struct {
	key    string
	folder bool
}

// variable is a Variable node for one topic.
type variable struct {
	topic  string
	name   string // browse name: the last level
	parent string
	expose int           // index of the Expose it falls under
	value  *ua.DataValue // replaced, never modified
	warned bool          // an invalid payload was logged
}

// topicSpace is the namespace of server mode, a server.NameSpace. gopcua
// calls it from its service goroutine; the bridge updates it from broker
// subscriptions. mu guards folders, vars and the nodes in them.
type topicSpace struct {
	uri      string
	rootName string
	exposes  []Expose
	maxNodes int
	nsID     uint16 // set by AddNamespace before the server starts

	// write publishes a client's write (set by the Server).
	write func(topic string, e *Expose, v *ua.Variant) ua.StatusCode

	mu      sync.RWMutex
	folders map[string]*folder
	vars    map[string]*variable
	full    bool // maxNodes reached (logged once)
}

func newTopicSpace(uri, rootName string, exposes []Expose, maxNodes int) *topicSpace {
	ts := &topicSpace{
		uri:      uri,
		rootName: rootName,
		exposes:  exposes,
		maxNodes: maxNodes,
		folders:  make(map[string]*folder),
		vars:     make(map[string]*variable),
	}
	ts.folders[rootKey] = &folder{key: rootKey, name: rootName}
	return ts
}

// exposeOf returns the index of the first Expose whose filter matches
// topic, or -1.
func (ts *topicSpace) exposeOf(topic string) int {
	for i := range ts.exposes {
		if topics.Match(ts.exposes[i].Filter, topic) {
			return i
		}
	}
	return -1
}

// update sets the value of topic's variable, creating it (and its
// folders) if needed. It returns the node to notify, or nil when the
// node limit stops a new topic (refused reports the first such refusal,
// to be logged).
func (ts *topicSpace) update(topic string, expose int, dv *ua.DataValue) (nid *ua.NodeID, refused bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	v := ts.vars[topic]
	if v == nil {
		if len(ts.vars) >= ts.maxNodes {
			first := !ts.full
			ts.full = true
			return nil, first
		}
		v = ts.addVariableLocked(topic, expose)
	}
	v.value = dv
	return ua.NewStringNodeID(ts.nsID, topic), false
}

// warnOnce reports whether an invalid payload on topic is the first one
// (to be logged), and marks it.
func (ts *topicSpace) warnOnce(topic string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	v := ts.vars[topic]
	if v == nil || v.warned {
		return false
	}
	v.warned = true
	return true
}

// addVariableLocked creates topic's variable and any missing folder
// above it.
func (ts *topicSpace) addVariableLocked(topic string, expose int) *variable {
	levels := strings.Split(topic, "/")
	parent := rootKey
	for i := range len(levels) - 1 {
		key := folderKey(strings.Join(levels[:i+1], "/"))
		if ts.folders[key] == nil {
			ts.folders[key] = &folder{key: key, name: levels[i], parent: parent}
			p := ts.folders[parent]
			p.children = append(p.children, child{key: key, folder: true})
		}
		parent = key
	}
	v := &variable{topic: topic, name: levels[len(levels)-1], parent: parent, expose: expose}
	ts.vars[topic] = v
	p := ts.folders[parent]
	p.children = append(p.children, child{key: topic})
	return v
}

// nodes returns the number of variables.
func (ts *topicSpace) nodes() int {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return len(ts.vars)
}

// lookup splits one of our NodeIds into a folder or a variable key.
func (ts *topicSpace) lookup(nid *ua.NodeID) (key string, isFolder, ok bool) {
	if nid == nil || nid.Namespace() != ts.nsID || nid.Type() != ua.NodeIDTypeString {
		return "", false, false
	}
	s := nid.StringID()
	return s, s == rootKey || strings.HasSuffix(s, "/#"), true
}

// The server.NameSpace interface.

// Name returns the namespace URI.
func (ts *topicSpace) Name() string { return ts.uri }

// ID returns the namespace index.
func (ts *topicSpace) ID() uint16 { return ts.nsID }

// SetID is called once by server.AddNamespace.
func (ts *topicSpace) SetID(id uint16) { ts.nsID = id }

// AddNode does nothing: the namespace's nodes are its topics.
func (ts *topicSpace) AddNode(n *server.Node) *server.Node { return n }

// Node returns a gopcua node for the root folder, which namespace 0's
// Objects folder references (namespace 0 reads its type definition from
// it); nil for every other node, which gopcua never asks for.
func (ts *topicSpace) Node(nid *ua.NodeID) *server.Node {
	if key, isFolder, ok := ts.lookup(nid); ok && isFolder && key == rootKey {
		return ts.rootNode()
	}
	return nil
}

// rootNode builds the gopcua node of the root folder.
func (ts *topicSpace) rootNode() *server.Node {
	return server.NewNode(
		ua.NewStringNodeID(ts.nsID, rootKey),
		server.Attributes{
			ua.AttributeIDNodeClass:   server.DataValueFromValue(uint32(ua.NodeClassObject)),
			ua.AttributeIDBrowseName:  server.DataValueFromValue(&ua.QualifiedName{NamespaceIndex: ts.nsID, Name: ts.rootName}),
			ua.AttributeIDDisplayName: server.DataValueFromValue(ua.NewLocalizedText(ts.rootName)),
			ua.AttributeIDDataType:    server.DataValueFromValue(ua.NewNumericExpandedNodeID(0, id.FolderType)),
		},
		nil, nil)
}

// Objects returns the root folder.
func (ts *topicSpace) Objects() *server.Node { return ts.rootNode() }

// Root returns the root folder.
func (ts *topicSpace) Root() *server.Node { return ts.rootNode() }

// Attribute reads one attribute of a node.
func (ts *topicSpace) Attribute(nid *ua.NodeID, attr ua.AttributeID) *ua.DataValue {
	key, isFolder, ok := ts.lookup(nid)
	if !ok {
		return badValue(ua.StatusBadNodeIDUnknown)
	}
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	if isFolder {
		f := ts.folders[key]
		if f == nil {
			return badValue(ua.StatusBadNodeIDUnknown)
		}
		return ts.folderAttributeLocked(nid, f, attr)
	}
	v := ts.vars[key]
	if v == nil {
		return badValue(ua.StatusBadNodeIDUnknown)
	}
	return ts.variableAttributeLocked(nid, v, attr)
}

func (ts *topicSpace) folderAttributeLocked(nid *ua.NodeID, f *folder, attr ua.AttributeID) *ua.DataValue {
	switch attr {
	case ua.AttributeIDNodeID:
		return goodValue(nid)
	case ua.AttributeIDNodeClass:
		return goodValue(int32(ua.NodeClassObject))
	case ua.AttributeIDBrowseName:
		return goodValue(&ua.QualifiedName{NamespaceIndex: ts.nsID, Name: f.name})
	case ua.AttributeIDDisplayName:
		return goodValue(ua.NewLocalizedText(f.name))
	case ua.AttributeIDDescription:
		if f.key == rootKey {
			return goodValue(ua.NewLocalizedText("MQTT topics"))
		}
		return goodValue(ua.NewLocalizedText("MQTT topics under " + strings.TrimSuffix(f.key, "/#")))
	case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
		return goodValue(uint32(0))
	case ua.AttributeIDEventNotifier:
		return goodValue(byte(0))
	}
	return badValue(ua.StatusBadAttributeIDInvalid)
}

func (ts *topicSpace) variableAttributeLocked(nid *ua.NodeID, v *variable, attr ua.AttributeID) *ua.DataValue {
	e := &ts.exposes[v.expose]
	switch attr {
	case ua.AttributeIDValue:
		dv := *v.value
		dv.ServerTimestamp = time.Now()
		dv.UpdateMask()
		return &dv
	case ua.AttributeIDNodeID:
		return goodValue(nid)
	case ua.AttributeIDNodeClass:
		return goodValue(int32(ua.NodeClassVariable))
	case ua.AttributeIDBrowseName:
		return goodValue(&ua.QualifiedName{NamespaceIndex: ts.nsID, Name: v.name})
	case ua.AttributeIDDisplayName:
		return goodValue(ua.NewLocalizedText(v.name))
	case ua.AttributeIDDescription:
		return goodValue(ua.NewLocalizedText("MQTT topic " + v.topic))
	case ua.AttributeIDWriteMask, ua.AttributeIDUserWriteMask:
		return goodValue(uint32(0))
	case ua.AttributeIDDataType:
		return goodValue(ua.NewNumericNodeID(0, dataTypeOf(e.Encoding)))
	case ua.AttributeIDValueRank:
		return goodValue(int32(-1)) // scalar
	case ua.AttributeIDArrayDimensions:
		return goodValue([]uint32{})
	case ua.AttributeIDAccessLevel, ua.AttributeIDUserAccessLevel:
		level := byte(ua.AccessLevelTypeCurrentRead)
		if e.Writable {
			level |= byte(ua.AccessLevelTypeCurrentWrite)
		}
		return goodValue(level)
	case ua.AttributeIDMinimumSamplingInterval:
		return goodValue(float64(0)) // changes are reported as they arrive
	case ua.AttributeIDHistorizing:
		return goodValue(false)
	}
	return badValue(ua.StatusBadAttributeIDInvalid)
}

// SetAttribute handles an OPC UA Write: a value written to a variable
// under a writable Expose is published to its topic.
func (ts *topicSpace) SetAttribute(nid *ua.NodeID, attr ua.AttributeID, dv *ua.DataValue) ua.StatusCode {
	key, isFolder, ok := ts.lookup(nid)
	switch {
	case !ok:
		return ua.StatusBadNodeIDUnknown
	case isFolder:
		ts.mu.RLock()
		f := ts.folders[key]
		ts.mu.RUnlock()
		if f == nil {
			return ua.StatusBadNodeIDUnknown
		}
		return ua.StatusBadNotWritable
	}
	exp := ts.exposeOf(key)
	if exp < 0 || topics.ValidateName([]byte(key)) != nil {
		return ua.StatusBadUserAccessDenied // not exposed
	}
	ts.mu.RLock()
	v := ts.vars[key]
	ts.mu.RUnlock()
	switch {
	case v == nil:
		return ua.StatusBadNodeIDUnknown
	case attr != ua.AttributeIDValue:
		return ua.StatusBadNotWritable
	case !ts.exposes[v.expose].Writable:
		return ua.StatusBadNotWritable
	case dv == nil || dv.Value == nil:
		return ua.StatusBadTypeMismatch
	}
	return ts.write(key, &ts.exposes[v.expose], dv.Value)
}

// Browse lists a node's references: a folder Organizes its children and
// is organized by its parent (the root by namespace 0's Objects); every
// node has a HasTypeDefinition (FolderType, BaseDataVariableType).
func (ts *topicSpace) Browse(bd *ua.BrowseDescription) *ua.BrowseResult {
	key, isFolder, ok := ts.lookup(bd.NodeID)
	if !ok {
		return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
	}
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	var refs []*ua.ReferenceDescription
	var parent string
	if isFolder {
		f := ts.folders[key]
		if f == nil {
			return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
		}
		parent = f.parent
		refs = append(refs, typeRef(id.FolderType, "FolderType"))
		for _, c := range f.children {
			refs = append(refs, ts.refToLocked(c.key, c.folder, true))
		}
	} else {
		v := ts.vars[key]
		if v == nil {
			return &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
		}
		parent = v.parent
		refs = append(refs, typeRef(id.BaseDataVariableType, "BaseDataVariableType"))
	}
	if parent == "" {
		refs = append(refs, &ua.ReferenceDescription{
			ReferenceTypeID: ua.NewNumericNodeID(0, id.Organizes),
			NodeID:          ua.NewNumericExpandedNodeID(0, id.ObjectsFolder),
			BrowseName:      &ua.QualifiedName{Name: "Objects"},
			DisplayName:     ua.NewLocalizedText("Objects"),
			NodeClass:       ua.NodeClassObject,
			TypeDefinition:  ua.NewNumericExpandedNodeID(0, id.FolderType),
		})
	} else {
		refs = append(refs, ts.refToLocked(parent, true, false))
	}
	out := refs[:0]
	for _, r := range refs {
		if suitable(bd, r) {
			out = append(out, r)
		}
	}
	return &ua.BrowseResult{StatusCode: ua.StatusGood, References: out}
}

// refToLocked describes an Organizes reference to a folder or variable.
func (ts *topicSpace) refToLocked(key string, isFolder, forward bool) *ua.ReferenceDescription {
	r := &ua.ReferenceDescription{
		ReferenceTypeID: ua.NewNumericNodeID(0, id.Organizes),
		IsForward:       forward,
		NodeID:          ua.NewStringExpandedNodeID(ts.nsID, key),
	}
	name := ""
	if isFolder {
		name = ts.folders[key].name
		r.NodeClass = ua.NodeClassObject
		r.TypeDefinition = ua.NewNumericExpandedNodeID(0, id.FolderType)
	} else {
		name = ts.vars[key].name
		r.NodeClass = ua.NodeClassVariable
		r.TypeDefinition = ua.NewNumericExpandedNodeID(0, id.BaseDataVariableType)
	}
	r.BrowseName = &ua.QualifiedName{NamespaceIndex: ts.nsID, Name: name}
	r.DisplayName = ua.NewLocalizedText(name)
	return r
}

// typeRef is a HasTypeDefinition reference to a type of namespace 0.
func typeRef(typeID uint32, name string) *ua.ReferenceDescription {
	nc := ua.NodeClassObjectType
	if typeID == id.BaseDataVariableType {
		nc = ua.NodeClassVariableType
	}
	return &ua.ReferenceDescription{
		ReferenceTypeID: ua.NewNumericNodeID(0, id.HasTypeDefinition),
		IsForward:       true,
		NodeID:          ua.NewNumericExpandedNodeID(0, typeID),
		BrowseName:      &ua.QualifiedName{Name: name},
		DisplayName:     ua.NewLocalizedText(name),
		NodeClass:       nc,
		TypeDefinition:  ua.NewTwoByteExpandedNodeID(0),
	}
}

// suitable applies a BrowseDescription's direction, reference type and
// node class filters to a reference.
func suitable(bd *ua.BrowseDescription, r *ua.ReferenceDescription) bool {
	switch bd.BrowseDirection {
	case ua.BrowseDirectionForward:
		if !r.IsForward {
			return false
		}
	case ua.BrowseDirectionInverse:
		if r.IsForward {
			return false
		}
	}
	if bd.NodeClassMask != 0 && bd.NodeClassMask&uint32(r.NodeClass) == 0 {
		return false
	}
	want := bd.ReferenceTypeID
	if want == nil || (want.Namespace() == 0 && want.IntID() == 0) {
		return true
	}
	if want.Namespace() != 0 {
		return false
	}
	got := r.ReferenceTypeID.IntID()
	if got == want.IntID() {
		return true
	}
	if !bd.IncludeSubtypes {
		return false
	}
	for t := got; t != 0; t = refSupertype[t] {
		if t == want.IntID() {
			return true
		}
	}
	return false
}

// refSupertype is the reference type hierarchy of namespace 0 (Part 3,
// 7), as far as the references this namespace uses need it.
var refSupertype = map[uint32]uint32{
	id.HierarchicalReferences:    id.References,
	id.NonHierarchicalReferences: id.References,
	id.HasChild:                  id.HierarchicalReferences,
	id.Organizes:                 id.HierarchicalReferences,
	id.HasTypeDefinition:         id.NonHierarchicalReferences,
}

// goodValue is a Good DataValue of an attribute.
func goodValue(v any) *ua.DataValue {
	return &ua.DataValue{EncodingMask: ua.DataValueValue, Value: ua.MustVariant(v)}
}

// badValue is the DataValue of a failed read.
func badValue(sc ua.StatusCode) *ua.DataValue {
	return &ua.DataValue{
		EncodingMask:    ua.DataValueServerTimestamp | ua.DataValueStatusCode,
		ServerTimestamp: time.Now(),
		Status:          sc,
	}
}
