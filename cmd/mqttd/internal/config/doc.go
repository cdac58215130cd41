// Package config reads the YAML configuration of mqttd, the Tern daemon.
//
// A file is layered over the embedded default (default.yaml): every key it
// omits keeps the default's value, and a list it sets (listeners) replaces
// the default's list. The default itself goes through the same decoder.
//
// Decoding is strict. An unknown key, a duplicate key, a value of the wrong
// kind, a duration without a unit or an integer out of range is an error that
// names the file, the line and the key:
//
//	tern.yaml: line 7: unknown key "max_conections" in limits (known: max_connections, ...)
//	tern.yaml: line 9: limits.connect_timeout: invalid duration "10" (a number with a unit, e.g. 10s or 1m30s)
//
// A scalar value may refer to environment variables as ${NAME} or
// ${NAME:-default} (the default is used when NAME is unset or empty);
// an unset variable without a default is an error naming it, and $${ stands
// for a literal ${. References are expanded in scalar values after the YAML
// is parsed, not in the raw text: a comment never needs its variables set,
// a value cannot inject YAML structure, and errors keep their line numbers.
//
// The architecture document's example configuration is accepted as
// written: its keys are a second spelling of the same schema
// (server.adapters for listeners, server.limits for limits, store for
// storage; limits.idle_timeout sets keep_alive_max), and errors name keys
// as the file spelled them.
// Problems that do not stop the daemon (a storage block for a backend not
// selected) are returned as Config.Warnings.
package config
