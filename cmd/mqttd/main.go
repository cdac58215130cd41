// Command mqttd runs Tern, an MQTT 3.1, 3.1.1 and 5.0 broker, as a daemon.
//
// Without arguments it listens on 127.0.0.1:1883 only, accepts every client
// and keeps its state in memory: the embedded default configuration. With
// -config FILE it reads a YAML file layered over that default (see package
// cmd/mqttd/internal/config for the schema and its strict checks).
//
//	mqttd [-config FILE] [-version]
//
//	mqttd -check-config FILE
//
// -check-config validates FILE (every problem, with its line), prints
// warnings, and exits: 0 if the file is valid, 2 if not.
//
// SIGINT or SIGTERM shuts the broker down gracefully: it stops accepting,
// waits up to shutdown_timeout (default 10 s) for deliveries in flight to be
// acknowledged, sends DISCONNECT to every client (MQTT 5: 0x8B, server
// shutting down), persists session state, closes storage and exits 0. A
// second signal ends the process at once, with status 1. SIGHUP reloads,
// without dropping connections, the certificates of tls and wss listeners
// and auth's password_file, acl_file and JWT keys (reload.go).
// Exit status 2 means a bad command line or configuration, 1 a failure to
// start (a listener cannot listen) or to shut down cleanly.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
// Otherwise it comes from the module's build information.
var version = ""

func main() {
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

// mainExit is main without os.Exit, so tests can run it in-process: it
// returns the exit status.
func mainExit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mqttd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file` (default: the built-in one, 127.0.0.1:1883)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	checkConfig := fs.String("check-config", "", "validate the configuration `file`, print its warnings and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mqttd: unexpected argument %q (the configuration goes in -config FILE)\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionString())
		return 0
	}

	if *checkConfig != "" {
		return checkConfigFile(*checkConfig, stdout, stderr)
	}

	// SIGHUP kills by default: until run listens for it, a reload request
	// during the start is ignored rather than fatal.
	signal.Ignore(syscall.SIGHUP)
	cfg, err := loadConfig(*configPath)
	if err != nil {
		printError(stderr, err)
		return 2
	}
	ctx, stop := shutdownSignals(stderr, func() { os.Exit(1) })
	defer stop()
	if err := run(ctx, cfg, cfg.Log.Logger(stderr)); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

// checkConfigFile is -check-config: validate path and say so.
func checkConfigFile(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err != nil {
		printError(stderr, err)
		return 2
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "mqttd: warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: configuration is valid\n", path)
	return 0
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default()
	}
	return config.Load(path)
}

// printError writes err to w, one "mqttd: " line per line of its text (a
// configuration error lists every problem found).
func printError(w io.Writer, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(w, "mqttd: %s\n", line)
	}
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return fmt.Sprintf("mqttd (Tern MQTT broker) %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
