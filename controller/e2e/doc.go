// Package e2e holds hotline's end-to-end tests: the whole controller
// against the real Asterisk sandbox and real PostgreSQL, with SIPp as
// callers on the trunk and as agents' phones. Nothing here is faked.
package e2e
