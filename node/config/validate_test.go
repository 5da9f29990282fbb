package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
		want   string // part of the message
	}{
		{"empty data_dir", func(c *Config) { c.DataDir = "" }, "data_dir", "must not be empty"},
		{"blank data_dir", func(c *Config) { c.DataDir = "  " }, "data_dir", "must not be empty"},
		{"http_addr without port", func(c *Config) { c.HTTPAddr = "localhost" }, "http_addr", `"localhost" is not host:port`},
		{"http_addr port too big", func(c *Config) { c.HTTPAddr = "127.0.0.1:65536" }, "http_addr", "0 to 65535"},
		{"http_addr named port", func(c *Config) { c.HTTPAddr = "127.0.0.1:http" }, "http_addr", "port"},
		{"http_addr negative port", func(c *Config) { c.HTTPAddr = "127.0.0.1:-1" }, "http_addr", "port"},
		{"http_addr empty port", func(c *Config) { c.HTTPAddr = "127.0.0.1:" }, "http_addr", "port"},
		{"http_addr bad host", func(c *Config) { c.HTTPAddr = "my host:80" }, "http_addr", "neither an IP address nor a host name"},
		{"empty node_id", func(c *Config) { c.NodeID = "" }, "node_id", "1 to 64"},
		{"long node_id", func(c *Config) { c.NodeID = strings.Repeat("n", 65) }, "node_id", "1 to 64"},
		{"node_id with space", func(c *Config) { c.NodeID = "node 1" }, "node_id", "only letters"},
		{"node_id with slash", func(c *Config) { c.NodeID = "a/b" }, "node_id", "only letters"},
		{"node_id not ASCII", func(c *Config) { c.NodeID = "nöde" }, "node_id", "only letters"},
		{"raft_addr without port", func(c *Config) { c.RaftAddr = "127.0.0.1" }, "raft_addr", "is not host:port"},
		{"raft_addr port too big", func(c *Config) { c.RaftAddr = "127.0.0.1:70000" }, "raft_addr", "0 to 65535"},
		{"raft_addr without host", func(c *Config) { c.RaftAddr = ":8081" }, "raft_addr", "has no host"},
		{"raft_addr all interfaces", func(c *Config) { c.RaftAddr = "0.0.0.0:8081" }, "raft_addr", "not an address other nodes can reach"},
		{"raft_addr all IPv6 interfaces", func(c *Config) { c.RaftAddr = "[::]:8081" }, "raft_addr", "not an address other nodes can reach"},
		{"join without join_token", func(c *Config) { c.Join = []string{"127.0.0.1:8081"} }, "join_token", "needs the cluster's join token"},
		{"join without port", func(c *Config) { c.Join = []string{"127.0.0.1:8081", "node2"} }, "join", `"node2" is not host:port`},
		{"join without host", func(c *Config) { c.Join = []string{":8081"} }, "join", "has no host"},
		{"join empty entry", func(c *Config) { c.Join = []string{""} }, "join", "is not host:port"},
		{"short join_token", func(c *Config) { c.JoinToken = "tooshort-secret" }, "join_token", "at least 16"},
		{"tiny snapshot threshold", func(c *Config) { c.Raft.SnapshotThreshold = 3 }, "raft.snapshot_threshold", "at least 16"},
		{"huge trailing logs", func(c *Config) { c.Raft.TrailingLogs = 1 << 40 }, "raft.trailing_logs", "at most"},
		{"unknown raft.profile", func(c *Config) { c.Raft.Profile = "lte" }, "raft.profile", `"lte" is not lan or wan`},
		{"tiny raft.heartbeat_timeout", func(c *Config) {
			c.Raft.HeartbeatTimeout, c.Raft.LeaderLeaseTimeout, c.Raft.CommitTimeout = Duration(time.Millisecond), Duration(time.Millisecond), Duration(time.Millisecond)
		}, "raft.heartbeat_timeout", "must be from 10ms to 1m"},
		{"raft.election_timeout below heartbeat", func(c *Config) { c.Raft.ElectionTimeout = Duration(40 * time.Millisecond) }, "raft.election_timeout", "at least raft.heartbeat_timeout (50ms; is 40ms)"},
		{"huge raft.election_timeout", func(c *Config) { c.Raft.ElectionTimeout = Duration(2 * time.Minute) }, "raft.election_timeout", "must be from 10ms to 1m"},
		{"raft.leader_lease_timeout above heartbeat", func(c *Config) { c.Raft.LeaderLeaseTimeout = Duration(60 * time.Millisecond) }, "raft.leader_lease_timeout", "at most raft.heartbeat_timeout"},
		{"raft.commit_timeout above heartbeat", func(c *Config) { c.Raft.CommitTimeout = Duration(time.Second) }, "raft.commit_timeout", "at most raft.heartbeat_timeout"},
		{"zero raft.commit_timeout", func(c *Config) { c.Raft.CommitTimeout = 0 }, "raft.commit_timeout", "must be from 1ms to 1s"},
		{"empty simulator.username", func(c *Config) { c.Simulator.Username = "" }, "simulator.username", "must not be empty"},
		{"simulator.username with colon", func(c *Config) { c.Simulator.Username = "sim:ulator" }, "simulator.username", "':'"},
		{"empty accepted_ips", func(c *Config) { c.Simulator.AcceptedIPs = []string{} }, "simulator.accepted_ips", "must not be empty"},
		{"star not alone", func(c *Config) { c.Simulator.AcceptedIPs = []string{"10.0.0.0/8", "*"} }, "simulator.accepted_ips", "only entry"},
		{"accepted_ips bad IP", func(c *Config) { c.Simulator.AcceptedIPs = []string{"10.0.0.300"} }, "simulator.accepted_ips", `"10.0.0.300"`},
		{"accepted_ips bad CIDR", func(c *Config) { c.Simulator.AcceptedIPs = []string{"10.0.0.0/33"} }, "simulator.accepted_ips", "not an IP address or CIDR"},
		{"accepted_ips host name", func(c *Config) { c.Simulator.AcceptedIPs = []string{"example.com"} }, "simulator.accepted_ips", "not an IP address or CIDR"},
		{"accepted_ips zone", func(c *Config) { c.Simulator.AcceptedIPs = []string{"fe80::1%eth0"} }, "simulator.accepted_ips", "not an IP address or CIDR"},
		{"trusted_proxies star", func(c *Config) { c.TrustedProxyIPs = []string{"*"} }, "trusted_proxies", `"*"`},
		{"trusted_proxies bad IP", func(c *Config) { c.TrustedProxyIPs = []string{"proxy"} }, "trusted_proxies", "not an IP address or CIDR"},
		{"trusted_proxies bad CIDR", func(c *Config) { c.TrustedProxyIPs = []string{"::/129"} }, "trusted_proxies", "not an IP address or CIDR"},
		{"api.max_no zero", func(c *Config) { c.API.MaxNo = 0 }, "api.max_no", "at least 1"},
		{"api.max_no negative", func(c *Config) { c.API.MaxNo = -5 }, "api.max_no", "at least 1"},
		{"api.max_no too big", func(c *Config) { c.API.MaxNo = 1_000_001 }, "api.max_no", "at most 1000000"},
		{"metrics.token short", func(c *Config) { c.Metrics.Token = "fifteen-chars-x" }, "metrics.token", "at least 16"},
		{"alerts.webhook_url ftp scheme", func(c *Config) { c.Alerts.WebhookURL = "ftp://hooks.example.com/T0/secret-path" }, "alerts.webhook_url", `must start with https:// or http:// (scheme "ftp")`},
		{"alerts.webhook_url javascript scheme", func(c *Config) { c.Alerts.WebhookURL = "javascript:alert(1)" }, "alerts.webhook_url", "must start with https:// or http://"},
		{"alerts.webhook_url without scheme", func(c *Config) { c.Alerts.WebhookURL = "hooks.example.com/T0/secret-path" }, "alerts.webhook_url", `(scheme "")`},
		{"alerts.webhook_url without host", func(c *Config) { c.Alerts.WebhookURL = "https:///T0/secret-path" }, "alerts.webhook_url", "has no host"},
		{"alerts.webhook_url not a URL", func(c *Config) { c.Alerts.WebhookURL = "https://hooks.example.com/%zz-secret-path" }, "alerts.webhook_url", "is not a URL"},
		{"alerts.webhook_format xml", func(c *Config) { c.Alerts.WebhookFormat = "xml" }, "alerts.webhook_format", `"xml" is not json or slack`},
		{"alerts.interval zero", func(c *Config) { c.Alerts.Interval = 0 }, "alerts.interval", "from 1s to 1h"},
		{"http.max_connections too small", func(c *Config) { c.HTTP.MaxConnections = 15 }, "http.max_connections", "at least 16"},
		{"http.idle_timeout zero", func(c *Config) { c.HTTP.IdleTimeout = 0 }, "http.idle_timeout", "from 1s to 1h"},
		{"http.request_timeout too long", func(c *Config) { c.HTTP.RequestTimeout = Duration(time.Hour) }, "http.request_timeout", "from 1s to 10m"},
		{"api.max_body_bytes too small", func(c *Config) { c.API.MaxBodyBytes = 1023 }, "api.max_body_bytes", "at least 1024"},
		{"api.max_body_bytes too big", func(c *Config) { c.API.MaxBodyBytes = 16<<20 + 1 }, "api.max_body_bytes", "at most 16777216"},
		{"unknown log.level", func(c *Config) { c.Log.Level = "verbose" }, "log.level", "debug, info, warn, error"},
		{"empty log.level", func(c *Config) { c.Log.Level = "" }, "log.level", "debug, info, warn, error"},
		{"unknown log.format", func(c *Config) { c.Log.Format = "pretty" }, "log.format", "auto, json, text"},
		{"empty admin.username", func(c *Config) { c.Admin.Username = "" }, "admin.username", "empty username"},
		{"admin.username a page", func(c *Config) { c.Admin.Username = "Admin" }, "admin.username", "name of a page"},
		{"admin.username with slash", func(c *Config) { c.Admin.Username = "a/b" }, "admin.username", "contains"},
		{"short admin.password", func(c *Config) { c.Admin.Password = "123456789" }, "admin.password", "at least 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v, want an *Error", err)
			}
			msg := err.Error()
			if ce.Key != tt.key || !strings.HasPrefix(msg, "config: "+tt.key+": ") {
				t.Errorf("error %q names key %q, want %q", msg, ce.Key, tt.key)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans lines", msg)
			}
			if c.JoinToken != "" && strings.Contains(msg, c.JoinToken) {
				t.Errorf("error %q quotes the join token", msg)
			}
			// A Slack or Discord webhook URL is a secret.
			if strings.Contains(msg, "secret-path") {
				t.Errorf("error %q quotes the webhook URL", msg)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"http_addr all interfaces", func(c *Config) { c.HTTPAddr = ":8080" }},
		{"http_addr port 0", func(c *Config) { c.HTTPAddr = "127.0.0.1:0" }},
		{"http_addr IPv6", func(c *Config) { c.HTTPAddr = "[::]:443" }},
		{"http_addr host name", func(c *Config) { c.HTTPAddr = "minitwit_web.internal:80" }},
		{"raft_addr localhost", func(c *Config) { c.RaftAddr = "LocalHost:0" }},
		{"raft_addr IPv6 loopback", func(c *Config) { c.RaftAddr = "[::1]:8081" }},
		{"raft_addr other loopback", func(c *Config) { c.RaftAddr = "127.0.0.2:65535" }},
		{"raft_addr private IP", func(c *Config) { c.RaftAddr = "10.0.0.5:8081" }},
		{"raft_addr host name", func(c *Config) { c.RaftAddr = "node2.example.com:8081" }},
		{"join list", func(c *Config) {
			c.Join = []string{"127.0.0.1:9001", "node2.example.com:8081", "[fd00::2]:8081"}
			c.JoinToken = "0123456789abcdef"
		}},
		{"join_token 16 characters", func(c *Config) { c.JoinToken = "0123456789abcdef" }},
		{"node_id all classes", func(c *Config) { c.NodeID = "Node_1.eu-west" }},
		{"node_id 64 characters", func(c *Config) { c.NodeID = strings.Repeat("n", 64) }},
		{"accepted_ips list", func(c *Config) { c.Simulator.AcceptedIPs = []string{"127.0.0.1", "::1", "10.0.0.0/8"} }},
		{"trusted_proxies list", func(c *Config) { c.TrustedProxyIPs = []string{"10.0.0.1", "fd00::/8"} }},
		{"api bounds low", func(c *Config) { c.API.MaxNo, c.API.MaxBodyBytes = 1, 1024 }},
		{"api bounds high", func(c *Config) { c.API.MaxNo, c.API.MaxBodyBytes = 1_000_000, 16<<20 }},
		{"log.level any case", func(c *Config) { c.Log.Level = "DEBUG" }},
		{"raft timeouts all equal", func(c *Config) {
			c.Raft.HeartbeatTimeout, c.Raft.ElectionTimeout, c.Raft.LeaderLeaseTimeout = Duration(time.Second), Duration(time.Second), Duration(time.Second)
		}},
		{"raft wan profile with lan timeouts", func(c *Config) { c.Raft.Profile = "wan" }},
		{"alerts webhook https slack", func(c *Config) {
			c.Alerts.WebhookURL, c.Alerts.WebhookFormat = "https://discord.com/api/webhooks/1/abc/slack", "slack"
		}},
		{"alerts webhook http with token", func(c *Config) {
			c.Alerts.WebhookURL, c.Alerts.WebhookToken, c.Alerts.Interval = "http://127.0.0.1:9000/hook", "t", Duration(time.Second)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}
