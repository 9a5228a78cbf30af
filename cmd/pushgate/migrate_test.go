package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWarnWithoutMigrateReq(t *testing.T) {
	dir := t.TempDir()
	defer func(p string) { migrateReqPath = p }(migrateReqPath)
	for _, tc := range []struct {
		content string // "" = no such file
		warns   bool
	}{{"0\n", true}, {"1\n", false}, {"", false}} {
		migrateReqPath = filepath.Join(dir, "missing")
		if tc.content != "" {
			migrateReqPath = filepath.Join(dir, "tcp_migrate_req")
			if err := os.WriteFile(migrateReqPath, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		warnWithoutMigrateReq(slog.New(slog.NewTextHandler(&out, nil)))
		if got := strings.Contains(out.String(), "tcp_migrate_req=1"); got != tc.warns {
			t.Errorf("content %q: warned %v, want %v (%s)", tc.content, got, tc.warns, out.String())
		}
	}
}
