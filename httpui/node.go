package httpui

import (
	"log/slog"
	"time"

	"minitwit/node/config"
	"minitwit/ops"
)

// Node is everything the HTTP layer needs of a running node. *node.Node
// implements it; cmd/minitwit hands httpui's handler to the node (the node
// does not import this package), and tests that start a node with its web
// layer do the same.
type Node interface {
	Proposer
	Reader
	StatusReporter
	AdminBackend
	Operations
	Config() config.Config
	Logger() *slog.Logger
	Metrics() *ops.Metrics
	Build() ops.BuildInfo
}

// ForNode builds the handler of n's public listener from n's configuration.
func ForNode(n Node) (*Server, error) {
	cfg := n.Config()
	simPass, _ := cfg.SimulatorPassword()
	return New(Options{
		Proposer: n, Reader: n, Status: n, Logger: n.Logger(), Metrics: n.Metrics(), Build: n.Build(),
		SimulatorUsername: cfg.Simulator.Username, SimulatorPassword: simPass,
		AcceptedIPs: cfg.AcceptedIPs(), TrustedProxies: cfg.TrustedProxies(),
		MaxNo: cfg.API.MaxNo, MaxBodyBytes: cfg.API.MaxBodyBytes, MetricsToken: cfg.Metrics.Token,
		AdminToken: cfg.Admin.Token, Operations: n, Admin: n, Gravatar: cfg.UI.Gravatar,
		RequireAdmin2FA: cfg.Admin.Require2FA, RequestTimeout: time.Duration(cfg.HTTP.RequestTimeout),
	})
}
