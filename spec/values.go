package spec

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a Go duration string such as "1h" or "90s", written to
// config.toml as the same quoted string. A bare integer is refused: gitlab-runner
// would read it as nanoseconds.
type Duration string

// Value parses the duration; "" is zero.
func (d Duration) Value() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	return time.ParseDuration(string(d))
}

// UnmarshalJSON accepts only a JSON string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a quoted Go duration string such as \"1h\" or \"90s\", not %s", b)
	}
	*d = Duration(s)
	return nil
}

// StringList is one string or a list of strings.
type StringList []string

// UnmarshalJSON accepts "a" as well as ["a", "b"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("must be a string or a list of strings, not %s", b)
	}
	*l = many
	return nil
}
