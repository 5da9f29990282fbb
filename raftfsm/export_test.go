package raftfsm

// DecodeUpTo decodes as a binary that reads formats up to maxFormat would.
var DecodeUpTo = decodeUpTo
