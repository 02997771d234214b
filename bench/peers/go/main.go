// gorilla/websocket peer for bench/run.sh: the same roles and output as the
// other peers (see bench/README.md).
//
//	gorilla_peer server echo|sink
//	gorilla_peer client URL throughput|rtt COUNT SIZE
//	gorilla_peer idle URL N SRCADDR
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gorilla_peer server MODE | client URL MODE COUNT SIZE | idle URL N SRC")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2])
	case "client":
		count, _ := strconv.Atoi(os.Args[4])
		size, _ := strconv.Atoi(os.Args[5])
		client(os.Args[2], os.Args[3], count, size)
	case "idle":
		n, _ := strconv.Atoi(os.Args[3])
		idle(os.Args[2], n, os.Args[4])
	default:
		os.Exit(2)
	}
}

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

// server echoes every message (echo) or counts binary messages and answers
// a text message with the count (sink), so that a client knows all arrived.
func server(mode string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	h := func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		count := 0
		for {
			t, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if mode == "sink" && t == websocket.BinaryMessage {
				count++
				continue
			}
			if mode == "sink" {
				data = []byte(strconv.Itoa(count))
			}
			if c.WriteMessage(t, data) != nil {
				return
			}
		}
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		os.Exit(0)
	}()
	http.Serve(ln, http.HandlerFunc(h))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func client(url, mode string, count, size int) {
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		fail(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(120 * time.Second))
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'x'
	}
	if mode == "throughput" {
		// Replies (echoes) are read and dropped on a second goroutine until
		// the text answer to the sync message arrives.
		done := make(chan error, 1)
		go func() {
			for {
				t, _, err := c.ReadMessage()
				if err != nil || t == websocket.TextMessage {
					done <- err
					return
				}
			}
		}()
		t0, c0 := time.Now(), cpuSeconds()
		for i := 0; i < count; i++ {
			if err := c.WriteMessage(websocket.BinaryMessage, payload); err != nil {
				fail(err)
			}
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte("__sync")); err != nil {
			fail(err)
		}
		if err := <-done; err != nil {
			fail(err)
		}
		secs, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
		fmt.Printf("{\"client\":\"gorilla\",\"mode\":\"throughput\",\"msgs\":%d,\"size\":%d,\"seconds\":%.6f,\"msg_per_s\":%.1f,\"cpu_s\":%.6f}\n",
			count, size, secs, float64(count)/secs, cpu)
		return
	}
	rtt := make([]float64, count)
	for i := 0; i < count; i++ {
		t0 := time.Now()
		if err := c.WriteMessage(websocket.BinaryMessage, payload); err != nil {
			fail(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			fail(err)
		}
		rtt[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
	}
	sort.Float64s(rtt)
	fmt.Printf("{\"client\":\"gorilla\",\"mode\":\"rtt\",\"msgs\":%d,\"size\":%d,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f}\n",
		count, size, rtt[count/2], rtt[count*9/10], rtt[count*99/100])
}

// idle opens n connections from source address src, prints READY n, and
// holds them until SIGTERM or stdin closes.
func idle(url string, n int, src string) {
	d := websocket.Dialer{
		NetDial: func(network, addr string) (net.Conn, error) {
			nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 30 * time.Second}
			return nd.Dial(network, addr)
		},
		HandshakeTimeout: 60 * time.Second,
		ReadBufferSize:   256,
		WriteBufferSize:  256,
	}
	conns := make([]*websocket.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, _, err := d.Dial(url, nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "idle: connection %d: %v\n", i, err)
			break
		}
		conns = append(conns, c)
		// Answer pings and notice closes without holding data.
		go func(c *websocket.Conn) {
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}(c)
	}
	fmt.Printf("READY %d\n", len(conns))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		sig <- syscall.SIGTERM
	}()
	<-sig
	for _, c := range conns {
		c.Close()
	}
}

// cpuSeconds is the process's CPU time so far, user and system, all threads.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
