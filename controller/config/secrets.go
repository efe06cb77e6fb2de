package config

import (
	"net/url"
	"regexp"
	"strings"
)

// wellKnown are passwords found in every tutorial, sample config and
// vendor default; production refuses them.
func wellKnown(secret string) bool {
	switch strings.ToLower(strings.TrimSpace(secret)) {
	case "asterisk", "password", "secret", "changeme", "admin", "hotline", "cluecon", "1234":
		return true
	}
	return false
}

var reDSNPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=`)

// CheckSecrets is called by `hotline serve` before it connects anywhere.
// It refuses an empty password for the configured switch in any mode
// (HOTLINE_ARI_PASSWORD for Asterisk; HOTLINE_ESL_PASSWORD for FreeSWITCH,
// where the shipped default ClueCon is refused in any mode too, since
// mod_event_socket gives full control of the switch); in production it also
// refuses well-known default secrets, an empty API token, and a database
// password written in the configuration file (it must come from
// HOTLINE_DATABASE_URL). It returns every problem as Problems, or nil.
func (c *Config) CheckSecrets() error {
	var ps Problems
	add := func(msg string) { ps = append(ps, Problem{Msg: msg}) }

	if c.Switch == SwitchFreeSWITCH {
		switch esl := strings.TrimSpace(c.FreeSWITCH.Password); {
		case esl == "":
			add("freeswitch event socket password is empty: set " + EnvESLPassword)
		case strings.EqualFold(esl, "ClueCon"):
			add(EnvESLPassword + " is FreeSWITCH's default ClueCon: set a password of your own in event_socket.conf.xml and here")
		case esl != c.FreeSWITCH.Password || strings.ContainsAny(esl, " \t\r\n"):
			add(EnvESLPassword + " must be one word: no spaces or line breaks")
		case c.Production() && wellKnown(esl):
			add(EnvESLPassword + " is a well-known default password: refused in production mode")
		}
	} else {
		ari := strings.TrimSpace(c.Asterisk.Password)
		if ari == "" {
			add("asterisk password is empty: set " + EnvARIPassword)
		}
		if c.Production() && ari != "" && wellKnown(ari) {
			add(EnvARIPassword + " is a well-known default password: refused in production mode")
		}
	}
	if !c.Production() {
		return ps.err()
	}
	switch tok := strings.TrimSpace(c.API.Token); {
	case tok == "":
		add("api token is empty: set " + EnvAPIToken + " (required in production mode)")
	case wellKnown(tok):
		add(EnvAPIToken + " is a well-known default: refused in production mode")
	}
	if !c.dbURLFromEnv && urlHasPassword(c.Database.URL) {
		ps = append(ps, c.problem("database.url", "carries a password: in production mode set %s instead of writing the password in the file", EnvDatabaseURL))
	}
	return ps.err()
}

// urlHasPassword reports whether a Postgres connection string, URL
// ("postgres://u:p@h/db") or key=value ("password=p"), carries a password.
func urlHasPassword(s string) bool {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			return true
		}
		return u.Query().Has("password")
	}
	return reDSNPassword.MatchString(s)
}
