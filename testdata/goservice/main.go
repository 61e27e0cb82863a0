// Command goservice is the Go HTTP service of goshift's real tier. It uses only the standard
// library: its listeners come from systemd socket activation (LISTEN_FDS, LISTEN_PID,
// LISTEN_FDNAMES, fds from 3), it reports readiness with READY=1 on NOTIFY_SOCKET, serves
// /healthz and / (a counter), profiles under /debug/pprof/ on the supervisor's admin listener
// only (admin.go), and on SIGTERM drains (drain.go).
//
// Build-time settings (-ldflags "-X main.version=v2 -X main.fault=http-500 -X main.drain=shutdown"),
// each overridden by an environment variable when that is set:
//
//   - version (GOSERVICE_VERSION) is reported in every answer;
//   - fault (GOSERVICE_FAULT) selects a broken build, one of the faults in faults.go;
//   - drain (GOSERVICE_DRAIN) selects what SIGTERM does: lame-duck (the default) or shutdown.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	version = "dev"
	fault   = ""
	drain   = "lame-duck"
)

// setting is the environment variable's value when it is set, else the build-time value.
func setting(name, built string) string {
	if value, ok := os.LookupEnv(name); ok {
		return value
	}
	return built
}

func main() {
	version = setting("GOSERVICE_VERSION", version)
	fault = setting("GOSERVICE_FAULT", fault)
	drain = setting("GOSERVICE_DRAIN", drain)
	log.SetPrefix(fmt.Sprintf("goservice %s[%d]: ", version, os.Getpid()))
	log.SetFlags(0)
	faults, err := parseFault(fault)
	if err != nil {
		log.Fatal(err)
	}
	if drain != "lame-duck" && drain != "shutdown" {
		log.Fatalf("drain mode %q is unknown: use lame-duck or shutdown", drain)
	}
	if faults.crashAtStart {
		log.Fatal("crashing at start (fault build)")
	}
	listeners, err := inheritedListeners()
	if err != nil {
		log.Fatal(err)
	}
	if faults.neverReady {
		log.Print("initialisation hangs (fault build)")
		select {}
	}
	if faults.panicBeforeReady {
		panic("broken initialisation (fault build)")
	}
	if faults.otherPort {
		// The inherited sockets stay open and are never accepted on: their queues fill.
		other, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("serving on %s instead of the inherited sockets (fault build)", other.Addr())
		listeners = []net.Listener{other}
	}

	var count atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n := count.Add(1)
		fmt.Fprintf(w, "version=%s go=%s pid=%d count=%d\n", version, runtime.Version(), os.Getpid(), n)
	})
	var draining atomic.Bool
	// While draining, every answer says "Connection: close", so keep-alive clients reconnect
	// (to the next generation) after it instead of finding their connection closed under a
	// request. (Server.SetKeepAlivesEnabled(false) is not used: it closes idle connections at
	// once, racing with a client that is just sending its next request on one.)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		mux.ServeHTTP(w, r)
	})
	var open atomic.Int64
	server := &http.Server{
		Handler:           withProfiles(faults.wrap(handler)),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}
	for _, l := range listeners {
		go func(l net.Listener) {
			if err := server.Serve(l); err != nil && err != http.ErrServerClosed && !isClosed(err) {
				log.Printf("serve %s: %v", l.Addr(), err)
			}
		}(l)
	}
	notify("READY=1\nSTATUS=serving " + version)
	faults.afterReady()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	if drain == "shutdown" {
		shutdownAtOnce(server)
		return
	}
	draining.Store(true)
	lameDuck(server, listeners, &open)
}

func isClosed(err error) bool {
	return strings.Contains(err.Error(), "use of closed network connection")
}

// inheritedListeners takes the sockets passed with the socket-activation protocol, as
// sd_listen_fds does: only when LISTEN_PID is this process, fds 3.. marked close-on-exec.
func inheritedListeners() ([]net.Listener, error) {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil, fmt.Errorf("LISTEN_PID is %q, not this process (%d)", os.Getenv("LISTEN_PID"), os.Getpid())
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("LISTEN_FDS is %q", os.Getenv("LISTEN_FDS"))
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	var listeners []net.Listener
	for i := 0; i < n; i++ {
		fd := 3 + i
		syscall.CloseOnExec(fd)
		name := fmt.Sprintf("LISTEN_FD_%d", fd)
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		f := os.NewFile(uintptr(fd), name)
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("fd %d (%s): %w", fd, name, err)
		}
		listeners = append(listeners, l)
	}
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	return listeners, nil
}

// notify sends one sd_notify datagram; without NOTIFY_SOCKET it does nothing.
func notify(message string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if strings.HasPrefix(path, "@") {
		path = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		log.Printf("notify: %v", err)
		return
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(message)); err != nil {
		log.Printf("notify: %v", err)
	}
}
