package esl_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/percipia/eslgo"

	"github.com/hotline-cc/hotline/controller/pbx/esl"
)

// countEvents frames data and parses every text/event-plain body.
func countEvents(data []byte) (int, error) {
	r := esl.NewReader(bytes.NewReader(data), esl.Limits{})
	n := 0
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if f.ContentType == esl.TypeEventPlain {
			if _, err := esl.ParseEvent(f.Body); err != nil {
				return n, err
			}
			n++
		}
	}
}

// eventStream is the recorded capture's events only (no replies), so
// both clients see nothing but events after auth.
func eventStream(b *testing.B) ([]byte, int) {
	data, err := os.ReadFile(capturePath)
	if err != nil {
		b.Fatal(err)
	}
	r := esl.NewReader(bytes.NewReader(data), esl.Limits{})
	var out bytes.Buffer
	n := 0
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		if f.ContentType == esl.TypeEventPlain {
			out.WriteString("Content-Length: " + strconv.Itoa(len(f.Body)) + "\nContent-Type: text/event-plain\n\n")
			out.Write(f.Body)
			n++
		}
	}
	return out.Bytes(), n
}

// streamServer accepts one ESL client, authenticates it, answers its
// "event plain ALL", then writes stream reps times.
func streamServer(b *testing.B, stream []byte, reps int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		defer ln.Close()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		io.WriteString(nc, "Content-Type: auth/request\n\n")
		buf := make([]byte, 4096)
		nc.Read(buf)
		io.WriteString(nc, "Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
		nc.Read(buf) // event plain ALL
		io.WriteString(nc, "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n")
		for range reps {
			if _, err := nc.Write(stream); err != nil {
				return
			}
		}
		io.Copy(io.Discard, nc)
	}()
	return ln.Addr().String()
}

// BenchmarkDecodeHotline: esl.Conn reading the recorded plain-format
// stream over loopback, framing and parsing every event.
func BenchmarkDecodeHotline(b *testing.B) {
	stream, per := eventStream(b)
	addr := streamServer(b, stream, b.N)
	c, err := esl.Dial(context.Background(), addr, "bench", esl.ConnOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Send(context.Background(), "event plain ALL"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	want := per * b.N
	got := 0
	for got < want {
		ev := <-c.Events()
		if ev.Name() == "" {
			b.Fatal("event without name")
		}
		got++
	}
	b.ReportMetric(float64(got)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkDecodeEslgo: eslgo v1.5.2 reading the same stream, counting
// events in its listener (one goroutine per event, as eslgo delivers).
func BenchmarkDecodeEslgo(b *testing.B) {
	stream, per := eventStream(b)
	addr := streamServer(b, stream, b.N)
	opts := eslgo.DefaultInboundOptions
	opts.Password = "bench"
	opts.Logger = nil
	var got atomic.Int64
	want := int64(per * b.N)
	done := make(chan struct{})
	c, err := opts.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	b.ResetTimer()
	c.RegisterEventListener(eslgo.EventListenAll, func(ev *eslgo.Event) {
		if ev.GetName() == "" {
			panic("event without name")
		}
		if got.Add(1) == want {
			close(done)
		}
	})
	if _, err := c.SendCommand(context.Background(), rawCommand("event plain ALL")); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("eslgo delivered %d of %d events", got.Load(), want)
	}
	b.ReportMetric(float64(want)/time.Since(start).Seconds(), "events/s")
}
