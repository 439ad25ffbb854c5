package main

import (
	"errors"
	"strings"
	"testing"
)

func TestRenderSpeedUpColumns(t *testing.T) {
	rs := []result{
		{dataset: "large", leg: "cp", seconds: 1, files: 1, bytes: 1 << 30, verified: "ok"},
		{dataset: "large", leg: "kopia", seconds: 3.5, syncSec: 0.5, files: 1, bytes: 1 << 30, verified: "ok"},
		{dataset: "large", leg: "restic", seconds: 3, files: 1, bytes: 1 << 30, verified: "ok"},
		{dataset: "large", leg: "executor", seconds: 2, files: 1, bytes: 1 << 30, verified: "ok"},
		{dataset: "large", leg: "executor" + memLimitSuffix, seconds: 2.2, files: 1, bytes: 1 << 30, verified: "ok"},
		{dataset: "large", leg: "restic" + memLimitSuffix, oomKilled: true, err: errors.New("signal: killed")},
	}
	table := render(options{runs: 1}, rs)
	rows := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 3 {
			rows[strings.TrimSpace(cells[2])] = line
		}
	}
	for leg, want := range map[string][]string{
		"executor":                  {"2.00×", "1.50×"},
		"executor" + memLimitSuffix: {"1.10×"},
		"restic" + memLimitSuffix:   {"OOM-killed"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[leg], w) {
				t.Errorf("row %s = %q, want it to contain %q", leg, rows[leg], w)
			}
		}
	}
}

func TestLegOrderPutsMemlimitLast(t *testing.T) {
	legs := set("memlimit,executor,cp,restic")
	got := strings.Join(legOrder(legs, true), ",")
	if want := "cp,restic,executor,executor@128MiB,restic@128MiB"; got != want {
		t.Errorf("legOrder = %s, want %s", got, want)
	}
	if got := strings.Join(legOrder(legs, false), ","); got != "cp,restic,executor,executor@128MiB" {
		t.Errorf("legOrder without restic = %s", got)
	}
}
