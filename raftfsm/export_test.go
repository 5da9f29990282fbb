package raftfsm

// DecodeUpTo decodes as a binary that reads formats up to maxFormat would.
var DecodeUpTo = decodeUpTo

// NewForKind is the empty command of kind k, nil for an unused number.
var NewForKind = newCommand
