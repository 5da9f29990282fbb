// Package importer owns reading a database in the course's SQLite schema
// (user, follower, message) into MiniTwit commands, proposed through a
// running node or a client of one (any Proposer); see importer.go for how
// each table maps and why a second run changes nothing.
//
// It knows nothing of the node's lifecycle: importing into a stopped data
// dir (node.ImportIntoDataDir) starts the node and calls FromSQLite, and
// the admin API's import (node.Node.ImportSQLite) does the same on a
// running node. Users keep their stored hashes, which httpui/auth verifies
// at login and replaces with argon2id.
package importer
