package cluster

import "testing"

func TestOwnerOf(t *testing.T) {
	for sid, want := range map[string]int{"w0.abc": 0, "w12.x": 12, "w3.": 3} {
		if got, ok := ownerOf(sid); !ok || got != want {
			t.Errorf("ownerOf(%q) = %d, %v; want %d", sid, got, ok, want)
		}
	}
	for _, sid := range []string{"", "abc", "w.abc", "wx.abc", "w01.abc", "w-1.abc", "w1abc", "w123456.a"} {
		if got, ok := ownerOf(sid); ok {
			t.Errorf("ownerOf(%q) = %d, want no owner", sid, got)
		}
	}
	if SIDPrefix(4) != "w4." {
		t.Errorf("SIDPrefix(4) = %q", SIDPrefix(4))
	}
}
