"""Reads: typed, keyword-only, tenant-first queries with the joins that keep a page to a fixed number of queries, one
module per resource like the actions. Doors read through these, never with queries of their own."""
