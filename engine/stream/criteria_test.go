package stream

import (
	"errors"
	"strings"
	"testing"
)

// Cases of ADSP apps/push-service/src/push/model/stream.spec.ts (isMatch) plus strict equality.
func TestCriteriaMatch(t *testing.T) {
	item := `{"tenantId":"t","namespace":"n","name":"e","correlationId":"123","context":{"value":"123","num":123,"flag":true,"nil":null,"esc":"a\"b"}}`
	tests := []struct {
		name, criteria, item string
		want                 bool
	}{
		{"no criteria", ``, item, true},
		{"empty object", `{}`, item, true},
		{"correlationId and context", `{"correlationId":"123","context":{"value":"123"}}`, item, true},
		{"extra context keys fine", `{"context":{"value":"123"}}`, item, true},
		{"context empty matches all", `{"context":{}}`, `{"name":"x"}`, true},
		{"empty correlationId no constraint", `{"correlationId":""}`, `{"name":"x"}`, true},
		{"null correlationId no constraint", `{"correlationId":null}`, `{"name":"x"}`, true},
		{"correlationId mismatch", `{"correlationId":"124"}`, item, false},
		{"correlationId missing in item", `{"correlationId":"123"}`, `{"context":{}}`, false},
		{"correlationId number in item", `{"correlationId":"123"}`, `{"correlationId":123}`, false},
		{"context value mismatch", `{"context":{"value":"124"}}`, item, false},
		{"missing context fails", `{"context":{"value":"123"}}`, `{"correlationId":"123"}`, false},
		{"null context fails", `{"context":{"value":"123"}}`, `{"context":null}`, false},
		{"missing key fails", `{"context":{"other":"x"}}`, item, false},
		{"number strict vs string", `{"context":{"value":123}}`, item, false},
		{"string strict vs number", `{"context":{"num":"123"}}`, item, false},
		{"number equal", `{"context":{"num":123}}`, item, true},
		{"number equal other spelling", `{"context":{"num":1.23e2}}`, item, true},
		{"bool equal", `{"context":{"flag":true}}`, item, true},
		{"bool mismatch", `{"context":{"flag":false}}`, item, false},
		{"bool vs string", `{"context":{"flag":"true"}}`, item, false},
		{"null equal", `{"context":{"nil":null}}`, item, true},
		{"null vs missing", `{"context":{"missing":null}}`, item, false},
		{"escaped string", `{"context":{"esc":"a\u0022b"}}`, item, true},
		{"unknown keys ignored", `{"foo":[1,2],"context":{"value":"123"}}`, item, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCriteria([]byte(tt.criteria))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Match([]byte(tt.item)); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseCriteriaErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"string", `"x"`, "must be a JSON object"},
		{"array", `[]`, "must be a JSON object"},
		{"null", `null`, "must be a JSON object"},
		{"number", `1`, "must be a JSON object"},
		{"invalid", `{"a":`, "not valid JSON"},
		{"too large", `{"a":"` + strings.Repeat("x", MaxCriteriaBytes) + `"}`, "larger than 4096 bytes"},
		{"too deep", `{"a":` + strings.Repeat("[", 8) + strings.Repeat("]", 8) + `}`, "nested deeper than 8"},
		{"too many keys", `{` + strings.TrimSuffix(strings.Repeat(`"k":1,`, 65), ",") + `}`, "more than 64 keys"},
		{"correlationId number", `{"correlationId":1}`, "correlationId must be a string"},
		{"context array", `{"context":[]}`, "context must be an object"},
		{"context value object", `{"context":{"a":{}}}`, "context.a must be a string, number or boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCriteria([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidCriteria) {
				t.Fatalf("err = %v, want %q wrapping ErrInvalidCriteria", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"", "  \n", `{"a":` + strings.Repeat("[", 7) + strings.Repeat("]", 7) + `}`} {
		if _, err := ParseCriteria([]byte(ok)); err != nil {
			t.Fatalf("ParseCriteria(%q): %v", ok, err)
		}
	}
}
