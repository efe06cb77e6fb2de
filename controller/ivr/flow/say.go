package flow

import (
	"fmt"
	"strconv"
	"time"
)

// Say-* rendering. English uses the switch's own number and digit players
// ("number:N", "digits:D") plus prompts for words; Mandarin is built from
// prompts (zh-0 … zh-9, zh-10 十, zh-100 百, zh-1000 千, zh-10000 万,
// zh-100000000 亿, zh-yuan 元, …) so it sounds the same on every switch.

// sayPrompts are the prompts say items need, in both languages.
func sayPrompts() []string {
	p := []string{"yuan", "cents", "minus"}
	for m := 1; m <= 12; m++ {
		p = append(p, fmt.Sprintf("month-%d", m))
	}
	for d := 0; d <= 9; d++ {
		p = append(p, fmt.Sprintf("zh-%d", d))
	}
	return append(p, "zh-10", "zh-100", "zh-1000", "zh-10000", "zh-100000000",
		"zh-yuan", "zh-jiao", "zh-fen", "zh-zheng", "zh-fu", "zh-nian", "zh-yue", "zh-ri")
}

func prompt(name string) string { return PromptMedia + name }

// sayNumber renders n in lang.
func sayNumber(dst []string, n int64, lang string) []string {
	if lang != "zh" {
		if n < 0 {
			dst = append(dst, prompt("minus"))
			n = -n
		}
		return append(dst, "number:"+strconv.FormatUint(uint64(n), 10))
	}
	if n < 0 {
		dst = append(dst, prompt("zh-fu"))
		n = -n
	}
	return zhNumber(dst, uint64(n))
}

// zhNumber renders n the way it is read in Mandarin: 10 → 十,
// 105 → 一百零五, 10010 → 一万零一十, 100000000 → 一亿. Above 10^16 it
// reads digit by digit.
func zhNumber(dst []string, n uint64) []string {
	if n == 0 {
		return append(dst, prompt("zh-0"))
	}
	if n >= 1e16 {
		return zhDigits(dst, strconv.FormatUint(n, 10))
	}
	groups := [...]struct {
		div  uint64
		unit string
	}{{1e8, "zh-100000000"}, {1e4, "zh-10000"}, {1, ""}}
	started, zero := false, false
	rest := n
	for _, g := range groups {
		sec := rest / g.div
		rest %= g.div
		if sec == 0 {
			if started {
				zero = true
			}
			continue
		}
		if started && (zero || sec < 1000) {
			dst = append(dst, prompt("zh-0"))
		}
		dst = zhSection(dst, sec, !started)
		if g.unit != "" {
			dst = append(dst, prompt(g.unit))
		}
		started, zero = true, false
	}
	return dst
}

// zhSection renders 1..9999 (a section of up to four digits); lead says
// it starts the number, where 十 is said for 一十.
func zhSection(dst []string, sec uint64, lead bool) []string {
	units := [...]string{"zh-1000", "zh-100", "zh-10", ""}
	divs := [...]uint64{1000, 100, 10, 1}
	started, zero := false, false
	for i, d := range divs {
		digit := sec / d % 10
		if digit == 0 {
			if started {
				zero = true
			}
			continue
		}
		if zero {
			dst = append(dst, prompt("zh-0"))
			zero = false
		}
		if !(digit == 1 && units[i] == "zh-10" && lead && !started) {
			dst = append(dst, prompt(fmt.Sprintf("zh-%d", digit)))
		}
		if units[i] != "" {
			dst = append(dst, prompt(units[i]))
		}
		started = true
	}
	return dst
}

func zhDigits(dst []string, s string) []string {
	for _, c := range s {
		if c >= '0' && c <= '9' {
			dst = append(dst, prompt(fmt.Sprintf("zh-%c", c)))
		}
	}
	return dst
}

// sayDigits reads the digits of s one by one (other characters are
// skipped).
func sayDigits(dst []string, s string, lang string) []string {
	if lang == "zh" {
		return zhDigits(dst, s)
	}
	d := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) == 0 {
		return dst
	}
	return append(dst, "digits:"+string(d))
}

// sayMoney reads an amount in fen: English "N yuan and M fen." as the
// bill line always has; Mandarin 一百二十三元四角五分, 十元整.
func sayMoney(dst []string, cents int64, lang string) []string {
	neg := cents < 0
	u := uint64(cents)
	if neg {
		u = uint64(-cents)
	}
	yuan, fen := u/100, u%100
	if lang != "zh" {
		if neg {
			dst = append(dst, prompt("minus"))
		}
		return append(dst, "number:"+strconv.FormatUint(yuan, 10), prompt("yuan"),
			"number:"+strconv.FormatUint(fen, 10), prompt("cents"))
	}
	if neg {
		dst = append(dst, prompt("zh-fu"))
	}
	dst = zhNumber(dst, yuan)
	dst = append(dst, prompt("zh-yuan"))
	jiao, f := fen/10, fen%10
	switch {
	case fen == 0:
		return append(dst, prompt("zh-zheng"))
	case jiao == 0:
		return append(dst, prompt("zh-0"), prompt(fmt.Sprintf("zh-%d", f)), prompt("zh-fen"))
	case f == 0:
		return append(dst, prompt(fmt.Sprintf("zh-%d", jiao)), prompt("zh-jiao"))
	}
	return append(dst, prompt(fmt.Sprintf("zh-%d", jiao)), prompt("zh-jiao"),
		prompt(fmt.Sprintf("zh-%d", f)), prompt("zh-fen"))
}

// sayDate reads a date: English "November 23 2026" (month prompt, day,
// year as numbers); Mandarin 二零二六年十一月二十三日.
func sayDate(dst []string, t time.Time, lang string) []string {
	if lang == "zh" {
		dst = zhDigits(dst, strconv.Itoa(t.Year()))
		dst = append(dst, prompt("zh-nian"))
		dst = zhNumber(dst, uint64(t.Month()))
		dst = append(dst, prompt("zh-yue"))
		dst = zhNumber(dst, uint64(t.Day()))
		return append(dst, prompt("zh-ri"))
	}
	return append(dst, prompt(fmt.Sprintf("month-%d", int(t.Month()))),
		"number:"+strconv.Itoa(t.Day()), "number:"+strconv.Itoa(t.Year()))
}
