// Package natstest starts nats-server processes with JetStream for tests:
// a single server or a cluster, on free loopback ports with their own
// store directories, stopped when the test ends.
//
// Without a nats-server binary (in $PATH or /usr/sbin) the test is skipped,
// or fails when $CI is set.
package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is one nats-server process.
type Server struct {
	t    testing.TB
	Name string
	// Port is the client port, ClusterPort the route port (0 alone).
	Port, ClusterPort int
	dir               string
	args              []string
	cmd               *exec.Cmd
	exited            chan struct{}
}

// Binary returns the path of nats-server, or skips (fails under CI) t.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	msg := "nats-server not found in $PATH or /usr/sbin: install it (Debian package nats-server)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Start starts a single JetStream server and waits until it serves
// JetStream requests.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	s := newServer(t, bin, "n1", freePort(t), 0)
	s.Start()
	WaitReady(t, s.URL())
	return s
}

// Cluster is a JetStream cluster.
type Cluster struct {
	Servers []*Server
}

// StartCluster starts a cluster of n JetStream servers routed on loopback,
// and waits until it has a meta leader.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := Binary(t)
	c := &Cluster{}
	ports, cports := make([]int, n), make([]int, n)
	var routes []string
	for i := range n {
		ports[i], cports[i] = freePort(t), freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", cports[i]))
	}
	for i := range n {
		s := newServer(t, bin, fmt.Sprintf("n%d", i+1), ports[i], cports[i])
		s.args = append(s.args, "--cluster_name", "audit", "--cluster", routes[i], "--routes", strings.Join(routes, ","))
		c.Servers = append(c.Servers, s)
	}
	for _, s := range c.Servers {
		s.Start()
	}
	WaitReady(t, c.URL())
	return c
}

// URL returns the URLs of all servers, comma-separated.
func (c *Cluster) URL() string {
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.URL())
	}
	return strings.Join(urls, ",")
}

func newServer(t testing.TB, bin, name string, port, cport int) *Server {
	dir := t.TempDir()
	s := &Server{t: t, Name: name, Port: port, ClusterPort: cport, dir: dir}
	s.args = []string{bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", filepath.Join(dir, "js"),
		"--server_name", name, "-l", filepath.Join(dir, "log")}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			if len(log) > 3000 {
				log = log[len(log)-3000:]
			}
			t.Logf("nats-server %s log (end):\n%s", name, log)
		}
	})
	return s
}

// URL returns the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.Port) }

// Start starts (or restarts, on the same ports and store) the server.
func (s *Server) Start() {
	s.t.Helper()
	cmd := exec.Command(s.args[0], s.args[1:]...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start nats-server %s: %v", s.Name, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(s.exited)
	// Wait for the client port.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
			s.t.Fatalf("nats-server %s exited at start: %s", s.Name, log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server %s does not listen on %d", s.Name, s.Port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Pause stops the server with SIGSTOP: connections stay open and nothing
// answers. Kill (or the test's end) ends it.
func (s *Server) Pause() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Stop kills the server if it runs.
func (s *Server) Stop() { s.Kill() }

// WaitReady waits until the servers at url answer JetStream requests (a
// cluster has elected its meta leader).
func WaitReady(t testing.TB, url string) {
	t.Helper()
	js := JetStream(t, url)
	defer js.Conn().Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream at %s not ready: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// JetStream connects to url and returns a JetStream context on the
// connection, which is closed when the test ends (or before, by the
// caller).
func JetStream(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return js
}
