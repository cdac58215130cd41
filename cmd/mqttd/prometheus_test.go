//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPrometheusScrapesMqttd runs Debian's Prometheus server (its own
// process, a random port, a temporary directory) scraping the real mqttd
// every second, and reads mqtt_connections_current back through
// Prometheus's HTTP query API as clients connect and leave.
func TestPrometheusScrapesMqttd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon and runs Prometheus")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (Debian package prometheus; run make deps)")
	}
	bin := buildMqttd(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "tern.yaml")
	writeFile(t, conf, "listeners:\n  - {type: tcp, name: plain, address: 127.0.0.1:0}\nmetrics: {enabled: true, address: 127.0.0.1:0}\n")
	p := start(t, bin, nil, "-config", conf)
	addr := listenAddr(t, p)
	target := metricsLine.FindStringSubmatch(p.stderr())[1]

	web := freePort(t)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mqttd
    scrape_interval: 1s
    static_configs:
      - targets: [%q]
`, target))
	startPrometheus(t, promBin, dir, web)

	c1 := dialMQTT(t, addr, "one", true, nil)
	dialMQTT(t, addr, "two", true, nil)
	query := `mqtt_connections_current{job="mqttd",listener="plain"}`
	waitFor(t, 20*time.Second, func() error { return promValue(web, query, "2") })
	c1.close()
	waitFor(t, 10*time.Second, func() error { return promValue(web, query, "1") })
}

// freePort returns a loopback address with a port free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPrometheus runs prometheus with dir/prometheus.yml, its database in
// dir, its web server on web; it is killed, by PID, when the test ends.
func startPrometheus(t *testing.T, bin, dir, web string) {
	t.Helper()
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+web,
		"--log.level=warn")
	cmd.Dir = dir
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wait := make(chan struct{})
	go func() { _ = cmd.Wait(); close(wait) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-wait
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	waitFor(t, 15*time.Second, func() error {
		select {
		case <-wait:
			t.Fatalf("prometheus exited:\n%s", out.String())
		default:
		}
		code, err := getStatus("http://" + web + "/-/ready")
		if err != nil || code != 200 {
			return fmt.Errorf("prometheus not ready: %d %v", code, err)
		}
		return nil
	})
}

func getStatus(u string) (int, error) {
	res, err := loopbackClient.Get(u)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// promValue queries Prometheus at web for the instant vector query and
// checks it has exactly one sample, of value want.
func promValue(web, query, want string) error {
	res, err := loopbackClient.Get("http://" + web + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return err
	}
	if r.Status != "success" {
		return fmt.Errorf("query status %q", r.Status)
	}
	if len(r.Data.Result) != 1 {
		return fmt.Errorf("%s: %d series, want 1", query, len(r.Data.Result))
	}
	if got, _ := r.Data.Result[0].Value[1].(string); got != want {
		return fmt.Errorf("%s = %s, want %s", query, got, want)
	}
	return nil
}
