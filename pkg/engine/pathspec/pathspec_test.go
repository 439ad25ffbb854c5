package pathspec

import "testing"

func TestCleanInclude(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "app/db/", want: "app/db"},
		{in: " ./app//db ", want: "app/db"},
		{in: ".", want: "."},
		{in: "a/..", want: "."},
		{in: "/source/data/../data/db", want: "/source/data/db"},
		{in: "../etc", wantErr: true},
		{in: "app/../../etc", wantErr: true},
	} {
		got, err := CleanInclude(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("CleanInclude(%q) = %q, %v; want %q, error %t", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCheckExclude(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr bool
	}{
		{in: "*.tmp"},
		{in: "/source/data/*.bak"},
		{in: "cache/"},
		{in: "[abc]"},
		{in: "[abc", wantErr: true},
		{in: `a\`, wantErr: true},
	} {
		if err := CheckExclude(tc.in); (err != nil) != tc.wantErr {
			t.Errorf("CheckExclude(%q) = %v, want error %t", tc.in, err, tc.wantErr)
		}
	}
}
