package sipp

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/internal/testenv"
)

// TestCallThroughAsterisk places a call through the Asterisk sandbox's
// [selftest] dtmf extension (no hotline controller involved) and checks
// that Asterisk saw the caller number from P-Asserted-Identity and the
// RFC 4733 keys SIPp sent.
func TestCallThroughAsterisk(t *testing.T) {
	ariURL, user, pass := testenv.ARI(t)
	caller := fmt.Sprintf("139%08d", rand.IntN(100000000))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		Scenario:       "caller-uac.xml",
		Target:         "127.0.0.1:5060",
		Service:        "dtmf",
		Vars:           map[string]string{"from_user": "selftest"},
		Calls:          1,
		CSV:            [][]string{{caller, "4", "1000", "2", "1500", "", "0", "0"}},
		Timeout:        40 * time.Second,
		TimeoutIsError: true,
		Dir:            t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Successful != 1 || res.Events["far-bye"] != 1 {
		t.Fatalf("call through Asterisk: %s\n%s", res.Summary(), res.Errors())
	}
	q := url.Values{"variable": {"SELFTEST_KEYS_" + caller}}
	req, _ := http.NewRequestWithContext(ctx, "GET", ariURL+"/ari/asterisk/variable?"+q.Encode(), nil)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("ARI %s: %v", resp.Status, err)
	}
	if v.Value != "42" {
		t.Fatalf("Asterisk got keys %q from caller %s, want \"42\"", v.Value, caller)
	}
}
