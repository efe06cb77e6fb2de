// Package rig runs a real `hotline serve` as a child process on a fresh
// database, for the demo and the load run: the same controller a
// carrier runs, driven from outside.
package rig

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"

	_ "github.com/lib/pq" // Postgres driver

	"github.com/hotline-cc/hotline/controller/api"
)

var dbName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// FreshDatabase drops and creates the database name through adminURL
// and returns the new database's URL.
func FreshDatabase(ctx context.Context, adminURL, name string) (string, error) {
	if !dbName.MatchString(name) {
		return "", fmt.Errorf("database name %q is not [a-z_][a-z0-9_]*", name)
	}
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
		return "", fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s`, name)); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Serve is a running `hotline serve` child process.
type Serve struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// StartServe starts binary as `serve --config cfgPath` with the given
// extra environment (secrets), logging to logPath.
func StartServe(binary, cfgPath, logPath string, env ...string) (*Serve, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start hotline serve: %w", err)
	}
	p := &Serve{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

// Pid is the child's process ID.
func (p *Serve) Pid() int { return p.cmd.Process.Pid }

// Stop asks the controller to stop (SIGTERM) and kills it after 10 s.
func (p *Serve) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// WaitAPI waits (up to a minute) until the controller's API answers.
func WaitAPI(ctx context.Context, c *api.Client) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.ListAgents(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hotline API did not come up: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// FreePort returns a loopback TCP address that was free a moment ago.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
