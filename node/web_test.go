package node_test

import (
	"minitwit/httpui"
	"minitwit/node"
)

// web is the test nodes' public handler: httpui's, wired as cmd/minitwit
// wires it (the node package itself never imports httpui).
func web(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }
