package waitfor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConditionReturnsOnceItHolds(t *testing.T) {
	n := 0
	if err := Condition(time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("err %v after %d calls", err, n)
	}
}

func TestConditionReportsTheLastError(t *testing.T) {
	n := 0
	err := Condition(20*time.Millisecond, func() error { n++; return fmt.Errorf("answer %d", n) })
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("answer %d", n)) || n < 2 {
		t.Fatalf("err %v after %d calls", err, n)
	}
}

type fakeTB struct{ msg string }

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.msg = fmt.Sprintf(format, a...) }

func TestTrueNamesWhatWasAwaited(t *testing.T) {
	var f fakeTB
	True(&f, 5*time.Millisecond, "the moon", func() bool { return false })
	if !strings.Contains(f.msg, "the moon") {
		t.Fatalf("message %q", f.msg)
	}
	f = fakeTB{}
	Check(&f, time.Second, func() error { return nil })
	if f.msg != "" {
		t.Fatalf("message %q for a condition that held", f.msg)
	}
}
