package call

import (
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/controller/acd"
)

func TestAnnouncement(t *testing.T) {
	cases := []struct {
		pos    int
		ewt    time.Duration
		media  []string
		detail string
	}{
		{1, 40 * time.Second, []string{"sound:queue-youarenext", "sound:queue-holdtime", "sound:queue-less-than", "number:1", "sound:queue-minute", "sound:queue-thankyou"},
			"position 1, less than 1 min"},
		{2, 80 * time.Second, []string{"sound:queue-thereare", "number:2", "sound:queue-callswaiting", "sound:queue-holdtime", "number:1", "sound:queue-minute", "sound:queue-thankyou"},
			"position 2, about 1 min"},
		{5, 6*time.Minute + 31*time.Second, []string{"sound:queue-thereare", "number:5", "sound:queue-callswaiting", "sound:queue-holdtime", "number:7", "sound:queue-minutes", "sound:queue-thankyou"},
			"position 5, about 7 min"},
		{3, acd.NoEstimate, []string{"sound:queue-thereare", "number:3", "sound:queue-callswaiting", "sound:queue-thankyou"}, "position 3"},
	}
	for _, c := range cases {
		media, detail := announcement(c.pos, c.ewt)
		if !slices.Equal(media, c.media) || detail != c.detail {
			t.Errorf("announcement(%d, %s) = %v, %q; want %v, %q", c.pos, c.ewt, media, detail, c.media, c.detail)
		}
	}
}
