package httpui_test

import (
	"minitwit/httpui"
	"minitwit/node"
)

// web is the test nodes' public handler, wired as cmd/minitwit wires it.
func web(n *node.Node) (node.Handler, error) { return httpui.ForNode(n) }
