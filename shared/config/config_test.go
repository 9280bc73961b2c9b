package config_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/config"
)

// setEnv sets every variable FromEnv reads, so the process environment
// cannot leak into a case; "" means unset for FromEnv's purposes.
func setEnv(t *testing.T, table, ttl, level, endpoint string) {
	t.Helper()
	t.Setenv(config.EnvTable, table)
	t.Setenv(config.EnvDefinitionsMaxAge, ttl)
	t.Setenv(config.EnvLogLevel, level)
	t.Setenv(config.EnvEndpoint, endpoint)
}

func TestFromEnv(t *testing.T) {
	const def = 3 * time.Second
	cases := []struct {
		name      string
		table     string
		ttl       string
		level     string
		endpoint  string
		wantErr   string // substring; "" means success
		wantTTL   time.Duration
		wantLevel slog.Level
	}{
		{name: "defaults", table: "t", wantTTL: def, wantLevel: slog.LevelInfo},
		{name: "missing table", table: "", wantErr: config.EnvTable},
		{name: "missing table with other settings", table: "", ttl: "2s", level: "debug", wantErr: config.EnvTable},
		{name: "ttl 2s", table: "t", ttl: "2s", wantTTL: 2 * time.Second, wantLevel: slog.LevelInfo},
		{name: "ttl 500ms", table: "t", ttl: "500ms", wantTTL: 500 * time.Millisecond, wantLevel: slog.LevelInfo},
		{name: "ttl 0 disables", table: "t", ttl: "0", wantTTL: 0, wantLevel: slog.LevelInfo},
		{name: "ttl 0s disables", table: "t", ttl: "0s", wantTTL: 0, wantLevel: slog.LevelInfo},
		{name: "ttl invalid", table: "t", ttl: "soon", wantErr: config.EnvDefinitionsMaxAge},
		{name: "ttl bare number", table: "t", ttl: "3", wantErr: config.EnvDefinitionsMaxAge},
		{name: "ttl negative", table: "t", ttl: "-1s", wantErr: config.EnvDefinitionsMaxAge},
		{name: "level debug", table: "t", level: "debug", wantTTL: def, wantLevel: slog.LevelDebug},
		{name: "level INFO", table: "t", level: "INFO", wantTTL: def, wantLevel: slog.LevelInfo},
		{name: "level Warn", table: "t", level: "Warn", wantTTL: def, wantLevel: slog.LevelWarn},
		{name: "level error", table: "t", level: "error", wantTTL: def, wantLevel: slog.LevelError},
		{name: "level invalid", table: "t", level: "verbose", wantErr: config.EnvLogLevel},
		{name: "endpoint", table: "t", endpoint: "http://localhost:8000", wantTTL: def, wantLevel: slog.LevelInfo},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.table, tc.ttl, tc.level, tc.endpoint)
			c, err := config.FromEnv(def)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.Table != tc.table || c.DefinitionsMaxAge != tc.wantTTL || c.LogLevel != tc.wantLevel || c.Endpoint != tc.endpoint {
				t.Errorf("FromEnv = %+v, want table %q ttl %v level %v endpoint %q", c, tc.table, tc.wantTTL, tc.wantLevel, tc.endpoint)
			}
		})
	}
}

func TestFromEnvUsesGivenDefault(t *testing.T) {
	setEnv(t, "t", "", "", "")
	for _, def := range []time.Duration{0, time.Second, time.Minute} {
		c, err := config.FromEnv(def)
		if err != nil || c.DefinitionsMaxAge != def {
			t.Errorf("FromEnv(%v) = %v, %v", def, c.DefinitionsMaxAge, err)
		}
	}
}

func TestLoggerHonoursLevel(t *testing.T) {
	c := config.Config{LogLevel: slog.LevelWarn}
	l := c.Logger()
	if l.Enabled(t.Context(), slog.LevelInfo) || !l.Enabled(t.Context(), slog.LevelWarn) {
		t.Errorf("logger at warn: info enabled=%v warn enabled=%v",
			l.Enabled(t.Context(), slog.LevelInfo), l.Enabled(t.Context(), slog.LevelWarn))
	}
}
